//! WASI preview1 through real programs: `tests/programs/c/files.c` and
//! `tests/programs/rust/src/bin/files.rs` exercise files, directories, symlinks, hard
//! links, seek/pread/pwrite, truncation, timestamps, a directory of 1000 entries, poll
//! with a timeout, clocks, randomness and exit codes, and print only deterministic facts.
//! Each runs natively in a fresh scratch directory, under `kiln run --dir SCRATCH::.`, as
//! a `kiln build --dir .::.` executable started in a fresh scratch directory, and under
//! `kiln run --dir SCRATCH::/sandbox` with `/sandbox` as its argument (it changes into
//! it); all must print the same, exit alike and leave the same files behind.
//!
//! `tests/programs/c/sandbox.c` tries every way out of its preopened directory (`..`,
//! absolute paths, symlinks made by the host or by itself, hard links and renames across
//! the boundary) with raw WASI calls; its output must equal `sandbox.stdout` beside it,
//! which is what wasmtime, the reference implementation, prints, and nothing outside the
//! preopen may change.
//!
//! Needs what `cli/tests/e2e.rs` needs (clang, lld, wasi-libc, libclang-rt-dev-wasm32, the
//! wasm32-wasip1 Rust target; `.ci/run` installs them); a missing tool fails the test and
//! says what to install. The build and process helpers are a trimmed copy of e2e.rs's.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// No single command may take longer; a hang fails the test instead of blocking the run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

const C_INSTALL_HINT: &str = "install clang, lld, wasi-libc and libclang-rt-dev-wasm32 \
     (`apt-get install clang lld wasi-libc libclang-rt-dev-wasm32`, as .ci/run does)";
const RUST_INSTALL_HINT: &str =
    "install the wasm32-wasip1 target (`rustup target add wasm32-wasip1`, as .ci/run does)";

// ---------------------------------------------------------------------------------------
// Files, directories, links, timestamps, poll, clocks, random: native against kiln
// ---------------------------------------------------------------------------------------

#[test]
fn c_files() {
    let native = check_against_native(c_program("files"), &[], 0);
    let stdout = &native.output.stdout;
    // The program's own view: the facts it checked came out as Linux gives them.
    for line in [
        "pread at 98: 9 [ae b5 HELLO df e6]\n",
        "nlink: 2 2, same inode: yes\n",
        "readlink: 10 [target.txt]\n",
        "open loop: ELOOP\n",
        "after utimensat: atime 1000000000.111111111 mtime 1234567890.987654321\n",
        "readdir: 1012 entries, errno OK\n",
        "poll with nothing, 50 ms: 0, waited at least 50 ms: yes, less than 5 s: yes\n",
        "getentropy: non-zero bytes: yes, two calls differ: yes\n",
        "left in the directory: data.bin lines.txt\n",
        "failures: 0\n",
    ] {
        assert!(stdout.contains(line), "no line {line:?} in\n{stdout}");
    }
    assert_eq!(native.files, ["data.bin 8196", "lines.txt 13390"]);
}

#[test]
fn rust_files() {
    let native = check_against_native(rust_program("files"), &[], 0);
    let stdout = &native.output.stdout;
    for line in [
        "remove_dir non-empty: DirectoryNotEmpty\n",
        "read_link: \"target.txt\"\n",
        "times: accessed 1000000000.123456789 modified 1234567890.987654321\n",
        "read_dir: 1005 entries (1000 files, 5 directories), 19800 bytes\n",
        "failures: 0\n",
    ] {
        assert!(stdout.contains(line), "no line {line:?} in\n{stdout}");
    }
    assert_eq!(native.files, ["lines.txt 35427"]);
}

#[test]
fn rust_exit_code_after_writing_a_file() {
    let native = check_against_native(rust_program("files"), &["exit", "9"], 9);
    assert_eq!(native.output.stdout, "exiting with 9\n");
    assert_eq!(native.files, ["exit.txt 7"]);
}

// ---------------------------------------------------------------------------------------
// The sandbox from the guest's side
// ---------------------------------------------------------------------------------------

const OUTSIDE_CONTENTS: &str = "outside\n";

