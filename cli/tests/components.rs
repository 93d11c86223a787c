//! WebAssembly components (WASI 0.2, issue 19) through the `kiln` command: kiln's Rust test
//! programs built for wasm32-wasip2 (`rustup target add wasm32-wasip2`, as .ci/run does)
//! and small components written in the text format. `kiln inspect` prints a component's
//! world; `kiln run` runs it, printing what the native build and the wasip1 build print and
//! leaving the same files; a component that breaks a rule of the component model traps
//! with a message saying which; `kiln compile` writes one object of a component; bad
//! components get an error with their byte offset, never a panic.

mod support;

use kiln_abi::component::{ComponentPlan, ModuleOrigin, Step, TrampolineKind};
use kiln_abi::metadata::{FuncType, ValType::I32};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::{
    assert_lines_eq, build_rust_components, build_rust_programs, files_in, path_str, run, run_kiln,
    scratch_dir, target_dir, KILN,
};

/// The Rust test programs (`tests/programs/rust/src/bin/`).
const RUST_PROGRAMS: &[&str] = &["hello", "args", "compute", "files"];

/// The Rust test program `name` as a component, all built once.
fn component(name: &str) -> &'static Path {
    static BUILT: OnceLock<Result<BTreeMap<&'static str, PathBuf>, String>> = OnceLock::new();
    let built = BUILT
        .get_or_init(|| build_rust_components(&target_dir().join("e2e-programs"), RUST_PROGRAMS));
    &built.as_ref().unwrap_or_else(|error| panic!("{error}"))[name]
}

fn hello() -> &'static Path {
    component("hello")
}

fn hello_plan() -> ComponentPlan {
    let wasm = std::fs::read(hello()).unwrap();
    assert!(kiln_component::is_component(&wasm));
    kiln_component::translate(&wasm)
        .expect("the Rust hello component translates")
        .plan
}

/// The import of `interface` (any 0.2 version) named `function`.
fn import<'a>(
    plan: &'a ComponentPlan,
    interface: &str,
    function: &str,
) -> &'a kiln_abi::component::HostImport {
    plan.imports
        .iter()
        .find(|i| i.name.interface == interface && i.name.function == function)
        .unwrap_or_else(|| panic!("no import {interface}#{function} in {:#?}", plan.imports))
}

fn i32s(params: usize, results: usize) -> FuncType {
    FuncType {
        params: vec![I32; params],
        results: vec![I32; results],
    }
}

#[test]
fn the_rust_hello_component_imports_wasi_0_2_with_canonical_signatures() {
    let plan = hello_plan();
    for import in &plan.imports {
        assert!(
            import.name.interface.starts_with("wasi:"),
            "{}",
            import.name
        );
        let version = import.name.version.as_deref().unwrap_or("");
        assert!(version.starts_with("0.2."), "{}", import.name);
    }
    // (borrow<output-stream>, list<u8>) -> result<_, stream-error>: handle, pointer,
    // length and a return pointer (the result flattens to three values).
    let write = import(&plan, "wasi:io/streams", "[method]output-stream.write");
    assert_eq!(plan.types.lowered_signature(write.func_type), i32s(4, 0));
    // (borrow<output-stream>) -> result<u64, stream-error>: handle and return pointer.
    let check_write = import(
        &plan,
        "wasi:io/streams",
        "[method]output-stream.check-write",
    );
    assert_eq!(
        plan.types.lowered_signature(check_write.func_type),
        i32s(2, 0)
    );
    // () -> option<own<terminal-output>>: two flat values, so a return pointer.
    let terminal = import(&plan, "wasi:cli/terminal-stdout", "get-terminal-stdout");
    assert_eq!(plan.types.lowered_signature(terminal.func_type), i32s(1, 0));
    // () -> own<output-stream>: the handle.
    let get_stdout = import(&plan, "wasi:cli/stdout", "get-stdout");
    assert_eq!(
        plan.types.lowered_signature(get_stdout.func_type),
        i32s(0, 1)
    );
    // () -> list<tuple<string, string>>: a return pointer, written through the options'
    // memory with memory allocated by the guest's `cabi_realloc`.
    let environment = import(&plan, "wasi:cli/environment", "get-environment");
    assert_eq!(
        plan.types.lowered_signature(environment.func_type),
        i32s(1, 0)
    );
    let options = plan
        .trampolines
        .iter()
        .find_map(|t| match t.kind {
            TrampolineKind::LowerImport { import, options }
                if plan.imports[import as usize].name == environment.name =>
            {
                Some(plan.options[options as usize])
            }
            _ => None,
        })
        .unwrap();
    assert!(options.memory.is_some() && options.realloc.is_some());
    // (s32) -> (): `exit` takes a result<_, _>, one i32.
    let exit = import(&plan, "wasi:cli/exit", "exit");
    assert_eq!(plan.types.lowered_signature(exit.func_type), i32s(1, 0));

    // The run export: () -> result, lifted as () -> i32.
    assert_eq!(plan.exports.len(), 1);
    let run = &plan.exports[0];
    assert_eq!(run.name.interface, "wasi:cli/run");
    assert_eq!(run.name.function, "run");
    assert_eq!(plan.types.lifted_signature(run.func_type), i32s(0, 1));

    // Rust's component: its main module and wit-component's shim modules, all taken from
    // the component, each instantiated once; its memory and realloc extracted.
    assert!(plan
        .modules
        .iter()
        .all(|m| matches!(m.origin, ModuleOrigin::Component { .. })));
    let instantiations = plan
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Instantiate { .. }))
        .count();
    assert_eq!(instantiations as u32, plan.n_instances);
    assert!(plan.n_memories >= 1 && plan.n_reallocs >= 1);
    // Resources the host defines: output streams among them.
    assert!(plan
        .resources
        .iter()
        .any(|r| r.imported && r.name.ends_with("#output-stream")));
}

