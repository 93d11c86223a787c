//! The target-related commands: `kiln targets`, static musl executables (run alone in an
//! empty root), aarch64 executables under qemu, size reports, and `--emit staticlib` for C
//! hosts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("targets")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    output
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn build(target: &str, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let built = run(Command::new(KILN)
        .args(["build", "--target", target])
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(extra));
    assert_success(&built, &format!("kiln build --target {target}"));
    built
}

fn hello() -> PathBuf {
    repository_root().join("examples").join("hello.wat")
}

#[test]
fn targets_lists_every_supported_triple() {
    let output = run(Command::new(KILN).arg("targets"));
    assert_success(&output, "kiln targets");
    let text = String::from_utf8_lossy(&output.stdout);
    for triple in [
        "x86_64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-gnu",
        "aarch64-unknown-linux-musl",
    ] {
        assert!(text.contains(triple), "{triple} missing from:\n{text}");
    }
    assert!(
        text.contains("x86_64-unknown-linux-gnu (host): ready"),
        "{text}"
    );
}

/// A static musl executable runs alone in an empty directory used as its root.
#[test]
fn musl_executable_is_static_small_and_runs_in_an_empty_root() {
    let dir = scratch("musl");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let exe = root.join("hello");
    let built = build(
        "x86_64-unknown-linux-musl",
        &hello(),
        &exe,
        &["--size-report"],
    );
    let report = String::from_utf8_lossy(&built.stdout);
    assert!(
        report.contains("generated code") && report.contains("runtime and libc"),
        "{report}"
    );
    let bytes = std::fs::read(&exe).unwrap();
    assert!(
        bytes.len() <= 1 << 20,
        "hello is {} bytes, over 1 MiB",
        bytes.len()
    );
    assert!(
        !bytes.windows(b".interp".len()).any(|w| w == b".interp"),
        "a static executable has no interpreter"
    );
    let output = run(Command::new("chroot").arg(&root).arg("/hello"));
    assert_success(&output, "the musl executable in an empty root");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hello from kiln\n");
}

fn qemu(target: &str, exe: &Path) -> Output {
    let mut command = Command::new("qemu-aarch64");
    if target.ends_with("gnu") {
        command.args(["-L", "/usr/aarch64-linux-gnu"]);
    }
    run(command.arg(exe))
}

#[test]
fn aarch64_executables_run_under_qemu() {
    let dir = scratch("aarch64");
    for target in ["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"] {
        let exe = dir.join(format!("hello-{target}"));
        build(target, &hello(), &exe, &[]);
        let output = qemu(target, &exe);
        assert_success(&output, &format!("hello for {target} under qemu"));
        assert_eq!(String::from_utf8_lossy(&output.stdout), "hello from kiln\n");
    }
}

#[test]
fn aarch64_traps_are_reported_like_x86_64() {
    let dir = scratch("aarch64-traps");
    let programs = repository_root().join("tests").join("programs").join("wat");
    for (program, message) in [
        ("divide_by_zero", "integer divide by zero"),
        ("out_of_bounds", "out of bounds memory access"),
        ("stack_overflow", "call stack exhausted"),
    ] {
        let native = dir.join(format!("{program}-x86_64"));
        build(
            "x86_64-unknown-linux-gnu",
            &programs.join(format!("{program}.wat")),
            &native,
            &[],
        );
        let native_output = run(&mut Command::new(&native));
        for target in ["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"] {
            let exe = dir.join(format!("{program}-{target}"));
            build(target, &programs.join(format!("{program}.wat")), &exe, &[]);
            let output = qemu(target, &exe);
            assert_eq!(output.status.code(), Some(134), "{program} on {target}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains(&format!("error: wasm trap: {message}")),
                "{program} on {target}: {stderr}"
            );
            assert_eq!(
                output.stdout, native_output.stdout,
                "{program} on {target}: stdout differs"
            );
            let frames = |text: &str| {
                text.lines()
                    .filter(|l| l.trim_start().starts_with(char::is_numeric))
                    .map(|l| l.split('(').next().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            };
            let native_stderr = String::from_utf8_lossy(&native_output.stderr);
            if program != "stack_overflow" {
                assert_eq!(
                    frames(&stderr),
                    frames(&native_stderr),
                    "{program} on {target}: backtrace differs"
                );
            }
        }
    }
}

#[test]
fn staticlib_and_header_link_into_a_c_program() {
    let dir = scratch("staticlib");
    let example = repository_root().join("examples").join("c-host");
    let library = dir.join("libcalc.a");
    let header = dir.join("calc.h");
    let compiled = run(Command::new(KILN)
        .args(["compile", "--emit", "staticlib", "--header"])
        .arg(&header)
        .arg("-o")
        .arg(&library)
        .arg(example.join("calc.wat")));
    assert_success(&compiled, "kiln compile --emit staticlib");
    let exe = dir.join("calc");
    let linked = run(Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(example.join("main.c"))
        .arg("-I")
        .arg(&dir)
        .arg(&library)
        .args([
            "-lpthread",
            "-ldl",
            "-lm",
            "-lrt",
            "-lutil",
            "-lgcc_s",
            "-lc",
        ]));
    assert_success(&linked, "linking the C host");
    let output = run(&mut Command::new(&exe));
    assert_success(&output, "the C host");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("calc_add(2, 3) = 5"), "{stdout}");
    assert!(stdout.contains("trapped: code 8"), "{stdout}");
}

