//! What kiln's command-line integration tests share (each includes it with `mod support;`,
//! so Cargo does not build it as a test of its own): the repository's paths and a fresh
//! scratch directory per test, running a command with a timeout while its stdout and stderr
//! are drained on threads, and building the test programs of `tests/programs/` for
//! wasm32-wasip1 and natively (C with clang and cc, Rust with cargo) and, the Rust ones,
//! for wasm32-wasip2 as components, where a missing tool
//! fails with a message saying what to install (`.ci/run` installs all of them).

// Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// No single command of these tests may take longer; a hang fails the test instead of
/// blocking the run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

pub const C_INSTALL_HINT: &str = "install clang, lld, wasi-libc and libclang-rt-dev-wasm32 \
     (`apt-get install clang lld wasi-libc libclang-rt-dev-wasm32`, as .ci/run does)";
pub const CC_INSTALL_HINT: &str = "install a C compiler (`apt-get install gcc`)";
pub const RUST_INSTALL_HINT: &str =
    "install the wasm32-wasip1 target (`rustup target add wasm32-wasip1`, as .ci/run does)";

// ---------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------

pub fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// `tests/programs/`: the C, Rust and WAT test programs.
pub fn programs_dir() -> PathBuf {
    repository_root().join("tests").join("programs")
}

/// A WAT program from `tests/programs/wat/`, given to kiln as text.
pub fn wat_program(name: &str) -> PathBuf {
    let path = programs_dir().join("wat").join(format!("{name}.wat"));
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// The workspace's `target/` directory.
pub fn target_dir() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap()
}

/// A fresh, empty directory for one test's files under `$CARGO_TARGET_TMPDIR/<test file>`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(env!("CARGO_CRATE_NAME"))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
    dir
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// What a finished process did.
pub struct Output {
    pub command: String,
    pub code: Option<i32>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn describe(&self) -> String {
        let mut text = format!("$ {}\nstatus: {}\n", self.command, self.status);
        for (name, stream) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let shown: String = stream.chars().take(4000).collect();
            let cut = if shown.len() < stream.len() {
                "\n[...]"
            } else {
                ""
            };
            write!(text, "--- {name} ---\n{shown}{cut}\n").unwrap();
        }
        text
    }
}

/// Fails the test unless `output` is a success; `what` names the step.
pub fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed\n{}",
        output.describe()
    );
}

pub fn run_kiln(args: &[&str], stdin: &[u8]) -> Output {
    run(Command::new(KILN).args(args), stdin)
}

/// Runs `command` with `stdin`, capturing its output, and kills it after
/// [`COMMAND_TIMEOUT`].
pub fn run(command: &mut Command, stdin: &[u8]) -> Output {
    let description = command_line(command);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("starting `{description}`: {error}"));

    let mut child_stdin = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // A guest that stops reading early closes the pipe; that is not the test's concern.
    let writer = std::thread::spawn(move || {
        let _ = child_stdin.write_all(&stdin);
    });
    let stdout = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || read_all(stdout));
    let stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || read_all(stderr));

    let status = wait_with_deadline(&mut child, Instant::now() + COMMAND_TIMEOUT, &description);
    writer.join().unwrap();
    Output {
        command: description,
        code: status.code(),
        status,
        stdout: stdout_reader.join().unwrap(),
        stderr: stderr_reader.join().unwrap(),
    }
}

