//! The limit flags (`--max-memory`, `--max-table-elements`, `--max-stack`) of `kiln run`
//! and, baked in, of `kiln build` executables (glibc and static musl): what the guest
//! sees at the limits, and malformed values refused by name with exit 1.

mod support;

use std::process::Command;
use support::{assert_success, path_str, run_kiln, scratch_dir, wat_program, Output, KILN};

/// Runs `program` with `flags` through `kiln run` and as executables built with the same
/// flags for the host's glibc and static musl targets; returns the three outputs.
fn run_everywhere(program: &str, flags: &[&str], args: &[&str]) -> Vec<Output> {
    let scratch = scratch_dir(&format!("{program}-{}", flags.join("_").replace('/', "")));
    let input = wat_program(program);
    let mut outputs = Vec::new();
    let mut run_args = vec!["run"];
    run_args.extend_from_slice(flags);
    run_args.push(path_str(&input));
    run_args.extend_from_slice(args);
    outputs.push(run_kiln(&run_args, b""));
    for target in ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"] {
        let executable = scratch.join(target);
        let mut build_args = vec!["build", "--target", target];
        build_args.extend_from_slice(flags);
        build_args.extend([path_str(&input), "-o", path_str(&executable)]);
        let built = run_kiln(&build_args, b"");
        assert_success(&built, &format!("kiln build {}", build_args.join(" ")));
        outputs.push(support::run(Command::new(&executable).args(args), b""));
    }
    outputs
}

#[test]
fn memory_and_table_caps_make_grow_fail() {
    for output in run_everywhere("grow_under_limits", &[], &[]) {
        assert_success(&output, "no limits");
        assert_eq!(output.stdout, "9\n2\n", "{}", output.describe());
    }
    let capped = ["--max-memory", "256KiB", "--max-table-elements", "3"];
    for output in run_everywhere("grow_under_limits", &capped, &[]) {
        assert_success(&output, "under limits");
        // 4 pages of 64 KiB, and the table may not grow from 1 to 4 elements.
        assert_eq!(output.stdout, "4\n0\n", "{}", output.describe());
    }
    // Exactly at the limit is allowed.
    let exact = ["--max-memory", "589824", "--max-table-elements", "4"];
    for output in run_everywhere("grow_under_limits", &exact, &[]) {
        assert_eq!(output.stdout, "9\n2\n", "{}", output.describe());
    }
}

#[test]
fn a_memory_or_table_that_starts_over_its_cap_is_not_instantiated() {
    for (flags, message) in [
        (
            ["--max-memory", "60000"],
            "memory 0 starts with 1 pages (65536 bytes), over the limit of 60000 bytes",
        ),
        (
            ["--max-table-elements", "0"],
            "table 0 starts with 1 elements, over the limit of 0 elements",
        ),
    ] {
        for output in run_everywhere("grow_under_limits", &flags, &[]) {
            assert_eq!(output.code, Some(1), "{}", output.describe());
            assert!(output.stderr.contains(message), "{}", output.describe());
            assert_eq!(output.stdout, "", "{}", output.describe());
        }
    }
}

#[test]
fn the_stack_cap_bounds_recursion() {
    let ten = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
    // 10000 frames fit in the default 1 MiB, not in 64 KiB; 1000 fit in 64 KiB.
    for output in run_everywhere("recurse", &[], &ten) {
        assert_success(&output, "10000 frames");
        assert_eq!(output.stdout, "done\n");
    }
    for output in run_everywhere("recurse", &["--max-stack", "64KiB"], &ten) {
        assert_eq!(output.code, Some(134), "{}", output.describe());
        assert!(
            output.stderr.contains("call stack exhausted"),
            "{}",
            output.describe()
        );
    }
    for output in run_everywhere("recurse", &["--max-stack", "64KiB"], &["1"]) {
        assert_success(&output, "1000 frames in 64 KiB");
        assert_eq!(output.stdout, "done\n");
    }
}

#[test]
fn malformed_limits_are_refused_by_name() {
    let scratch = scratch_dir("malformed");
    let input = wat_program("grow_under_limits");
    let executable = scratch.join("exe");
    for (flag, value) in [
        ("--max-memory", "12XB"),
        ("--max-memory", "-1"),
        ("--max-memory", "99999999TiB"),
        ("--max-table-elements", "1k"),
        ("--max-stack", "lots"),
    ] {
        for command in ["run", "build"] {
            let mut args = vec![command, flag, value, path_str(&input)];
            if command == "build" {
                args.extend(["-o", path_str(&executable)]);
            }
            let output = support::run(Command::new(KILN).args(&args), b"");
            let context = output.describe();
            assert_eq!(output.code, Some(1), "{context}");
            assert!(output.stderr.contains(flag), "{context}");
            assert!(output.stderr.contains(value), "{context}");
            assert!(!output.stderr.contains("panicked"), "{context}");
        }
    }
    assert!(
        !executable.exists(),
        "nothing is built from a malformed limit"
    );
}