/// The project's C test programs give the same stdout and exit code on aarch64 (under
/// qemu, gnu and musl) as natively on x86_64.
#[test]
fn c_programs_on_aarch64_match_native() {
    let dir = scratch("aarch64-programs");
    let sources = repository_root().join("tests").join("programs").join("c");
    for (program, args) in [
        ("hello", vec![]),
        ("compute", vec![]),
        ("args", vec!["7", "two words"]),
    ] {
        let source = sources.join(format!("{program}.c"));
        let native = dir.join(format!("{program}-native"));
        let compiled = run(Command::new("cc")
            .arg("-O2")
            .arg(&source)
            .arg("-o")
            .arg(&native)
            .arg("-lm"));
        assert_success(&compiled, &format!("cc {program}.c"));
        let wasm = dir.join(format!("{program}.wasm"));
        let compiled = run(Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2"])
            .arg(&source)
            .arg("-o")
            .arg(&wasm));
        assert_success(
            &compiled,
            &format!("clang --target=wasm32-wasi {program}.c"),
        );
        let expected = run(Command::new(&native).args(&args).env_clear());
        for target in ["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"] {
            let exe = dir.join(format!("{program}-{target}"));
            build(target, &wasm, &exe, &[]);
            let mut command = Command::new("qemu-aarch64");
            if target.ends_with("gnu") {
                command.args(["-L", "/usr/aarch64-linux-gnu"]);
            }
            let output = run(command.arg(&exe).args(&args).env_clear());
            assert_eq!(
                output.status.code(),
                expected.status.code(),
                "{program} on {target}: exit code"
            );
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&expected.stdout),
                "{program} on {target}: stdout"
            );
        }
    }
}

/// Code compiled with explicit bounds checks (for small address spaces) behaves like the
/// default: the same output for a real program, the same trap for an out-of-bounds access.
#[test]
fn bounds_checked_code_behaves_like_guard_page_code() {
    let dir = scratch("bounds-checks");
    let source = repository_root()
        .join("tests")
        .join("programs")
        .join("c")
        .join("compute.c");
    let wasm = dir.join("compute.wasm");
    let compiled = run(Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2"])
        .arg(&source)
        .arg("-o")
        .arg(&wasm));
    assert_success(&compiled, "clang --target=wasm32-wasi compute.c");
    let host = "x86_64-unknown-linux-gnu";
    let (plain, checked) = (dir.join("compute"), dir.join("compute-checked"));
    build(host, &wasm, &plain, &[]);
    build(host, &wasm, &checked, &["--bounds-checks"]);
    let (expected, output) = (
        run(&mut Command::new(&plain)),
        run(&mut Command::new(&checked)),
    );
    assert_success(&output, "compute built with --bounds-checks");
    assert_eq!(output.stdout, expected.stdout);
    let trap = repository_root()
        .join("tests")
        .join("programs")
        .join("wat")
        .join("out_of_bounds.wat");
    let trapping = dir.join("out_of_bounds-checked");
    build(host, &trap, &trapping, &["--bounds-checks"]);
    let output = run(&mut Command::new(&trapping));
    assert_eq!(output.status.code(), Some(134));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: wasm trap: out of bounds memory access"),
        "{stderr}"
    );
}

/// The project's Rust test programs, built for wasm32-wasip1, give the same stdout and exit
/// code on aarch64 (under qemu) as natively on x86_64.
#[test]
fn rust_programs_on_aarch64_match_native() {
    let manifest = repository_root()
        .join("tests")
        .join("programs")
        .join("rust")
        .join("Cargo.toml");
    let target_dir = repository_root()
        .join("target")
        .join("e2e-programs-aarch64");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for target in [None, Some("wasm32-wasip1")] {
        let mut command = Command::new(&cargo);
        command
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(&manifest);
        command
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("CARGO_BUILD_TARGET");
        if let Some(target) = target {
            command.args(["--target", target]);
        }
        assert_success(&run(&mut command), "building the Rust test programs");
    }
    let dir = scratch("aarch64-rust");
    for (program, args) in [
        ("hello", vec![]),
        ("compute", vec![]),
        ("args", vec!["3", "x y"]),
    ] {
        let native = target_dir.join("release").join(program);
        let wasm = target_dir
            .join("wasm32-wasip1")
            .join("release")
            .join(format!("{program}.wasm"));
        let expected = run(Command::new(&native).args(&args).env_clear());
        for target in ["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"] {
            let exe = dir.join(format!("{program}-{target}"));
            build(target, &wasm, &exe, &[]);
            let mut command = Command::new("qemu-aarch64");
            if target.ends_with("gnu") {
                command.args(["-L", "/usr/aarch64-linux-gnu"]);
            }
            let output = run(command.arg(&exe).args(&args).env_clear());
            assert_eq!(
                output.status.code(),
                expected.status.code(),
                "{program} on {target}: exit code"
            );
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&expected.stdout),
                "{program} on {target}: stdout"
            );
        }
    }
}