/// The command line of `command`, for messages.
pub fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// All of `stream`, as text.
pub fn read_all(mut stream: impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Waits for `child`, killing it and failing the test if it runs past `deadline`.
pub fn wait_with_deadline(child: &mut Child, deadline: Instant, description: &str) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{description}` did not finish in {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------
// Test programs
// ---------------------------------------------------------------------------------------

/// A test program built for wasm32-wasip1 and, unless it is wasm only, natively.
pub struct Program {
    /// `c-hello`, `rust-args`, ...
    pub id: String,
    pub wasm: PathBuf,
    pub native: PathBuf,
    /// The `kiln build` executable (with the grants it was built with), built on first use.
    executable: OnceLock<Result<(Vec<String>, PathBuf), String>>,
}

impl Program {
    pub fn new(id: String, wasm: PathBuf, native: PathBuf) -> Program {
        Program {
            id,
            wasm,
            native,
            executable: OnceLock::new(),
        }
    }

    /// The Rust program `name` as [`build_rust_programs`] leaves it in `target_dir`.
    pub fn rust(target_dir: &Path, name: &str) -> Program {
        Program::new(
            format!("rust-{name}"),
            target_dir.join(format!("wasm32-wasip1/release/{name}.wasm")),
            target_dir.join(format!("release/{name}")),
        )
    }

    /// The program built by `kiln build` with `grants` (`--dir` options), once: every
    /// caller must ask for the same grants.
    pub fn executable(&self, grants: &[&str]) -> &Path {
        let built = self.executable.get_or_init(|| {
            let executable = scratch_dir(&format!("executable-{}", self.id)).join(&self.id);
            let mut args = vec!["build", path_str(&self.wasm), "-o", path_str(&executable)];
            args.extend(grants);
            let output = run_kiln(&args, b"");
            if output.code == Some(0) && executable.is_file() {
                Ok((grants.iter().map(|s| s.to_string()).collect(), executable))
            } else {
                Err(format!(
                    "`kiln build` of {} failed\n{}",
                    self.id,
                    output.describe()
                ))
            }
        });
        let (built_grants, executable) = built.as_ref().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            built_grants, grants,
            "{} was built with other grants",
            self.id
        );
        executable
    }
}

/// Builds the C programs `tests/programs/c/<name>.c` of `programs` (name, also built
/// natively) into a scratch directory: for wasm32-wasi with `clang -O2` (see
/// [`build_c_wasm`]) and, unless wasm only, natively with `cc -O2`.
pub fn build_c_programs(
    programs: &[(&'static str, bool)],
) -> Result<BTreeMap<&'static str, Program>, String> {
    let sources = programs_dir().join("c");
    let out = scratch_dir("c-programs");
    let mut built = BTreeMap::new();
    for &(name, native) in programs {
        let source = sources.join(format!("{name}.c"));
        let wasm = out.join(format!("{name}.wasm"));
        let native_path = out.join(name);
        build_c_wasm(&source, &wasm)?;
        if native {
            build_c_native(&source, &native_path)?;
        }
        built.insert(name, Program::new(format!("c-{name}"), wasm, native_path));
    }
    Ok(built)
}

/// Compiles and links the C program `source` into `wasm` with `clang --target=wasm32-wasi
/// -O2`.
///
/// Compiling and linking are separate steps because clang, given `-O2` when it links,
/// runs binaryen's `wasm-opt` if that is installed, which strips the name section: the
/// module would then depend on what the machine has, and kiln's symbols and backtraces
/// would lose the function names.
pub fn build_c_wasm(source: &Path, wasm: &Path) -> Result<(), String> {
    let object = wasm.with_extension("wasm.o");
    build_step(
        Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2", "-c"])
            .arg(source)
            .arg("-o")
            .arg(&object),
        C_INSTALL_HINT,
    )?;
    build_step(
        Command::new("clang")
            .arg("--target=wasm32-wasi")
            .arg(&object)
            .arg("-o")
            .arg(wasm),
        C_INSTALL_HINT,
    )
}

/// Builds the C program `source` natively into `native` with `cc -O2 ... -lm`.
pub fn build_c_native(source: &Path, native: &Path) -> Result<(), String> {
    build_step(
        Command::new("cc")
            .arg("-O2")
            .arg(source)
            .arg("-o")
            .arg(native)
            .arg("-lm"),
        CC_INSTALL_HINT,
    )
}

/// Whether the Rust standard library for `target` is installed; the error says how to
/// install it (`hint`).
fn require_rust_target(target: &str, hint: &str) -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|error| format!("running rustc: {error}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if !sysroot.join("lib/rustlib").join(target).is_dir() {
        return Err(format!(
            "the Rust standard library for {target} is not in {}: {hint}",
            sysroot.display()
        ));
    }
    Ok(())
}

/// `cargo build --release` of the binaries `names` of `tests/programs/rust` into
/// `target_dir`, for `target` or natively (into `<target_dir>/release`).
fn cargo_build_programs(
    target_dir: &Path,
    names: &[&str],
    target: Option<&str>,
    hint: &str,
) -> Result<(), String> {
    let manifest = programs_dir().join("rust").join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command.args(["build", "--release", "--locked"]);
    for name in names {
        command.args(["--bin", name]);
    }
    command
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        // The native build must land in `<target_dir>/release`.
        .env_remove("CARGO_BUILD_TARGET");
    if let Some(target) = target {
        command.args(["--target", target]);
    }
    build_step(&mut command, hint)
}

