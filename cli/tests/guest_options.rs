//! The options that shape what a guest sees and may do, under `kiln run` and baked into a
//! `kiln build` executable: `--argv0` (preview 1 and WASI 0.2), `--cwd` (WASI 0.2's
//! `initial-cwd`), and the WASI 0.2 limits `--max-resources` and `--hostcall-fuel`, each
//! through `tests/programs/rust/src/bin/options.rs`: it prints its first argument and
//! initial directory, and holds open files or passes a long name to the host on request.
//!
//! Needs the wasm32-wasip1 and wasm32-wasip2 Rust targets, as `cli/tests/components.rs`
//! does; a missing one fails the test and says what to install.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{
    build_rust_components, build_rust_programs, path_str, run, run_kiln, scratch_dir, target_dir,
    Output,
};

/// The program built as a WASI 0.2 component, once.
fn component() -> &'static Path {
    static COMPONENT: OnceLock<PathBuf> = OnceLock::new();
    COMPONENT.get_or_init(|| {
        build_rust_components(&target_dir().join("e2e-programs"), &["options"])
            .unwrap_or_else(|error| panic!("{error}"))
            .remove("options")
            .unwrap()
    })
}

/// The program built for wasm32-wasip1, a core module, once.
fn module() -> &'static Path {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE.get_or_init(|| {
        let dir = target_dir().join("e2e-programs");
        build_rust_programs(&dir, &["options"]).unwrap_or_else(|error| panic!("{error}"));
        dir.join("wasm32-wasip1/release/options.wasm")
    })
}

/// A fresh directory holding `file`, to preopen as `/data`.
fn data_dir(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("file"), "data\n").unwrap();
    dir
}

/// Runs `wasm` with `flags` and guest `args` twice: under `kiln run`, and as the
/// executable `kiln build` makes of it with the same flags; returns both outputs.
fn run_both(name: &str, wasm: &Path, flags: &[&str], args: &[&str]) -> [Output; 2] {
    let mut run_args = vec!["run"];
    run_args.extend(flags);
    run_args.push(path_str(wasm));
    run_args.extend(args);
    let under_run = run_kiln(&run_args, b"");

    let executable = scratch_dir(&format!("{name}-executable")).join("options");
    let mut build_args = vec!["build", path_str(wasm), "-o", path_str(&executable)];
    build_args.extend(flags);
    let built = run_kiln(&build_args, b"");
    assert_eq!(built.code, Some(0), "{}", built.describe());
    let as_executable = run(Command::new(&executable).args(args).env_clear(), b"");
    [under_run, as_executable]
}

/// Checks that both outputs exit 0 with `stdout` and nothing on stderr.
fn assert_prints(outputs: &[Output; 2], stdout: &str) {
    for output in outputs {
        let context = output.describe();
        assert_eq!(output.code, Some(0), "{context}");
        assert_eq!(output.stderr, "", "{context}");
        assert_eq!(output.stdout, stdout, "{context}");
    }
}

/// Checks that both outputs are a trap (exit 134) whose message contains `message`.
fn assert_traps(outputs: &[Output; 2], message: &str) {
    for output in outputs {
        let context = output.describe();
        assert_eq!(output.code, Some(134), "{context}");
        assert!(
            output.stderr.contains(&format!("wasm trap: {message}")),
            "{context}"
        );
    }
}

#[test]
fn argv0_is_the_guests_first_argument_in_both_preview_1_and_0_2() {
    for (what, wasm) in [("module", module()), ("component", component())] {
        let outputs = run_both(&format!("argv0-{what}"), wasm, &["--argv0", "zed"], &["x"]);
        assert_prints(&outputs, "argv0=zed\ninitial-cwd=None\n");
    }
    // Without it, kiln run passes the file name.
    let output = run_kiln(&["run", path_str(component())], b"");
    assert_eq!(output.stdout, "argv0=options.wasm\ninitial-cwd=None\n");
}

#[test]
fn cwd_is_a_components_initial_directory() {
    let dir = data_dir("cwd");
    let grant = format!("{}::/data", path_str(&dir));
    let outputs = run_both(
        "cwd",
        component(),
        &["--dir", &grant, "--cwd", "/data", "--argv0", "o"],
        &[],
    );
    assert_prints(&outputs, "argv0=o\ninitial-cwd=Some(\"/data\")\n");
}

#[test]
fn a_component_over_max_resources_traps() {
    let dir = data_dir("max-resources");
    let grant = format!("{}::/data", path_str(&dir));
    let flags = ["--dir", &grant, "--max-resources", "10", "--argv0", "o"];
    // Stdout and the preopen hold two of the ten.
    let outputs = run_both("max-resources-ok", component(), &flags, &["open", "5"]);
    assert_prints(&outputs, "argv0=o\ninitial-cwd=None\nopened 5\n");
    let outputs = run_both("max-resources-over", component(), &flags, &["open", "20"]);
    assert_traps(
        &outputs,
        "wasi: the guest holds 10 host resources, the most it may",
    );
}

#[test]
fn a_host_call_over_the_hostcall_fuel_traps() {
    let dir = data_dir("hostcall-fuel");
    let grant = format!("{}::/data", path_str(&dir));
    let flags = ["--dir", &grant, "--hostcall-fuel", "100", "--argv0", "o"];
    // A directory name of 100 bytes is a string of 100 bytes to the host: all the fuel.
    let outputs = run_both("hostcall-fuel-ok", component(), &flags, &["mkdir", "100"]);
    assert_prints(&outputs, "argv0=o\ninitial-cwd=None\nmade 100 bytes\n");
    let outputs = run_both("hostcall-fuel-over", component(), &flags, &["mkdir", "101"]);
    assert_traps(
        &outputs,
        "hostcall fuel exhausted: the guest's values need 101 more bytes copied into the \
         host, 100 left of the call's fuel",
    );
    assert!(!dir.join("a".repeat(101)).exists());
}

#[test]
fn malformed_limits_are_errors_naming_their_flag() {
    for (flag, value) in [
        ("--max-resources", "many"),
        ("--max-resources", "2000000"),
        ("--hostcall-fuel", "5 apples"),
    ] {
        let output = run_kiln(&["run", flag, value, path_str(component())], b"");
        let context = output.describe();
        assert_eq!(output.code, Some(1), "{context}");
        assert!(output.stderr.contains(flag), "{context}");
        assert_eq!(output.stdout, "", "{context}");
    }
}
