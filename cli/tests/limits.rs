//! The limit flags (`--max-memory`, `--max-table-elements`, `--max-stack`, `--fuel`,
//! `--timeout`) of `kiln run` and, baked in, of `kiln build` executables (glibc and static
//! musl; for fuel also aarch64 under qemu): what the guest sees at the limits, and
//! malformed values refused by name with exit 1.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
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
        ("--fuel", "1e6"),
        ("--fuel", "-5"),
        ("--timeout", "5"),
        ("--timeout", "1.5s"),
        ("--timeout", "9999999999h"),
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

/// Asserts that `output` is a trap report with `message` and a wasm backtrace.
fn assert_trap(output: &Output, message: &str) {
    let context = output.describe();
    assert_eq!(output.code, Some(134), "{context}");
    assert!(
        output.stderr.contains(&format!("wasm trap: {message}")),
        "{context}"
    );
    assert!(output.stderr.contains("wasm backtrace:"), "{context}");
}

#[test]
fn fuel_counts_the_same_everywhere_and_stops_the_guest() {
    // 6994 units reach the last loop-header check; one fewer runs out there.
    for output in run_everywhere("count_loop", &["--fuel", "6994"], &[]) {
        assert_success(&output, "enough fuel");
        assert_eq!(output.stdout, "done\n", "{}", output.describe());
    }
    for output in run_everywhere("count_loop", &["--fuel", "6993"], &[]) {
        assert_trap(&output, "all fuel consumed");
        assert!(output.stderr.contains("count"), "{}", output.describe());
        assert_eq!(output.stdout, "", "{}", output.describe());
    }
    // The same count on aarch64.
    let scratch = scratch_dir("fuel-aarch64");
    for (fuel, finishes) in [("6994", true), ("6993", false)] {
        let executable = scratch.join(format!("count-{fuel}"));
        let built = run_kiln(
            &[
                "build",
                "--target",
                "aarch64-unknown-linux-musl",
                "--fuel",
                fuel,
                path_str(&wat_program("count_loop")),
                "-o",
                path_str(&executable),
            ],
            b"",
        );
        assert_success(
            &built,
            "kiln build --target aarch64-unknown-linux-musl --fuel",
        );
        let output = support::run(Command::new("qemu-aarch64").arg(&executable), b"");
        if finishes {
            assert_success(&output, "enough fuel on aarch64");
            assert_eq!(output.stdout, "done\n", "{}", output.describe());
        } else {
            assert_trap(&output, "all fuel consumed");
        }
    }
    // A guest that never stops runs out of any amount.
    for output in run_everywhere("spin", &["--fuel", "1000000"], &[]) {
        assert_trap(&output, "all fuel consumed");
    }
}

#[test]
fn a_time_limit_interrupts_loops_and_start_functions() {
    for args in [&[][..], &["in-start"][..]] {
        for output in run_everywhere("spin", &["--timeout", "200ms"], args) {
            assert_trap(&output, "interrupted: time limit");
            assert!(output.stderr.contains("spin"), "{}", output.describe());
        }
    }
    // A limit that does not run out changes nothing.
    for output in run_everywhere("count_loop", &["--timeout", "1h"], &[]) {
        assert_success(&output, "a long time limit");
        assert_eq!(output.stdout, "done\n", "{}", output.describe());
    }
}

#[test]
fn a_time_limit_cuts_blocking_wasi_calls_short() {
    // poll_oneoff asked for 60 s: the guest traps when the limit runs out instead.
    for output in run_everywhere("sleep", &["--timeout", "300ms"], &[]) {
        assert_trap(&output, "interrupted: time limit");
        assert!(output.stderr.contains("main"), "{}", output.describe());
        assert_eq!(output.stdout, "", "{}", output.describe());
    }
    // A read from a pipe that nobody writes to or closes.
    let input = wat_program("sleep");
    let started = Instant::now();
    let mut child = Command::new(KILN)
        .args(["run", "--timeout", "300ms", path_str(&input), "read"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting kiln run");
    let stdin = child.stdin.take();
    let status = support::wait_with_deadline(
        &mut child,
        started + Duration::from_secs(60),
        "kiln run --timeout 300ms sleep.wat read",
    );
    drop(stdin);
    let stderr = support::read_all(child.stderr.take().unwrap());
    let stdout = support::read_all(child.stdout.take().unwrap());
    assert_eq!(status.code(), Some(134), "{stderr}");
    assert!(
        stderr.contains("wasm trap: interrupted: time limit"),
        "{stderr}"
    );
    assert_eq!(stdout, "");
}