#[test]
fn inspect_shows_the_world_with_wit_types() {
    let output = run_kiln(&["inspect", path_str(hello())], b"");
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let lines: Vec<&str> = output.stdout.lines().map(str::trim).collect();
    let has = |prefix: &str, suffix: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(prefix) && l.ends_with(suffix))
    };
    assert!(lines[0].starts_with("component: "), "{}", output.stdout);
    assert!(
        has(
            "import wasi:cli/stdout@0.2.",
            ": get-stdout: func() -> own<output-stream>"
        ),
        "{}",
        output.stdout
    );
    assert!(
        has(
            "import wasi:io/streams@0.2.",
            ": [method]output-stream.write: func(self: borrow<output-stream>, \
             contents: list<u8>) -> result<_, stream-error>"
        ),
        "{}",
        output.stdout
    );
    assert!(
        has(
            "import wasi:cli/environment@0.2.",
            ": get-environment: func() -> list<tuple<string, string>>"
        ),
        "{}",
        output.stdout
    );
    assert!(
        has("export wasi:cli/run@0.2.", ": run: func() -> result"),
        "{}",
        output.stdout
    );
    assert!(
        has(
            "wasi:io/streams@0.2.",
            "#[method]output-stream.write: func (i32, i32, i32, i32) -> ()"
        ),
        "{}",
        output.stdout
    );
}