#[test]
fn c_sandbox_cannot_be_left() {
    let program = c_program("sandbox");
    let expected_path = programs_dir().join("c").join("sandbox.stdout");
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", expected_path.display()));

    let executable = program.executable(&["--dir", "sandbox::."]);
    let runs = [("kiln run", None), ("kiln build", Some(executable))];
    for (how, executable) in runs {
        let root = sandbox_root(&format!("sandbox-{}", how.replace(' ', "-")));
        let output = match executable {
            None => {
                let grant = format!("{}::.", path_str(&root.join("sandbox")));
                run_kiln(&["run", "--dir", &grant, path_str(&program.wasm)])
            }
            Some(executable) => run(Command::new(executable).env_clear().current_dir(&root)),
        };
        let context = format!("{how} sandbox\n{}", output.describe());
        assert_eq!(output.code, Some(0), "exit code: {context}");
        assert_eq!(output.stderr, "", "stderr: {context}");
        // WASI preview1 names no single errno for an escape: wasmtime answers PERM (as
        // cap-std does), NOTCAPABLE would be as right.
        let stdout = output.stdout.replace(": NOTCAPABLE", ": PERM");
        assert_lines_eq(&stdout, &expected, &context);

        // Nothing outside the preopen changed; inside, only what the allowed steps made.
        assert_eq!(
            std::fs::read_to_string(root.join("outside.txt"))
                .ok()
                .as_deref(),
            Some(OUTSIDE_CONTENTS),
            "outside.txt changed: {context}"
        );
        assert_eq!(
            tree(&root),
            [
                "outside.txt",
                "sandbox/",
                "sandbox/abs-link ->",
                "sandbox/dir-up -> ..",
                "sandbox/hard.txt",
                "sandbox/inside.txt",
                "sandbox/made-up -> ../outside.txt",
                "sandbox/root-link -> /",
                "sandbox/sub/",
                "sandbox/sub/back -> ../inside.txt",
                "sandbox/sub/up-up -> ../../outside.txt",
                "sandbox/up-link -> ../outside.txt",
            ],
            "files under the root: {context}"
        );
    }
}

/// A fresh `ROOT` with `ROOT/outside.txt` and the preopen `ROOT/sandbox` as
/// `tests/programs/c/sandbox.c` describes it.
fn sandbox_root(name: &str) -> PathBuf {
    let root = scratch_dir(name);
    let sandbox = root.join("sandbox");
    std::fs::create_dir_all(sandbox.join("sub")).unwrap();
    std::fs::write(root.join("outside.txt"), OUTSIDE_CONTENTS).unwrap();
    std::fs::write(sandbox.join("inside.txt"), "inside\n").unwrap();
    let links: [(&Path, &str); 5] = [
        (Path::new("../outside.txt"), "up-link"),
        (&root.join("outside.txt"), "abs-link"),
        (Path::new("../../outside.txt"), "sub/up-up"),
        (Path::new(".."), "dir-up"),
        (Path::new("/"), "root-link"),
    ];
    for (target, link) in links {
        std::os::unix::fs::symlink(target, sandbox.join(link)).unwrap();
    }
    root
}

/// Every path under `root`, relative and sorted: directories end with `/`, symlinks show
/// their target (absolute targets are cut, they name the scratch directory).
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, paths: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            if metadata.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                let shown = if target.is_absolute() && target != Path::new("/") {
                    String::new()
                } else {
                    format!(" {}", target.display())
                };
                paths.push(format!("{relative} ->{shown}"));
            } else if metadata.is_dir() {
                paths.push(format!("{relative}/"));
                walk(root, &path, paths);
            } else {
                paths.push(relative);
            }
        }
    }
    let mut paths = Vec::new();
    walk(root, root, &mut paths);
    paths.sort();
    paths
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// What one run printed and left in its scratch directory.
struct Run {
    how: &'static str,
    output: Output,
    /// `name size` of every file left in the scratch directory, sorted.
    files: Vec<String>,
}

