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
//! `tests/programs/c/stdio.c` checks stdio through pipes natively, under `kiln run` and as
//! a `kiln build` executable: poll on an empty pipe times out, a non-blocking read fails
//! with EAGAIN, poll wakes for data and for EOF, 8 MiB go through stdin and stdout intact,
//! and writes to a pipe with no reader fail with EPIPE instead of killing the process.
//!
//! Needs what `cli/tests/e2e.rs` needs (clang, lld, wasi-libc, libclang-rt-dev-wasm32, the
//! wasm32-wasip1 Rust target; `.ci/run` installs them); a missing tool fails the test and
//! says what to install.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use support::{
    assert_lines_eq, build_c_programs, build_rust_programs, command_line, files_in, path_str,
    programs_dir, read_all, run, run_kiln, scratch_dir, target_dir, wait_with_deadline, Output,
    Program, COMMAND_TIMEOUT, KILN,
};

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
                run_kiln(&["run", "--dir", &grant, path_str(&program.wasm)], b"")
            }
            Some(executable) => run(Command::new(executable).env_clear().current_dir(&root), b""),
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
// stdio through pipes: poll, non-blocking reads, EOF, large reads and writes, EPIPE
// ---------------------------------------------------------------------------------------

/// `tests/programs/c/stdio.c poll` with stdin a pipe the test holds: poll times out on the
/// empty pipe, a non-blocking read fails with EAGAIN, poll wakes for a line and for the
/// writer closing, and read then returns 0.
#[test]
fn c_stdio_poll_empty_pipe_data_and_eof() {
    let runs = stdio_runs(&["poll"]).map(|(how, mut command)| (how, poll_dialogue(&mut command)));
    let (_, native) = &runs[0];
    assert_eq!(
        native.stdout,
        concat!(
            "empty pipe, 100 ms: poll=0 errno=OK ready=no, waited at least 100 ms: yes\n",
            "empty pipe, 0 ms: poll=0 errno=OK ready=no, waited at least 0 ms: yes\n",
            "set O_NONBLOCK: 0, now non-blocking: yes\n",
            "non-blocking read of the empty pipe: -1 EAGAIN\n",
            "ready for data\n",
            "data written: poll=1 errno=OK ready=yes\n",
            "read: 23 [hello through the pipe]\n",
            "read again: -1 EAGAIN\n",
            "ready for eof\n",
            "writer closed: poll=1 errno=OK ready=yes\n",
            "read at eof: 0 OK\n",
        ),
        "native run\n{}",
        native.describe()
    );
    check_same_as_native(&runs, 0);
}

/// 8 MiB (and a few odd-sized writes before it) to stdout through a pipe: every byte
/// arrives, in order.
#[test]
fn c_stdio_large_write_to_a_pipe() {
    const SIZE: usize = 8 << 20;
    let size = SIZE.to_string();
    for (how, mut command) in stdio_runs(&["write", &size]) {
        let (output, stdout) = run_with_stdin(&mut command, Vec::new());
        let context = format!("{how}\n{}", output.describe());
        assert_eq!(output.code, Some(0), "exit code: {context}");
        assert_eq!(output.stderr, format!("wrote {SIZE} bytes\n"), "{context}");
        assert_eq!(stdout.len(), SIZE, "bytes read from the pipe: {context}");
        // The pattern of stdio.c: byte `offset` is `offset ^ offset >> 8 ^ offset >> 16`.
        let wrong = (0..SIZE)
            .find(|&offset| stdout[offset] != (offset ^ (offset >> 8) ^ (offset >> 16)) as u8);
        assert_eq!(wrong, None, "first wrong byte: {context}");
    }
}

/// 8 MiB and 3 bytes from stdin through a pipe, read with 1 MiB reads to EOF.
#[test]
fn c_stdio_large_read_from_a_pipe() {
    let mut input = Vec::with_capacity((8 << 20) + 3);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    while input.len() < input.capacity() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        input.push((state >> 32) as u8);
    }
    let runs = stdio_runs(&["read"]).map(|(how, mut command)| {
        let (output, _) = run_with_stdin(&mut command, input.clone());
        (how, output)
    });
    let (_, native) = &runs[0];
    assert!(
        native.stdout.starts_with("read 8388611 bytes, fnv1a="),
        "native run\n{}",
        native.describe()
    );
    check_same_as_native(&runs, 0);
}

/// Writes to a pipe whose reading end is closed fail with EPIPE; the guest is not killed
/// by SIGPIPE (the test starts every run with SIGPIPE at its default action, as
/// `std::process::Command` does) and exits with its own code.
#[test]
fn c_stdio_broken_pipe_is_epipe() {
    let runs = stdio_runs(&["epipe"]).map(|(how, mut command)| (how, broken_pipe(&mut command)));
    let (_, native) = &runs[0];
    assert_eq!(
        native.stderr,
        concat!(
            "small write to a closed pipe: -1 EPIPE\n",
            "large write to a closed pipe: -1 EPIPE\n",
            "again write to a closed pipe: -1 EPIPE\n",
            "still running\n",
        ),
        "native run\n{}",
        native.describe()
    );
    check_same_as_native(&runs, 3);
}