/// `kiln compile` of a component writes one relocatable object: every core module under
/// its own prefix beneath `--symbol-prefix`, and the image `<prefix>kiln_component`. Every
/// symbol it defines carries the prefix, and it refers to nothing but the C library's
/// `memmove` and `memset`, so it links into any host beside other modules and components.
#[test]
fn compile_writes_one_object_holding_every_module_and_the_image() {
    use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
    let dir = scratch_dir("component-object");
    let object_path = dir.join("hello.o");
    let output = run_kiln(
        &[
            "compile",
            path_str(hello()),
            "-o",
            path_str(&object_path),
            "--symbol-prefix",
            "hello_",
        ],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let bytes = std::fs::read(&object_path).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    assert_eq!(file.kind(), object::ObjectKind::Relocatable);
    let plan = hello_plan();
    let mut expected_globals: Vec<String> = plan
        .modules
        .iter()
        .map(|module| format!("hello_{}kiln_module", module.symbol_prefix))
        .collect();
    expected_globals.push("hello_kiln_component".into());
    expected_globals.sort();
    let mut globals = Vec::new();
    let mut undefined = Vec::new();
    let mut n_defined = 0;
    for symbol in file.symbols() {
        if matches!(symbol.kind(), SymbolKind::Section | SymbolKind::File) {
            continue;
        }
        let name = symbol.name().unwrap().to_string();
        if symbol.is_undefined() {
            undefined.push(name);
            continue;
        }
        n_defined += 1;
        assert!(name.starts_with("hello_"), "unprefixed symbol {name}");
        if symbol.is_global() {
            globals.push(name);
        }
    }
    globals.sort();
    undefined.sort();
    undefined.dedup();
    assert_eq!(globals, expected_globals);
    assert!(
        n_defined > 100,
        "only {n_defined} symbols: the functions are missing"
    );
    assert!(
        undefined
            .iter()
            .all(|name| name == "memmove" || name == "memset"),
        "{undefined:?}"
    );
    // Each module's code is there: as many code sections as modules.
    let texts = file.sections().filter(|s| s.name() == Ok(".text")).count();
    assert_eq!(texts, plan.modules.len());
}

/// `kiln compile --emit staticlib --header hello.h` of a component: one archive (the
/// component's object and the runtime with its C interface) and a header with
/// `hello_new`, `hello_run` and `hello_free`; a C program linked with them runs the
/// component's `wasi:cli/run` with the arguments it gives.
#[test]
fn a_static_library_of_a_component_runs_in_a_c_host() {
    let dir = scratch_dir("component-staticlib");
    let library = dir.join("libhello.a");
    let header = dir.join("hello.h");
    let output = run_kiln(
        &[
            "compile",
            path_str(hello()),
            "-o",
            path_str(&library),
            "--emit",
            "staticlib",
            "--header",
            path_str(&header),
        ],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let main = dir.join("main.c");
    std::fs::write(
        &main,
        r#"#include "hello.h"
#include <stdio.h>
int main(void) {
    const char *args[] = {"hello"};
    kiln_wasi_config wasi = {args, 1, NULL, 0, NULL, NULL, 0};
    kiln_error *error = NULL;
    kiln_component *component = hello_new(&wasi, &error);
    if (!component) {
        fprintf(stderr, "hello_new: %s\n", kiln_error_message(error));
        return 2;
    }
    int32_t code = -1;
    error = hello_run(component, &code);
    if (error) {
        fprintf(stderr, "hello_run: %s\n", kiln_error_message(error));
        return 3;
    }
    printf("exit code %d\n", code);
    hello_free(component);
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.join("host");
    let linked = Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(&main)
        .arg("-I")
        .arg(&dir)
        .arg(&library)
        .args(kiln_abi::link::glibc_link_flags("gcc_s"))
        .output()
        .expect("running cc");
    assert!(
        linked.status.success(),
        "linking the C host: {}",
        String::from_utf8_lossy(&linked.stderr)
    );
    let ran = Command::new(&exe).output().expect("running the C host");
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        "Hello from Rust!\nexit code 0\n",
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert_eq!(ran.status.code(), Some(0));
}

/// The native and wasip1 builds of the Rust test programs (built once, beside the
/// components in `target/e2e-programs`).
fn native_and_wasip1(name: &str) -> (PathBuf, PathBuf) {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let target = target_dir().join("e2e-programs");
    BUILT
        .get_or_init(|| build_rust_programs(&target, RUST_PROGRAMS))
        .as_ref()
        .unwrap_or_else(|error| panic!("{error}"));
    (
        target.join(format!("release/{name}")),
        target.join(format!("wasm32-wasip1/release/{name}.wasm")),
    )
}

/// The Rust test program `name` as a component built into a glibc executable with the
/// grant `--dir .::.`, once.
fn component_executable(name: &'static str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<BTreeMap<&'static str, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    built
        .entry(name)
        .or_insert_with(|| {
            let executable = scratch_dir(&format!("component-executable-{name}")).join(name);
            let output = run_kiln(
                &[
                    "build",
                    path_str(component(name)),
                    "--dir",
                    ".::.",
                    "-o",
                    path_str(&executable),
                ],
                b"",
            );
            assert_eq!(output.code, Some(0), "{}", output.describe());
            executable
        })
        .clone()
}

/// Runs the Rust test program `name` with `args` natively, as a wasip1 module and as a
/// component through `kiln run`, and as a component built into an executable, each in a
/// fresh scratch directory it is given as `.` (the native run and the executable start in
/// it), and checks that they print the same, leave the same files and exit alike (a
/// component's exit code is 0 or 1: WASI 0.2's `exit` takes a `result`, as in Wasmtime).
fn check_component_against_native(name: &'static str, args: &[&str]) {
    let (native, wasip1) = native_and_wasip1(name);
    let scratch = |how: &str| scratch_dir(&format!("component-{name}-{}-{how}", args.join("-")));
    let dir = scratch("native");
    let native_run = run(
        Command::new(&native)
            .args(args)
            .env_clear()
            .current_dir(&dir),
        b"",
    );
    let native_files = files_in(&dir);
    let native_code = native_run.code.expect("the native run exits");
    let executable = component_executable(name);
    for how in [
        "kiln run (wasip1)",
        "kiln run (wasip2)",
        "kiln build (wasip2)",
    ] {
        let dir = scratch(&how.replace([' ', '(', ')'], ""));
        let grant = format!("{}::.", path_str(&dir));
        let mut command = match how {
            "kiln build (wasip2)" => {
                let mut command = Command::new(&executable);
                command.env_clear().current_dir(&dir);
                command
            }
            _ => {
                let wasm = match how {
                    "kiln run (wasip1)" => wasip1.as_path(),
                    _ => component(name),
                };
                let mut command = Command::new(KILN);
                command.args(["run", "--dir", &grant, path_str(wasm)]);
                command
            }
        };
        let output = run(command.args(args), b"");
        let context = format!(
            "{how} of {name} (left) differs from the native run (right)\n{}\nnative: {}",
            output.describe(),
            native_run.describe()
        );
        let expected_code = match how {
            "kiln run (wasip1)" => native_code,
            _ => i32::from(native_code != 0),
        };
        assert_eq!(output.code, Some(expected_code), "exit code: {context}");
        assert_lines_eq(&output.stdout, &native_run.stdout, &context);
        assert_eq!(output.stderr, native_run.stderr, "stderr: {context}");
        assert_eq!(files_in(&dir), native_files, "files left behind: {context}");
    }
}

#[test]
fn rust_hello_component_runs_like_its_native_build() {
    check_component_against_native("hello", &[]);
}

#[test]
fn rust_args_component_runs_like_its_native_build() {
    check_component_against_native("args", &["first", "second arg", "ünïcode"]);
    check_component_against_native("args", &["7", "exit code"]);
}

#[test]
fn rust_compute_component_runs_like_its_native_build() {
    check_component_against_native("compute", &[]);
}

#[test]
fn rust_files_component_runs_like_its_native_build() {
    check_component_against_native("files", &[]);
}

/// Writes the text component `wat` to a scratch file and runs it with `kiln run`.
fn run_text_component(name: &str, wat: &str) -> support::Output {
    let path = scratch_dir(&format!("text-component-{name}")).join("component.wat");
    std::fs::write(&path, wat).unwrap();
    run_kiln(&["run", path_str(&path)], b"")
}

/// A component whose `wasi:cli/run` export runs `body` (core wasm returning the `run`
/// result's discriminant), with its own resource type `$r` (a destructor that stores the
/// dropped representation at address 0) and the core functions `new`, `rep` and `drop`.
fn resource_component(body: &str) -> String {
    format!(
        r#"(component
            (core module $dtor_m
                (memory (export "memory") 1)
                (func (export "dtor") (param i32) (i32.store (i32.const 0) (local.get 0))))
            (core instance $dtor_i (instantiate $dtor_m))
            (core func $dtor (alias core export $dtor_i "dtor"))
            (type $r (resource (rep i32) (dtor (core func $dtor))))
            (core func $new (canon resource.new $r))
            (core func $rep (canon resource.rep $r))
            (core func $drop (canon resource.drop $r))
            (core module $m
                (import "r" "new" (func $new (param i32) (result i32)))
                (import "r" "rep" (func $rep (param i32) (result i32)))
                (import "r" "drop" (func $drop (param i32)))
                (import "d" "memory" (memory 1))
                (func (export "run") (result i32) {body}))
            (core instance $i (instantiate $m
                (with "r" (instance (export "new" (func $new)) (export "rep" (func $rep))
                    (export "drop" (func $drop))))
                (with "d" (instance $dtor_i))))
            (func $run (result (result)) (canon lift (core func $i "run")))
            (instance $run_i (export "run" (func $run)))
            (export "wasi:cli/run@0.2.0" (instance $run_i)))"#
    )
}

#[test]
fn resources_defined_by_a_component_follow_the_handle_rules() {
    // new, rep, drop: the destructor runs with the representation; `ok` exits 0.
    let body = "(local $h i32)
        (local.set $h (call $new (i32.const 42)))
        (if (i32.ne (call $rep (local.get $h)) (i32.const 42)) (then unreachable))
        (call $drop (local.get $h))
        (if (i32.ne (i32.load (i32.const 0)) (i32.const 42)) (then unreachable))
        (i32.const 0)";
    let output = run_text_component("resource-ok", &resource_component(body));
    assert_eq!(output.code, Some(0), "{}", output.describe());
    // `err` exits 1.
    let output = run_text_component("resource-err", &resource_component("(i32.const 1)"));
    assert_eq!(output.code, Some(1), "{}", output.describe());
    // A dropped handle, used again, traps with a message that says so.
    for (name, body, message) in [
        (
            "use-after-drop",
            "(local $h i32)
             (local.set $h (call $new (i32.const 7)))
             (call $drop (local.get $h))
             (drop (call $rep (local.get $h)))
             (i32.const 0)",
            "wasm trap: unknown handle index 1",
        ),
        (
            "double-drop",
            "(local $h i32)
             (local.set $h (call $new (i32.const 7)))
             (call $drop (local.get $h))
             (call $drop (local.get $h))
             (i32.const 0)",
            "wasm trap: unknown handle index 1",
        ),
        (
            "never-made",
            "(call $drop (i32.const 5)) (i32.const 0)",
            "wasm trap: unknown handle index 5",
        ),
    ] {
        let output = run_text_component(name, &resource_component(body));
        assert_eq!(output.code, Some(134), "{name}: {}", output.describe());
        assert!(
            output.stderr.contains(message),
            "{name}: expected {message:?}\n{}",
            output.describe()
        );
        // The trap shows where the guest was.
        assert!(
            output.stderr.contains("wasm backtrace:\n    0: "),
            "{name}: {}",
            output.describe()
        );
    }
}

#[test]
fn static_component_executables_for_both_architectures() {
    let dir = scratch_dir("component-static");
    for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        let executable = dir.join(target);
        let output = run_kiln(
            &[
                "build",
                path_str(component("args")),
                "--target",
                target,
                "-o",
                path_str(&executable),
            ],
            b"",
        );
        assert_eq!(output.code, Some(0), "{}", output.describe());
        let mut command = match target {
            "aarch64-unknown-linux-musl" => {
                let mut command = Command::new("qemu-aarch64");
                command.arg(&executable);
                command
            }
            _ => Command::new(&executable),
        };
        let output = run(command.args(["one", "two"]).env_clear(), b"");
        assert_eq!(output.code, Some(0), "{target}: {}", output.describe());
        assert_eq!(
            output.stdout,
            "args=2 environ=0\narg[1]=\"one\"\narg[2]=\"two\"\nexiting with 0\n",
            "{target}: {}",
            output.describe()
        );
        assert_eq!(output.stderr, "args: this line goes to stderr\n");
    }
}

/// A component executable finds its main module's memory at the fixed address, as a
/// module's does: where that range is taken it stops, naming the address, and the
/// `--movable-memory` build runs there.
#[test]
fn a_component_executable_finds_its_memory_at_the_fixed_address() {
    let dir = scratch_dir("component-fixed-memory-address");
    let library = support::fixed_address_taker(&dir);
    let (fixed, movable) = (dir.join("fixed"), dir.join("movable"));
    for (executable, flags) in [(&fixed, &[][..]), (&movable, &["--movable-memory"][..])] {
        let mut args = vec!["build"];
        args.extend(flags);
        args.extend([path_str(hello()), "-o", path_str(executable)]);
        let output = run_kiln(&args, b"");
        assert_eq!(output.code, Some(0), "{}", output.describe());
    }
    let hello_run = |executable: &Path, preload: bool| {
        let mut command = Command::new(executable);
        command.env_clear();
        if preload {
            command.env("LD_PRELOAD", &library);
        }
        run(&mut command, b"")
    };
    for executable in [&fixed, &movable] {
        let output = hello_run(executable, false);
        assert_eq!(output.code, Some(0), "{}", output.describe());
        assert_eq!(output.stdout, "Hello from Rust!\n", "{}", output.describe());
    }
    let refused = hello_run(&fixed, true);
    assert_eq!(refused.code, Some(1), "{}", refused.describe());
    let address = format!("at {:#x}", kiln_abi::metadata::FIXED_MEMORY_ADDRESS);
    assert!(refused.stderr.contains(&address), "{}", refused.describe());
    assert_eq!(refused.stdout, "", "{}", refused.describe());
    let output = hello_run(&movable, true);
    assert_eq!(output.code, Some(0), "{}", output.describe());
    assert_eq!(output.stdout, "Hello from Rust!\n", "{}", output.describe());
}

/// A component of two: `$A` defines resource `r` (a destructor that stores the dropped
/// representation, `last` reads it back) and exports `make` and `get` (of a `borrow<r>`);
/// `$B` imports them, and its `run` runs `body`. Calls from `$B` into `$A` go through the
/// fused adapters the translator generates, which move handles between the two instances'
/// tables (`resource.transfer-*`) inside a call scope (`enter-sync-call`).
fn two_component_resources(body: &str) -> String {
    format!(
        r#"(component
  (component $A
    (core module $am
      (memory (export "memory") 1)
      (func (export "dtor") (param i32) (i32.store (i32.const 0) (local.get 0)))
      (func (export "last") (result i32) (i32.load (i32.const 0))))
    (core instance $ai (instantiate $am))
    (core func $dtor (alias core export $ai "dtor"))
    (type $r (resource (rep i32) (dtor (core func $dtor))))
    (core func $new (canon resource.new $r))
    (core func $rep (canon resource.rep $r))
    (core module $bm
      (import "r" "new" (func $new (param i32) (result i32)))
      (import "r" "rep" (func $rep (param i32) (result i32)))
      (import "a" "last" (func $last (result i32)))
      (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
      (func (export "get") (param i32) (result i32) (local.get 0))
      (func (export "last") (result i32) (call $last)))
    (core instance $bi (instantiate $bm
      (with "r" (instance (export "new" (func $new)) (export "rep" (func $rep))))
      (with "a" (instance $ai))))
    (func $make (param "v" u32) (result (own $r)) (canon lift (core func $bi "make")))
    (func $get (param "x" (borrow $r)) (result u32) (canon lift (core func $bi "get")))
    (func $last (result u32) (canon lift (core func $bi "last")))
    (export $rr "r" (type $r))
    (export "make" (func $make) (func (param "v" u32) (result (own $rr))))
    (export "get" (func $get) (func (param "x" (borrow $rr)) (result u32)))
    (export "last" (func $last)))
  (component $B
    (import "a" (instance $a
      (export "r" (type $r (sub resource)))
      (export "make" (func (param "v" u32) (result (own $r))))
      (export "get" (func (param "x" (borrow $r)) (result u32)))
      (export "last" (func (result u32)))))
    (alias export $a "r" (type $r))
    (core func $make (canon lower (func $a "make")))
    (core func $get (canon lower (func $a "get")))
    (core func $last (canon lower (func $a "last")))
    (core func $drop (canon resource.drop $r))
    (core module $m
      (import "a" "make" (func $make (param i32) (result i32)))
      (import "a" "get" (func $get (param i32) (result i32)))
      (import "a" "last" (func $last (result i32)))
      (import "a" "drop" (func $drop (param i32)))
      (func (export "run") (result i32) (local $h i32)
        {body}))
    (core instance $i (instantiate $m (with "a" (instance
      (export "make" (func $make)) (export "get" (func $get)) (export "last" (func $last)) (export "drop" (func $drop))))))
    (func $run (result (result)) (canon lift (core func $i "run")))
    (export "run" (func $run)))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "a" (instance $a))))
  (alias export $b "run" (func $run))
  (instance $run_i (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run_i)))
"#
    )
}