/// Runs `program` with `args` natively in a fresh scratch directory and three ways
/// through kiln (see the module comment), and checks that every run exits with
/// `expected_code` and that kiln's runs print the same stdout and stderr as the native one
/// and leave the same files. Returns the native run.
fn check_against_native(program: &Program, args: &[&str], expected_code: i32) -> Run {
    let scratch = |how: &str| scratch_dir(&format!("{}-{}-{how}", program.id, args.join("-")));
    let in_dir = |how: &'static str, command: &mut Command, dir: PathBuf| {
        let output = run(command);
        let files = files_in(&dir);
        Run { how, output, files }
    };

    let dir = scratch("native");
    let native = in_dir(
        "native",
        Command::new(&program.native)
            .args(args)
            .env_clear()
            .current_dir(&dir),
        dir,
    );

    let dir = scratch("kiln-run");
    let grant = format!("{}::.", path_str(&dir));
    let kiln_run = in_dir(
        "kiln run --dir SCRATCH::.",
        Command::new(KILN)
            .args(["run", "--dir", &grant, path_str(&program.wasm)])
            .args(args),
        dir,
    );

    let executable = program.executable(&["--dir", ".::."]);
    let dir = scratch("kiln-build");
    let built = in_dir(
        "kiln build --dir .::.",
        Command::new(executable)
            .args(args)
            .env_clear()
            .current_dir(&dir),
        dir,
    );

    let dir = scratch("kiln-run-sandbox");
    let grant = format!("{}::/sandbox", path_str(&dir));
    let kiln_run_sandbox = in_dir(
        "kiln run --dir SCRATCH::/sandbox",
        Command::new(KILN)
            .args(["run", "--dir", &grant, path_str(&program.wasm), "/sandbox"])
            .args(args),
        dir,
    );

    assert_eq!(
        native.output.code,
        Some(expected_code),
        "native {}: exit code\n{}",
        program.id,
        native.output.describe()
    );
    for run in [&kiln_run, &built, &kiln_run_sandbox] {
        let context = format!(
            "{} {} (left) differs from the native run (right)\n{}: {}\nnative: {}",
            run.how,
            program.id,
            run.how,
            run.output.describe(),
            native.output.describe()
        );
        assert!(!run.output.stderr.contains("panicked"), "panic: {context}");
        assert_eq!(run.output.code, native.output.code, "exit code: {context}");
        assert_lines_eq(&run.output.stdout, &native.output.stdout, &context);
        assert_eq!(run.output.stderr, native.output.stderr, "stderr: {context}");
        assert_eq!(run.files, native.files, "files left behind: {context}");
    }
    native
}

