//! WebAssembly components (WASI 0.2, issue 19) through the `kiln` command and the plan of a
//! real one: kiln's Rust hello program built for wasm32-wasip2 (`rustup target add
//! wasm32-wasip2`, as .ci/run does). `kiln inspect` prints its world; `kiln compile | build
//! | run` validate and translate it, then refuse it, since the runtime cannot instantiate
//! components yet; bad components get an error with their byte offset, never a panic.

mod support;

use kiln_abi::component::{ComponentPlan, ModuleOrigin, Step, TrampolineKind};
use kiln_abi::metadata::{FuncType, ValType::I32};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use support::{build_rust_components, path_str, run_kiln, scratch_dir, target_dir};

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

#[test]
fn compile_build_and_run_refuse_components_for_now() {
    let dir = scratch_dir("not-yet-runnable");
    let object = dir.join("hello.o");
    let executable = dir.join("hello");
    for args in [
        vec!["run", path_str(hello())],
        vec!["compile", path_str(hello()), "-o", path_str(&object)],
        vec!["build", path_str(hello()), "-o", path_str(&executable)],
    ] {
        let output = run_kiln(&args, b"");
        assert_eq!(output.code, Some(1), "{}", output.describe());
        assert!(
            output
                .stderr
                .starts_with("kiln: error: components are not yet runnable: "),
            "{}",
            output.describe()
        );
        assert!(!object.exists() && !executable.exists());
    }
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