#[test]
fn resources_pass_between_the_components_of_a_composition() {
    let body = "(local.set $h (call $make (i32.const 42)))
        (if (i32.ne (call $get (local.get $h)) (i32.const 42)) (then unreachable))
        (call $drop (local.get $h))
        (if (i32.ne (call $last) (i32.const 42)) (then unreachable))
        (i32.const 0)";
    let output = run_text_component("composed-ok", &two_component_resources(body));
    assert_eq!(output.code, Some(0), "{}", output.describe());
    // Lending a handle that was dropped traps in the adapter's transfer.
    let body = "(local.set $h (call $make (i32.const 42)))
        (call $drop (local.get $h))
        (drop (call $get (local.get $h)))
        (i32.const 0)";
    let output = run_text_component("composed-dropped", &two_component_resources(body));
    assert_eq!(output.code, Some(134), "{}", output.describe());
    assert!(
        output
            .stderr
            .starts_with("error: wasm trap: unknown handle index 1\nwasm backtrace:\n"),
        "{}",
        output.describe()
    );
}

#[test]
fn a_component_that_calls_into_its_own_child_traps_with_the_adapters_message() {
    // The parent's own core code calls its child's export: the component model forbids
    // entering a component instance from its ancestor, and the adapter traps with the
    // translator's code, reported with its message.
    let wat = r#"(component
        (component $child
            (core module $cm (func (export "f") (result i32) (i32.const 1)))
            (core instance $ci (instantiate $cm))
            (func $f (result u32) (canon lift (core func $ci "f")))
            (export "f" (func $f)))
        (instance $c (instantiate $child))
        (core func $f (canon lower (func $c "f")))
        (core module $m
            (import "c" "f" (func $f (result i32)))
            (func (export "run") (result i32) (drop (call $f)) (i32.const 0)))
        (core instance $i (instantiate $m (with "c" (instance (export "f" (func $f))))))
        (func $run (result (result)) (canon lift (core func $i "run")))
        (instance $run_i (export "run" (func $run)))
        (export "wasi:cli/run@0.2.0" (instance $run_i)))"#;
    let output = run_text_component("enter-child", wat);
    assert_eq!(output.code, Some(134), "{}", output.describe());
    assert!(
        output
            .stderr
            .starts_with("error: wasm trap: cannot enter component instance\n"),
        "{}",
        output.describe()
    );
}