/// `actual == expected`, reporting the first line that differs.
fn assert_lines_eq(actual: &str, expected: &str, context: &str) {
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
fn files_in(dir: &Path) -> Vec<String> {
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

// ---------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------

/// A test program built for wasm32-wasip1 and, unless it is wasm only, natively.
struct Program {
    /// `c-files`, `rust-files`, ...
    id: String,
    wasm: PathBuf,
    native: PathBuf,
    /// The `kiln build` executable (with the grants it was built with), built on first use.
    executable: OnceLock<Result<(Vec<String>, PathBuf), String>>,
}

impl Program {
    fn new(id: String, wasm: PathBuf, native: PathBuf) -> Program {
        Program {
            id,
            wasm,
            native,
            executable: OnceLock::new(),
        }
    }

    /// The program built by `kiln build` with `grants` (`--dir` options), once: every
    /// caller must ask for the same grants.
    fn executable(&self, grants: &[&str]) -> &Path {
        let built = self.executable.get_or_init(|| {
            let executable = scratch_dir(&format!("executable-{}", self.id)).join(&self.id);
            let mut args = vec!["build", path_str(&self.wasm), "-o", path_str(&executable)];
            args.extend(grants);
            let output = run_kiln(&args);
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

fn c_program(name: &str) -> &'static Program {
    static PROGRAMS: OnceLock<Result<BTreeMap<&'static str, Program>, String>> = OnceLock::new();
    let programs = PROGRAMS.get_or_init(build_c_programs);
    let programs = programs.as_ref().unwrap_or_else(|error| panic!("{error}"));
    &programs[name]
}

fn rust_program(name: &str) -> &'static Program {
    static PROGRAMS: OnceLock<Result<BTreeMap<&'static str, Program>, String>> = OnceLock::new();
    let programs = PROGRAMS.get_or_init(build_rust_programs);
    let programs = programs.as_ref().unwrap_or_else(|error| panic!("{error}"));
    &programs[name]
}

/// Builds the C programs with `clang --target=wasm32-wasi -O2`, compiling and linking in
/// two steps (see e2e.rs: so binaryen's `wasm-opt` cannot strip the name section), and
/// those that are not wasm only natively with `cc -O2`.
fn build_c_programs() -> Result<BTreeMap<&'static str, Program>, String> {
    // (name, also built natively)
    const C_PROGRAMS: [(&str, bool); 2] = [("files", true), ("sandbox", false)];
    let sources = programs_dir().join("c");
    let out = scratch_dir("c-programs");
    let mut programs = BTreeMap::new();
    for (name, native) in C_PROGRAMS {
        let source = sources.join(format!("{name}.c"));
        let object = out.join(format!("{name}.wasm.o"));
        let wasm = out.join(format!("{name}.wasm"));
        let native_path = out.join(name);
        build_step(
            Command::new("clang")
                .args(["--target=wasm32-wasi", "-O2", "-c"])
                .arg(&source)
                .arg("-o")
                .arg(&object),
            C_INSTALL_HINT,
        )?;
        build_step(
            Command::new("clang")
                .arg("--target=wasm32-wasi")
                .arg(&object)
                .arg("-o")
                .arg(&wasm),
            C_INSTALL_HINT,
        )?;
        if native {
            build_step(
                Command::new("cc")
                    .arg("-O2")
                    .arg(&source)
                    .arg("-o")
                    .arg(&native_path),
                "install a C compiler (`apt-get install gcc`)",
            )?;
        }
        programs.insert(name, Program::new(format!("c-{name}"), wasm, native_path));
    }
    Ok(programs)
}

/// Builds the Rust programs with `cargo build --release`, for wasm32-wasip1 and natively,
/// into `target/e2e-programs` (shared with e2e.rs; cargo's lock orders the two).
fn build_rust_programs() -> Result<BTreeMap<&'static str, Program>, String> {
    let manifest = programs_dir().join("rust").join("Cargo.toml");
    let target_dir = target_dir().join("e2e-programs");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|error| format!("running rustc: {error}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if !sysroot.join("lib/rustlib/wasm32-wasip1").is_dir() {
        return Err(format!(
            "the Rust standard library for wasm32-wasip1 is not in {}: {RUST_INSTALL_HINT}",
            sysroot.display()
        ));
    }

    for target in [Some("wasm32-wasip1"), None] {
        let mut command = Command::new(&cargo);
        command
            .args(["build", "--release", "--locked", "--bin", "files"])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            // The native build must land in target/e2e-programs/release.
            .env_remove("CARGO_BUILD_TARGET");
        if let Some(target) = target {
            command.args(["--target", target]);
        }
        build_step(&mut command, RUST_INSTALL_HINT)?;
    }

    let wasm = target_dir.join("wasm32-wasip1/release/files.wasm");
    let native = target_dir.join("release/files");
    Ok(BTreeMap::from([(
        "files",
        Program::new("rust-files".into(), wasm, native),
    )]))
}

/// Runs one build command; a failure says what to install.
fn build_step(command: &mut Command, install_hint: &str) -> Result<(), String> {
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

// ---------------------------------------------------------------------------------------
// Paths and processes
// ---------------------------------------------------------------------------------------

fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("tests")
        .join("programs")
}

/// The workspace's `target/` directory.
fn target_dir() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap()
}

/// A fresh, empty directory under `$CARGO_TARGET_TMPDIR/wasi-programs`.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("wasi-programs")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// What a finished process did.
struct Output {
    command: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Output {
    fn describe(&self) -> String {
        let mut text = format!("$ {}\nexit code: {:?}\n", self.command, self.code);
        for (name, stream) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let shown: String = stream.chars().take(6000).collect();
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

fn run_kiln(args: &[&str]) -> Output {
    run(Command::new(KILN).args(args))
}

/// Runs `command` with no stdin, capturing its output, and kills it after
/// [`COMMAND_TIMEOUT`].
fn run(command: &mut Command) -> Output {
    let description = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("starting `{description}`: {error}"));
    fn read_all(mut stream: impl Read) -> String {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }
    let stdout = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || read_all(stdout));
    let stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || read_all(stderr));

    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{description}` did not finish in {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        command: description,
        code: status.code(),
        stdout: stdout_reader.join().unwrap(),
        stderr: stderr_reader.join().unwrap(),
    }
}