/// Builds the Rust programs `names` (binaries of `tests/programs/rust`) with `cargo build
/// --release`, for wasm32-wasip1 and natively, into `target_dir`; [`Program::rust`] finds
/// them there.
pub fn build_rust_programs(target_dir: &Path, names: &[&str]) -> Result<(), String> {
    require_rust_target("wasm32-wasip1", RUST_INSTALL_HINT)?;
    for target in [Some("wasm32-wasip1"), None] {
        cargo_build_programs(target_dir, names, target, RUST_INSTALL_HINT)?;
    }
    Ok(())
}

pub const RUST_P2_INSTALL_HINT: &str =
    "install the wasm32-wasip2 target (`rustup target add wasm32-wasip2`, as .ci/run does)";

/// Builds the Rust programs `names` (binaries of `tests/programs/rust`) with `cargo build
/// --release` for wasm32-wasip2, as WASI 0.2 components, into `target_dir` (cargo's own
/// cache makes a second build cheap); returns each component's path, by name.
pub fn build_rust_components(
    target_dir: &Path,
    names: &[&'static str],
) -> Result<BTreeMap<&'static str, PathBuf>, String> {
    require_rust_target("wasm32-wasip2", RUST_P2_INSTALL_HINT)?;
    cargo_build_programs(
        target_dir,
        names,
        Some("wasm32-wasip2"),
        RUST_P2_INSTALL_HINT,
    )?;
    Ok(names
        .iter()
        .map(|&name| {
            let path = target_dir.join(format!("wasm32-wasip2/release/{name}.wasm"));
            (name, path)
        })
        .collect())
}

/// Runs one build command; a failure says what to install.
pub fn build_step(command: &mut Command, install_hint: &str) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = match command.stdin(Stdio::null()).output() {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("`{program}` is not installed: {install_hint}"));
        }
        Err(error) => return Err(format!("running `{program}`: {error}")),
    };
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "building a test program failed ({}): {:?}\n{}{}\nif a tool, header or library is \
         missing: {install_hint}",
        output.status,
        command,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    ))
}

/// A shared library (built in `dir`) whose constructor maps the first page at the fixed
/// memory address (`kiln_abi::metadata::FIXED_MEMORY_ADDRESS`): `LD_PRELOAD`ed, it takes
/// that address from an executable before the runtime reserves it.
pub fn fixed_address_taker(dir: &Path) -> PathBuf {
    let source = dir.join("take.c");
    std::fs::write(
        &source,
        format!(
            "#include <sys/mman.h>\n\
             __attribute__((constructor)) static void take(void) {{\n\
             mmap((void *){:#x}, 65536, PROT_NONE,\n\
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);\n}}\n",
            kiln_abi::metadata::FIXED_MEMORY_ADDRESS
        ),
    )
    .unwrap();
    let library = dir.join("take.so");
    let compiled = run(
        Command::new("cc").args([
            "-shared",
            "-fPIC",
            "-o",
            path_str(&library),
            path_str(&source),
        ]),
        b"",
    );
    assert_success(&compiled, "compiling the preloaded library");
    library
}

/// `actual == expected`, reporting the first line that differs.
pub fn assert_lines_eq(actual: &str, expected: &str, context: &str) {
    if actual == expected {
        return;
    }
    let mut expected_lines = expected.lines();
    for (index, line) in actual.lines().enumerate() {
        let wanted = expected_lines.next();
        assert_eq!(
            Some(line),
            wanted,
            "line {} differs (left: actual, right: expected)\n{context}",
            index + 1
        );
    }
    panic!("the output is cut short or differs in its last newline\n{context}");
}

/// `name size` of every entry of `dir` (directories as `name/`), sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("listing {}: {error}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            let metadata = std::fs::symlink_metadata(entry.path()).unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if metadata.is_dir() {
                format!("{name}/")
            } else {
                format!("{name} {}", metadata.len())
            }
        })
        .collect();
    files.sort();
    files
}