#[test]
fn a_component_executable_links_only_the_wasi_functions_it_imports() {
    use object::{Object, ObjectSymbol};
    let executable = scratch_dir("component-wasi-linked").join("hello");
    let output = run_kiln(
        &["build", path_str(hello()), "-o", path_str(&executable)],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let bytes = std::fs::read(&executable).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let mut linked: Vec<String> = file
        .symbols()
        .filter_map(|symbol| symbol.name().ok())
        .filter(|name| name.starts_with("kiln_wasip2_"))
        .map(str::to_string)
        .collect();
    linked.sort();
    linked.dedup();
    let plan = hello_plan();
    let mut imported: Vec<String> = plan
        .imports
        .iter()
        .map(|import| {
            kiln_runtime::wasi::p2::import_symbol(&import.name)
                .unwrap_or_else(|| panic!("kiln implements {}", import.name))
                .to_string()
        })
        .collect();
    imported.sort();
    imported.dedup();
    assert_eq!(linked, imported);
    // Nothing of wasi:sockets, which hello does not import.
    assert!(!linked
        .iter()
        .any(|name| name.contains("tcp") || name.contains("udp")));
}

#[test]
fn an_oci_image_of_a_component_runs_its_executable_in_a_chroot() {
    let dir = scratch_dir("component-oci");
    let layout = dir.join("image");
    let output = run_kiln(
        &[
            "build",
            path_str(component("args")),
            "--oci",
            path_str(&layout),
            "--target",
            "x86_64-unknown-linux-musl",
            "--strip",
        ],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let bundle = dir.join("bundle");
    let reference = format!("{}:latest", path_str(&layout));
    let unpacked = run(
        Command::new("umoci").args(["unpack", "--image", &reference, path_str(&bundle)]),
        b"",
    );
    assert_eq!(
        unpacked.code,
        Some(0),
        "umoci (apt-get install umoci, as .ci/run does): {}",
        unpacked.describe()
    );
    let rootfs = bundle.join("rootfs");
    let entries: Vec<String> = std::fs::read_dir(&rootfs)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "the root holds only the executable: {entries:?}"
    );
    let executable = format!("/{}", entries[0]);
    let output = run(
        Command::new("chroot")
            .arg(&rootfs)
            .args([executable.as_str(), "0", "x"]),
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    assert_eq!(
        output.stdout,
        "args=2 environ=0\narg[1]=\"0\"\narg[2]=\"x\"\nexiting with 0\n"
    );
}

#[test]
fn a_trap_in_a_component_is_reported_with_its_backtrace() {
    let wat = r#"(component
        (core module $m
            (func $inner (unreachable))
            (func (export "run") (result i32) (call $inner) (i32.const 0)))
        (core instance $i (instantiate $m))
        (func $run (result (result)) (canon lift (core func $i "run")))
        (instance $run_i (export "run" (func $run)))
        (export "wasi:cli/run@0.2.0" (instance $run_i)))"#;
    let output = run_text_component("trap", wat);
    assert_eq!(output.code, Some(134), "{}", output.describe());
    assert!(
        output
            .stderr
            .starts_with("error: wasm trap: unreachable\nwasm backtrace:\n    0: "),
        "{}",
        output.describe()
    );
    assert_eq!(
        output.stderr.matches("\n    ").count(),
        2,
        "{}",
        output.describe()
    );
}

#[test]
fn a_component_without_a_run_export_or_with_unknown_imports_is_an_error() {
    let no_run = r#"(component
        (core module $m (func (export "f")))
        (core instance $i (instantiate $m))
        (func $f (canon lift (core func $i "f")))
        (export "f" (func $f)))"#;
    let output = run_text_component("no-run", no_run);
    assert_eq!(output.code, Some(1), "{}", output.describe());
    assert!(
        output
            .stderr
            .contains("the component does not export `wasi:cli/run@0.2.x#run`"),
        "{}",
        output.describe()
    );
    let unknown = r#"(component
        (import "example:made/up@0.2.0" (instance $i (export "f" (func))))
        (core func $f (canon lower (func $i "f")))
        (core module $m (import "i" "f" (func)) (func (export "run") (result i32) (i32.const 0)))
        (core instance $ci (instantiate $m (with "i" (instance (export "f" (func $f))))))
        (func $run (result (result)) (canon lift (core func $ci "run")))
        (instance $run_i (export "run" (func $run)))
        (export "wasi:cli/run@0.2.0" (instance $run_i)))"#;
    let output = run_text_component("unknown-import", unknown);
    assert_eq!(output.code, Some(1), "{}", output.describe());
    assert!(
        output
            .stderr
            .contains("the host does not implement `example:made/up@0.2.0#f`"),
        "{}",
        output.describe()
    );
}

