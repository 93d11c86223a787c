//! WASI preview 1 modules made components with Wasmtime's preview 1 adapter run through
//! `kiln run` like the modules themselves (issue 19).
//!
//! kiln's Rust test programs (`tests/programs/rust`) built for wasm32-wasip1 are encoded
//! with wit-component's `ComponentEncoder` and the command adapter of the
//! `wasi-preview1-component-adapter-provider` crate (the adapter module Wasmtime ships:
//! preview 1 implemented over WASI 0.2 imports, with its own memory, state in globals and
//! `cabi_realloc`). Each component then runs with the same arguments and a fresh scratch
//! directory preopened as `.`, and must print the same stdout and stderr and leave the
//! same files as the module; its exit code is the module's made 0 or 1, since WASI 0.2's
//! `exit` takes a `result` (the adapter's `proc_exit` maps every non-zero code to
//! `err`), as in Wasmtime.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use support::{
    assert_lines_eq, build_rust_programs, files_in, path_str, run_kiln, scratch_dir, target_dir,
};
use wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER;

/// Where the adapter differs from kiln's preview 1, by design: (program, its arguments,
/// the module's line, the component's line). The adapter's `fd_read` of a directory is `badf` (a
/// directory descriptor has no stream to read; Wasmtime's own preview 1 says the same),
/// where kiln's preview 1 passes on Linux's `EISDIR`. Each must appear as listed.
type KnownDifference = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
);
const KNOWN_DIFFERENCES: &[KnownDifference] = &[(
    "files",
    &[],
    "read_to_string a directory: IsADirectory\n",
    "read_to_string a directory: Bad file descriptor\n",
)];

/// The Rust test programs (`tests/programs/rust/src/bin/`).
const RUST_PROGRAMS: &[&str] = &["hello", "args", "compute", "files"];

/// The wasip1 build of the Rust test program `name` (all built once, into the
/// `target/e2e-programs` the other tests share).
fn wasip1_module(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let target = target_dir().join("e2e-programs");
    BUILT
        .get_or_init(|| build_rust_programs(&target, RUST_PROGRAMS))
        .as_ref()
        .unwrap_or_else(|error| panic!("{error}"));
    target.join(format!("wasm32-wasip1/release/{name}.wasm"))
}

/// `module` made a `wasi:cli/command` component with the preview 1 command adapter,
/// written beside the other scratch files.
fn adapted(name: &str, module: &Path) -> PathBuf {
    let bytes = std::fs::read(module).unwrap();
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|encoder| {
            encoder.adapter(
                "wasi_snapshot_preview1",
                WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
            )
        })
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|error| panic!("encoding {} as a component: {error:?}", module.display()));
    assert!(kiln_component::is_component(&component));
    let path = scratch_dir(&format!("adapted-{name}")).join(format!("{name}.component.wasm"));
    std::fs::write(&path, component).unwrap();
    path
}

/// Runs the module and its adapted component with `args`, each in a fresh scratch
/// directory preopened as `.`, and checks that they behave alike.
fn check_adapted_like_module(name: &str, args: &[&str]) {
    let module = wasip1_module(name);
    let component = adapted(name, &module);
    let mut runs = Vec::new();
    for (how, wasm) in [("module", &module), ("component", &component)] {
        let dir = scratch_dir(&format!("adapter-{name}-{}-{how}", args.join("-")));
        let grant = format!("{}::.", path_str(&dir));
        let mut command = vec!["run", "--dir", &grant, path_str(wasm)];
        command.extend(args);
        let output = run_kiln(&command, b"");
        runs.push((output, files_in(&dir)));
    }
    let [(module_run, module_files), (component_run, component_files)] = &runs[..] else {
        unreachable!()
    };
    let context = format!(
        "kiln run of the adapted component of {name} (left) differs from the module's \
         (right)\n{}\nmodule: {}",
        component_run.describe(),
        module_run.describe()
    );
    let module_code = module_run.code.expect("the module's run exits");
    assert!(
        module_code == 0 || !module_run.stderr.contains("error:"),
        "the module itself failed: {}",
        module_run.describe()
    );
    assert_eq!(
        component_run.code,
        Some(i32::from(module_code != 0)),
        "exit code: {context}"
    );
    let mut expected_stdout = module_run.stdout.clone();
    for (program, program_args, module_line, component_line) in KNOWN_DIFFERENCES {
        if *program == name && *program_args == args {
            assert!(
                expected_stdout.contains(module_line),
                "the module no longer prints {module_line:?}: update KNOWN_DIFFERENCES\n{context}"
            );
            expected_stdout = expected_stdout.replace(module_line, component_line);
        }
    }
    assert_lines_eq(&component_run.stdout, &expected_stdout, &context);
    assert_eq!(component_run.stderr, module_run.stderr, "stderr: {context}");
    assert_eq!(
        component_files, module_files,
        "files left behind: {context}"
    );
}

#[test]
fn adapted_hello_runs_like_the_module() {
    check_adapted_like_module("hello", &[]);
}

#[test]
fn adapted_args_runs_like_the_module() {
    check_adapted_like_module("args", &["first", "second arg", "ünïcode"]);
    check_adapted_like_module("args", &["7", "exit code"]);
}

#[test]
fn adapted_compute_runs_like_the_module() {
    check_adapted_like_module("compute", &[]);
}

#[test]
fn adapted_files_runs_like_the_module() {
    check_adapted_like_module("files", &[]);
    check_adapted_like_module("files", &[".", "exit", "3"]);
}