/// `stdio.c` with `args` natively, under `kiln run` and as a `kiln build` executable, in
/// that order; each command still needs its stdio set.
fn stdio_runs(args: &[&str]) -> [(&'static str, Command); 3] {
    let program = c_program("stdio");
    let mut native = Command::new(&program.native);
    native.args(args).env_clear();
    let mut kiln_run = Command::new(KILN);
    kiln_run.args(["run", path_str(&program.wasm)]).args(args);
    let mut built = Command::new(program.executable(&[]));
    built.args(args).env_clear();
    [
        ("native", native),
        ("kiln run", kiln_run),
        ("kiln build", built),
    ]
}

/// Every run exited with `expected_code` and printed what the first (native) one did.
fn check_same_as_native(runs: &[(&str, Output)], expected_code: i32) {
    let (_, native) = &runs[0];
    for (how, output) in runs {
        let context = format!(
            "{how} (left) differs from the native run (right)\n{how}: {}\nnative: {}",
            output.describe(),
            native.describe()
        );
        assert_eq!(output.code, Some(expected_code), "exit code: {context}");
        assert_lines_eq(&output.stdout, &native.stdout, &context);
        assert_eq!(output.stderr, native.stderr, "stderr: {context}");
    }
}

/// Runs `stdio poll`: waits for `ready for data`, writes a line to its stdin, waits for
/// `ready for eof`, closes its stdin, and collects the rest.
fn poll_dialogue(command: &mut Command) -> Output {
    let description = command_line(command);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("starting `{description}`: {error}"));
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take().unwrap();
    // Chunks of stdout as they come, so that the test can wait for a line with a deadline.
    let (sender, chunks) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buffer) {
            if sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || read_all(stderr));

    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let mut seen = Vec::new();
    let mut wait_for = |marker: &str, seen: &mut Vec<u8>| {
        while !seen.ends_with(marker.as_bytes()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match chunks.recv_timeout(left) {
                Ok(chunk) => seen.extend(chunk),
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "`{description}` never printed {marker:?}; it printed\n{}",
                        String::from_utf8_lossy(seen)
                    );
                }
            }
        }
    };
    wait_for("ready for data\n", &mut seen);
    stdin
        .as_mut()
        .unwrap()
        .write_all(b"hello through the pipe\n")
        .unwrap();
    wait_for("ready for eof\n", &mut seen);
    drop(stdin.take());
    let status = wait_with_deadline(&mut child, deadline, &description);
    seen.extend(chunks.iter().flatten());
    Output {
        command: description,
        code: status.code(),
        status,
        stdout: String::from_utf8_lossy(&seen).into_owned(),
        stderr: stderr_reader.join().unwrap(),
    }
}

/// Runs `command` with `input` written to its stdin (then closed) and returns what it did
/// with its stdout as bytes (the `Output`'s stdout is those bytes as text).
fn run_with_stdin(command: &mut Command, input: Vec<u8>) -> (Output, Vec<u8>) {
    let description = command_line(command);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("starting `{description}`: {error}"));
    let mut stdin = child.stdin.take().unwrap();
    // A program that stops reading early makes this fail with EPIPE; its output says so.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || read_all(stderr));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = wait_with_deadline(&mut child, deadline, &description);
    let _ = writer.join().unwrap();
    let stdout = stdout_reader.join().unwrap();
    let output = Output {
        command: description,
        code: status.code(),
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: stderr_reader.join().unwrap(),
    };
    (output, stdout)
}

/// Runs `command` with the reading end of its stdout closed before its stdin reaches EOF.
fn broken_pipe(command: &mut Command) -> Output {
    let description = command_line(command);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("starting `{description}`: {error}"));
    // The child holds the only writing end of stdout; dropping ours of the reading end
    // leaves the pipe with no reader. Then EOF on stdin lets the program write.
    drop(child.stdout.take());
    drop(child.stdin.take());
    let stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || read_all(stderr));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = wait_with_deadline(&mut child, deadline, &description);
    Output {
        command: description,
        code: status.code(),
        status,
        stdout: String::new(),
        stderr: stderr_reader.join().unwrap(),
    }
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
        let output = run(command, b"");
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

// ---------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------

/// The C programs; `sandbox` is wasm only.
fn c_program(name: &str) -> &'static Program {
    const C_PROGRAMS: &[(&str, bool)] = &[("files", true), ("sandbox", false), ("stdio", true)];
    static PROGRAMS: OnceLock<Result<BTreeMap<&'static str, Program>, String>> = OnceLock::new();
    let programs = PROGRAMS.get_or_init(|| build_c_programs(C_PROGRAMS));
    let programs = programs.as_ref().unwrap_or_else(|error| panic!("{error}"));
    &programs[name]
}

/// The Rust programs, built into `target/e2e-programs` (shared with e2e.rs; cargo's lock
/// orders the two).
fn rust_program(name: &str) -> &'static Program {
    const RUST_PROGRAMS: &[&str] = &["files"];
    static PROGRAMS: OnceLock<Result<BTreeMap<&'static str, Program>, String>> = OnceLock::new();
    let programs = PROGRAMS.get_or_init(|| {
        let target_dir = target_dir().join("e2e-programs");
        build_rust_programs(&target_dir, RUST_PROGRAMS)?;
        Ok(RUST_PROGRAMS
            .iter()
            .map(|&name| (name, Program::rust(&target_dir, name)))
            .collect())
    });
    let programs = programs.as_ref().unwrap_or_else(|error| panic!("{error}"));
    &programs[name]
}