#[test]
fn malformed_and_invalid_components_give_their_byte_offset() {
    let dir = scratch_dir("bad-components");
    let wasm = std::fs::read(hello()).unwrap();
    let truncated = dir.join("truncated.wasm");
    std::fs::write(&truncated, &wasm[..wasm.len() / 2]).unwrap();
    // A text component whose lift does not match its core function's type.
    let mismatched = dir.join("mismatched.wat");
    std::fs::write(
        &mismatched,
        r#"(component
            (core module $m (func (export "f") (param i64)))
            (core instance $i (instantiate $m))
            (func (export "f") (param "x" u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    for (path, detail) in [
        (&truncated, "unexpected end"),
        (&mismatched, "do not match"),
    ] {
        for command in ["run", "inspect", "compile"] {
            let mut args = vec![command, path_str(path)];
            let object = dir.join("out.o");
            if command == "compile" {
                args.extend(["-o", path_str(&object)]);
            }
            let output = run_kiln(&args, b"");
            assert_eq!(output.code, Some(1), "{}", output.describe());
            let expected = format!(
                "kiln: error: {}: invalid component at offset 0x",
                path.display()
            );
            assert!(
                output.stderr.starts_with(&expected),
                "{}",
                output.describe()
            );
            assert!(output.stderr.contains(detail), "{}", output.describe());
            assert!(!output.stderr.contains("panicked"), "{}", output.describe());
        }
    }
}

#[test]
fn every_rust_test_program_translates_and_inspects() {
    for name in RUST_PROGRAMS {
        let wasm = std::fs::read(component(name)).unwrap();
        let plan = kiln_component::translate(&wasm)
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .plan;
        // The translation checks each import's flat signature against the translator's
        // core type; here every import is WASI 0.2 and every trampoline has its import.
        for import in &plan.imports {
            assert!(
                import.name.interface.starts_with("wasi:")
                    && import
                        .name
                        .version
                        .as_deref()
                        .unwrap_or("")
                        .starts_with("0.2."),
                "{name}: {}",
                import.name
            );
        }
        let output = run_kiln(&["inspect", path_str(component(name))], b"");
        assert_eq!(output.code, Some(0), "{name}: {}", output.describe());
        assert!(
            output.stdout.contains(": run: func() -> result"),
            "{name}: {}",
            output.stdout
        );
    }
    // The file-system program's world uses records, flags, enums and variants.
    let output = run_kiln(&["inspect", path_str(component("files"))], b"");
    for expected in [
        ": type descriptor-flags = flags { read, write,",
        ": type descriptor-type = enum { unknown, block-device,",
        ": type new-timestamp = variant { no-change, now, timestamp(datetime) }",
        ": type descriptor-stat = record { type: descriptor-type,",
        ": get-directories: func() -> list<tuple<own<descriptor>, string>>",
    ] {
        assert!(
            output.stdout.contains(expected),
            "no `{expected}` in\n{}",
            output.stdout
        );
    }
}
