//! Wasmtime's WASI 0.2 guest programs (`../shared/corpora/wasmtime-test-programs`, the
//! `p2_*` binaries of its `crates/test-programs`) built for `wasm32-wasip2` and run as
//! components through `kiln run` and as executables `kiln build` makes of them with the
//! same flags baked in (a program passes when both runs pass), each set up the way
//! Wasmtime's own tests run it; and,
//! as Wasmtime's WASI 0.2 tests also do, its preview 1 programs (`p1_*`) built for
//! `wasm32-wasip1` and made components with the preview 1 command adapter
//! (wit-component and the `wasi-preview1-component-adapter-provider` crate):
//!
//! - the programs of `crates/wasi/tests/all/p2/sync.rs` (`p2_file_*`, `p2_random`,
//!   `p2_sleep`, `p2_clocks_*`, `p2_pollable_*`, `p2_stream_*`, `p2_adapter_badfd`, and the
//!   socket programs `p2_tcp_*`, `p2_udp_*`, `p2_ip_name_lookup`) get what
//!   `crates/wasi/tests/all/store.rs` gives them: the argument `.`, a fresh scratch
//!   directory preopened as `.`, `ERRNO_MODE_UNIX=1`, empty stdin (the `p1_*` programs
//!   of that file the same, `p1_stdio_isatty` left out: Wasmtime runs it only when its
//!   own stdio is a terminal); a few get a second
//!   preopen `readonly`, read-only (`--dir-read-only`, Wasmtime's `DirPerms::READ` and
//!   `FilePerms::READ`), holding a file whose contents must be unchanged afterwards. They
//!   pass by exiting 0, except those that must trap (`p2_pollable_traps`,
//!   `p2_stream_pollable_traps`, `p2_udp_send_too_much`: kiln's trap message is checked
//!   instead of Wasmtime's);
//! - the `p2_cli_*` programs get the `wasmtime run` flags of `tests/all/cli_tests.rs`
//!   translated to kiln's (`--dir HOST::GUEST`, `--env`, `--inherit-env`, `--timeout`):
//!   the same arguments, fixtures, environment and stdin, and the same checks of exit
//!   code, stdout, stderr and files left behind. Wasmtime's `-Scwd`, `-Smax-resources`,
//!   `-Shostcall-fuel` and `--argv0` become kiln's `--cwd`, `--max-resources`,
//!   `--hostcall-fuel` and `--argv0`; where a program must trap, kiln's message is checked
//!   instead of Wasmtime's.
//!
//! Out of scope, not run: the `http`, `serve`, `api`, `tls`, `nn` and `p3` programs (other
//! worlds than `wasi:cli/command`, or WASI 0.3), and Wasmtime's tests of its own host
//! limits (`p2_random_limits`' `-Smax-random-size`). The socket programs run with
//! `--inherit-network`, as Wasmtime's test store inherits the network.
//!
//! The programs are built once with cargo into `target/wasmtime-p2/` from a copy of the
//! corpus' crates and the workspace manifest and lock file of `tests/wasmtime-p2/` (the
//! crate takes its dependency versions from Wasmtime's workspace, which the corpus does
//! not carry; the copy also leaves out the crate's `nn` and `p3` modules, whose WIT is not
//! in the corpus and which none of these programs uses). cargo's cache makes the next
//! build a no-op. The `kiln` binary is the one beside this test (`$KILN` overrides it),
//! as for `wasi_testsuite.rs`.
//!
//! Known failures are in `expected-failures/wasmtime-p2.txt` as `<program>  # reason`; a
//! listed program that passes fails the run. Without the corpus the test says it was
//! skipped and claims no pass. The output ends `wasmtime-p2: N passed, M failed`.

use kiln_tests::{expected, process};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run of a program may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What Wasmtime's WASI tests put in every program's environment on Linux
/// (`test_programs_artifacts::wasi_tests_environment`).
const WASI_TESTS_ENV: &[(&str, &str)] = &[("ERRNO_MODE_UNIX", "1")];

/// The file Wasmtime's `run_with_readonly_testfile` puts in the `readonly` preopen.
const READONLY_FILE: (&str, &[u8]) = ("test.txt", b"read only test file\n");

/// What a preopened directory starts with.
#[derive(Clone)]
enum Fixture {
    /// A fresh directory with these entries: a path and its contents, or `None` for a
    /// directory.
    Fresh(Vec<(&'static str, Option<Vec<u8>>)>),
    /// A directory of the host, as it is (`/`).
    Host(&'static str),
}

/// A preopened directory: what it holds, its name in the guest and whether the guest may
/// only read it (`--dir-read-only` rather than `--dir`).
#[derive(Clone)]
struct Preopen {
    fixture: Fixture,
    guest: &'static str,
    read_only: bool,
}

/// Where stdin comes from.
#[derive(Clone)]
enum Stdin {
    Null,
    Bytes(&'static [u8]),
    /// An open directory (reads fail with EISDIR).
    Directory,
}

/// How the test talks to the running program.
#[derive(Clone, Copy)]
enum Interaction {
    /// Stdin as given, all output read to the end.
    Plain,
    /// Reads once from stdout (at most 64 bytes), then closes it: later writes fail with
    /// EPIPE.
    CloseStdoutEarly,
    /// Stdin is a pipe kept open; the first read of stdout must return exactly these
    /// bytes (the guest wrote them and waits for input), then stdout and stdin close.
    FirstRead(&'static [u8]),
}

/// How a run must end.
#[derive(Clone)]
enum Exit {
    Code(i32),
    /// Any exit but 0, with stderr containing this.
    FailureWith(&'static str),
}

/// One run of a program and what it must do.
#[derive(Clone)]
struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Environment of the `kiln` process itself (for `--inherit-env`).
    process_env: Vec<(String, String)>,
    flags: Vec<String>,
    preopens: Vec<Preopen>,
    stdin: Stdin,
    interaction: Interaction,
    exit: Exit,
    stdout: Option<String>,
    stderr_contains: Option<&'static str>,
    /// Files that must hold these bytes afterwards: preopen index, path, contents.
    files_after: Vec<(usize, &'static str, Vec<u8>)>,
    /// Prepares the first preopen's directory further before the run.
    setup: Option<fn(&Path) -> std::io::Result<()>>,
}

impl Run {
    /// A run with no arguments, grants or input that must exit 0.
    fn plain() -> Run {
        Run {
            args: Vec::new(),
            env: Vec::new(),
            process_env: Vec::new(),
            flags: Vec::new(),
            preopens: Vec::new(),
            stdin: Stdin::Null,
            interaction: Interaction::Plain,
            exit: Exit::Code(0),
            stdout: None,
            stderr_contains: None,
            files_after: Vec::new(),
            setup: None,
        }
    }

    /// How `crates/wasi/tests/all/p2/sync.rs` runs a program: the argument `.`, a fresh
    /// scratch directory preopened as `.`, the WASI tests' environment; exit 0.
    fn wasi_test() -> Run {
        Run {
            args: vec![".".into()],
            env: WASI_TESTS_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            preopens: vec![fresh(".", vec![])],
            ..Run::plain()
        }
    }

    /// [`Run::wasi_test`] with the network (`--inherit-network`).
    fn wasi_test_network() -> Run {
        Run {
            flags: vec!["--inherit-network".into()],
            ..Run::wasi_test()
        }
    }

    /// [`Run::wasi_test`] with a second preopen `readonly`, read-only as in Wasmtime,
    /// holding `file`, whose contents must be unchanged afterwards.
    fn wasi_test_readonly(file: (&'static str, &'static [u8])) -> Run {
        let mut run = Run::wasi_test();
        run.preopens.push(Preopen {
            read_only: true,
            ..fresh("readonly", vec![(file.0, Some(file.1.to_vec()))])
        });
        run.files_after.push((1, file.0, file.1.to_vec()));
        run
    }

    fn args(mut self, args: &[&str]) -> Run {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    fn env(mut self, name: &str, value: &str) -> Run {
        self.env.push((name.into(), value.into()));
        self
    }

    fn flags(mut self, flags: &[&str]) -> Run {
        self.flags = flags.iter().map(|f| f.to_string()).collect();
        self
    }

    fn preopen(mut self, preopen: Preopen) -> Run {
        self.preopens.push(preopen);
        self
    }

    fn stdin(mut self, bytes: &'static [u8]) -> Run {
        self.stdin = Stdin::Bytes(bytes);
        self
    }

    fn exit(mut self, exit: Exit) -> Run {
        self.exit = exit;
        self
    }

    fn stdout(mut self, stdout: impl Into<String>) -> Run {
        self.stdout = Some(stdout.into());
        self
    }

    fn stderr_contains(mut self, text: &'static str) -> Run {
        self.stderr_contains = Some(text);
        self
    }
}

fn fresh(guest: &'static str, entries: Vec<(&'static str, Option<Vec<u8>>)>) -> Preopen {
    Preopen {
        fixture: Fixture::Fresh(entries),
        guest,
        read_only: false,
    }
}

/// One program and its runs; it passes when every run does.
struct Case {
    program: &'static str,
    runs: Vec<Run>,
}

fn case(program: &'static str, runs: Vec<Run>) -> Case {
    Case { program, runs }
}

/// Every program and how to run it.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // crates/wasi/tests/all/p2/sync.rs
    for program in [
        "p2_sleep",
        "p2_random",
        "p2_stream_pollable_correct",
        "p2_pollable_correct",
        "p2_adapter_badfd",
        "p2_file_read_write",
        "p2_clocks_zero_wait",
    ] {
        cases.push(case(program, vec![Run::wasi_test()]));
    }
    // The socket programs: Wasmtime's test store inherits the network and allows name
    // lookup (`crates/wasi/tests/all/store.rs`), which is kiln's `--inherit-network`.
    for program in [
        "p2_ip_name_lookup",
        "p2_tcp_sockopts",
        "p2_tcp_sample_application",
        "p2_tcp_states",
        "p2_tcp_streams",
        "p2_tcp_bind",
        "p2_tcp_connect",
        "p2_tcp_listen",
        "p2_tcp_busy_poll",
        "p2_udp_sockopts",
        "p2_udp_sample_application",
        "p2_udp_states",
        "p2_udp_stream",
        "p2_udp_bind",
        "p2_udp_connect",
        "p2_udp_send_to_closed_receiver",
    ] {
        cases.push(case(program, vec![Run::wasi_test_network()]));
    }
    // Wasmtime checks the trap's message ("empty poll list", "resource has children",
    // "unpermitted: argument exceeds permitted size"); kiln's own messages say the same.
    for (program, message) in [
        ("p2_pollable_traps", "poll of an empty list of pollables"),
        (
            "p2_stream_pollable_traps",
            "dropped while 1 resource(s) made from it (pollables) live",
        ),
        (
            "p2_udp_send_too_much",
            "more than the 16 check-send permitted",
        ),
    ] {
        let run = match program {
            "p2_udp_send_too_much" => Run::wasi_test_network(),
            _ => Run::wasi_test(),
        };
        cases.push(case(program, vec![run.exit(Exit::FailureWith(message))]));
    }
    for program in [
        "p2_file_truncation_readonly",
        "p2_file_hardlink_across_perms",
        "p2_file_rename_across_perms",
    ] {
        cases.push(case(program, vec![Run::wasi_test_readonly(READONLY_FILE)]));
    }
    cases.push(case(
        "p2_file_stream_not_permitted",
        vec![Run::wasi_test_readonly((
            "stream-perms.txt",
            b"stream permission test\n",
        ))],
    ));

    // crates/wasi/tests/all/p2/sync.rs runs the preview 1 programs as components too,
    // built for wasm32-wasip1 and made components with the preview 1 adapter. Left out:
    // `p1_stdio_isatty`, which Wasmtime runs only when the test's own stdio is a
    // terminal.
    for program in [
        "p1_big_random_buf",
        "p1_clock_time_get",
        "p1_close_preopen",
        "p1_dangling_fd",
        "p1_dangling_symlink",
        "p1_directory_seek",
        "p1_dir_fd_op_failures",
        "p1_fd_advise",
        "p1_fd_filestat_get",
        "p1_fd_filestat_set",
        "p1_fd_flags_set",
        "p1_fd_readdir",
        "p1_file_allocate",
        "p1_file_pread_pwrite",
        "p1_file_read_write",
        "p1_file_seek_tell",
        "p1_file_truncation",
        "p1_file_unbuffered_write",
        "p1_interesting_paths",
        "p1_regular_file_isatty",
        "p1_nofollow_errors",
        "p1_overwrite_preopen",
        "p1_path_exists",
        "p1_path_filestat",
        "p1_path_link",
        "p1_path_open_create_existing",
        "p1_path_open_read_write",
        "p1_path_open_dirfd_not_dir",
        "p1_path_open_missing",
        "p1_path_open_nonblock",
        "p1_path_rename_dir_trailing_slashes",
        "p1_path_rename",
        "p1_path_symlink_trailing_slashes",
        "p1_poll_oneoff_files",
        "p1_poll_oneoff_stdio",
        "p1_readlink",
        "p1_remove_directory",
        "p1_remove_nonempty_directory",
        "p1_renumber",
        "p1_sched_yield",
        "p1_stdio",
        "p1_stdio_not_isatty",
        "p1_symlink_create",
        "p1_symlink_filestat",
        "p1_symlink_loop",
        "p1_unlink_file_trailing_slashes",
        "p1_path_open_preopen",
        "p1_unicode_output",
        "p1_file_write",
        "p1_path_open_lots",
        "p1_sleep_quickly_but_lots",
    ] {
        cases.push(case(program, vec![Run::wasi_test()]));
    }
    cases.push(case(
        "p1_stat_extreme_host_mtime",
        vec![Run {
            setup: Some(extreme_mtime_fixture),
            ..Run::wasi_test()
        }],
    ));
    for program in [
        "p1_file_truncation_readonly",
        "p1_file_hardlink_across_perms",
        "p1_file_rename_across_perms",
    ] {
        cases.push(case(program, vec![Run::wasi_test_readonly(READONLY_FILE)]));
    }

    // tests/all/cli_tests.rs
    let brillig = b"'Twas brillig, and the slithy toves.\n";
    let with_bar = |contents: &[u8]| fresh("/", vec![("bar.txt", Some(contents.to_vec()))]);
    let tumtum = b"So rested he by the Tumtum tree";
    cases.extend([
        case("p2_cli_hello_stdout", vec![Run::plain()]),
        case(
            "p2_cli_args",
            vec![Run::plain().args(&["hello", "this", "", "is an argument", "with 🚩 emoji"])],
        ),
        // Wasmtime: `-Scwd=/sandbox`.
        case(
            "p2_cli_initial_cwd",
            vec![Run::plain().flags(&["--cwd", "/sandbox"])],
        ),
        case(
            "p2_cli_stdin_empty",
            vec![Run::plain().stdin(b"not to be read")],
        ),
        case("p2_cli_stdin", vec![Run::plain().stdin(tumtum)]),
        case(
            "p2_cli_splice_stdin",
            vec![Run::plain().stdin(tumtum).stdout(format!(
                "before splice\n{}\ncompleted splicing {} bytes\n",
                String::from_utf8_lossy(tumtum),
                tumtum.len()
            ))],
        ),
        case(
            "p2_cli_stdout_epipe",
            vec![Run {
                interaction: Interaction::CloseStdoutEarly,
                ..Run::plain().stderr_contains("got expected StreamError::Closed")
            }],
        ),
        case(
            "p2_cli_stdin_eisdir",
            vec![Run {
                stdin: Stdin::Directory,
                ..Run::plain().stderr_contains("got expected ErrorCode::IsDirectory")
            }],
        ),
        case(
            "p2_cli_env",
            vec![Run::plain().env("frabjous", "day").env("callooh", "callay")],
        ),
        case(
            "p2_cli_file_read",
            vec![Run::plain().preopen(with_bar(b"And stood awhile in thought"))],
        ),
        case(
            "p2_cli_file_append",
            vec![Run {
                files_after: vec![(
                    0,
                    "bar.txt",
                    b"'Twas brillig, and the slithy toves.\n\
                      Did gyre and gimble in the wabe;\n\
                      All mimsy were the borogoves,\n\
                      And the mome raths outgrabe.\n"
                        .to_vec(),
                )],
                ..Run::plain().preopen(with_bar(brillig))
            }],
        ),
        case(
            "p2_cli_file_dir_sync",
            vec![Run::plain().preopen(with_bar(brillig))],
        ),
        case("p2_cli_exit_success", vec![Run::plain()]),
        case("p2_cli_exit_default", vec![Run::plain()]),
        case(
            "p2_cli_exit_failure",
            vec![Run::plain().exit(Exit::Code(1))],
        ),
        case(
            "p2_cli_exit_with_code",
            vec![Run::plain().exit(Exit::Code(42))],
        ),
        case(
            "p2_cli_exit_panic",
            vec![Run::plain().exit(Exit::FailureWith("Curiouser and curiouser!"))],
        ),
        case(
            "p2_cli_directory_list",
            vec![Run::plain().preopen(fresh(
                "/",
                vec![
                    ("foo.txt", Some(vec![])),
                    ("bar.txt", Some(vec![])),
                    ("baz.txt", Some(vec![])),
                    ("sub", None),
                    ("sub/wow.txt", Some(vec![])),
                    ("sub/yay.txt", Some(vec![])),
                ],
            ))],
        ),
        case("p2_cli_default_clocks", vec![Run::plain()]),
        case("p2_cli_export_cabi_realloc", vec![Run::plain()]),
        case(
            "p2_cli_stdio_write_flushes",
            vec![Run {
                interaction: Interaction::FirstRead(b"> "),
                ..Run::plain()
            }],
        ),
        // Wasmtime turns the network on but TCP, UDP or name lookup off; kiln, given no
        // network grant, denies all three.
        case("p2_cli_no_tcp", vec![Run::plain()]),
        case("p2_cli_no_udp", vec![Run::plain()]),
        case("p2_cli_no_ip_name_lookup", vec![Run::plain()]),
        case("p2_cli_sleep", vec![Run::plain()]),
        case(
            "p2_cli_sleep_forever",
            ["1ns", "250ms"]
                .iter()
                .map(|timeout| {
                    Run::plain()
                        .flags(&["--timeout", timeout])
                        .exit(Exit::FailureWith("interrupt"))
                })
                .collect(),
        ),
        case(
            "p2_cli_large_env",
            vec![Run {
                process_env: (0..512)
                    .map(|i| (format!("KEY{i}"), "x".repeat(1024)))
                    .collect(),
                ..Run::plain().flags(&["--inherit-env"])
            }],
        ),
        // Wasmtime: `--argv0=b ... b`.
        case(
            "p2_cli_argv0",
            vec![Run::plain().flags(&["--argv0", "b"]).args(&["b"])],
        ),
        case(
            "p2_cli_multiple_preopens",
            ["/a", "/b", "/c"]
                .iter()
                .fold(Run::plain(), |run, guest| {
                    run.preopen(Preopen {
                        fixture: Fixture::Host("/"),
                        guest,
                        read_only: false,
                    })
                })
                .pipe(|run| vec![run]),
        ),
        // Needs the component model's async ABI.
        case(
            "p2_cli_invoke_async",
            vec![Run::plain()
                .flags(&["--invoke", "echo"])
                .args(&["\"hello?\""])
                .stdout("\"hello?\"\n")],
        ),
        case(
            "p1_cli_much_stdout",
            (10..15)
                .map(|i| {
                    let total = 1 << 18;
                    Run::plain()
                        .args(&[&"a".repeat(1 << i), &(total >> i).to_string()])
                        .stdout("a".repeat(total))
                })
                .collect(),
        ),
        case(
            "p2_cli_much_stdout",
            (10..15)
                .map(|i| {
                    let total = 1 << 18;
                    Run::plain()
                        .args(&[&"a".repeat(1 << i), &(total >> i).to_string()])
                        .stdout("a".repeat(total))
                })
                .collect(),
        ),
        // Wasmtime: `-Smax-resources=50` must trap ("resource table has no free keys"),
        // `-Smax-resources=200` must not.
        case(
            "p2_cli_max_resources",
            vec![
                Run::plain()
                    .flags(&["--max-resources", "50"])
                    .exit(Exit::FailureWith("host resources, the most it may")),
                Run::plain().flags(&["--max-resources", "200"]),
            ],
        ),
        // Wasmtime: `-Smax-resources=100`, and the program must trap when it makes its
        // 101st resource (kiln: "wasi: the guest holds 100 host resources, the most it
        // may").
        case(
            "p2_cli_many_resources",
            vec![Run::plain()
                .flags(&["--max-resources", "100"])
                .exit(Exit::FailureWith("100 host resources, the most it may"))],
        ),
    ]);
    // Wasmtime: `-Shostcall-fuel=5000 -Sinherit-network --dir=D::.`, one run per
    // argument. Wasmtime's messages are "fuel allocated for hostcalls has been exhausted",
    // "cannot write more zeroes than `check_write` allows" and "Buffer too large"; kiln's
    // for the same traps are checked instead.
    let one_megabyte = fresh(".", vec![("1mb", Some(vec![0; 1024 * 1024]))]);
    let fuel = "hostcall fuel exhausted";
    cases.push(case(
        "p2_cli_hostcall_fuel",
        [
            ("poll", Some(fuel)),
            ("read", None),
            ("write", Some(fuel)),
            ("mkdir", Some(fuel)),
            ("write-stream", Some(fuel)),
            ("write-stream-blocking", Some(fuel)),
            ("resolve", Some(fuel)),
            ("udp-send-many", Some(fuel)),
            ("udp-send-big", Some(fuel)),
            ("write-zeroes", Some("more than the 1048576 permitted")),
            (
                "write-stream-buffer-too-large",
                Some("blocking-write-and-flush of 5000 bytes, more than the 4096 permitted"),
            ),
            (
                "write-zeroes-buffer-too-large",
                Some("blocking-write-zeroes-and-flush of 5000 bytes, more than the 4096 permitted"),
            ),
            ("read-file-big", None),
            ("read-tcp-big", None),
        ]
        .into_iter()
        .map(|(arg, failure)| {
            let run = Run {
                flags: vec![
                    "--hostcall-fuel".into(),
                    "5000".into(),
                    "--inherit-network".into(),
                ],
                ..Run::plain()
            };
            let run = run.args(&[arg]).preopen(one_megabyte.clone());
            match failure {
                Some(message) => run.exit(Exit::FailureWith(message)),
                None => run,
            }
        })
        .collect(),
    ));
    cases.sort_by_key(|case| case.program);
    cases
}

/// Wasmtime's `prepare_extreme_mtime_fixture`: `extreme.dat` holding `hello`, modified
/// and accessed at a time outside WASI's `i64` seconds where the host can set one (the
/// host may refuse or clamp it; the program only checks that stat does not crash).
fn extreme_mtime_fixture(dir: &Path) -> std::io::Result<()> {
    let path = dir.join("extreme.dat");
    std::fs::write(&path, b"hello")?;
    let extreme = std::time::SystemTime::UNIX_EPOCH
        .checked_sub(Duration::from_secs((i64::MAX as u64).saturating_add(1)))
        .or_else(|| std::time::SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(1)))
        .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
    let file = std::fs::File::options().write(true).open(&path)?;
    let times = std::fs::FileTimes::new()
        .set_modified(extreme)
        .set_accessed(extreme);
    // As in Wasmtime, a host that refuses the time still leaves the file to stat.
    let _ = file.set_times(times);
    Ok(())
}

/// `value.pipe(f)` is `f(value)`, for the end of a builder chain.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}

impl<T> Pipe for T {}

// ---------------------------------------------------------------------------------------
// Building the programs
// ---------------------------------------------------------------------------------------

/// Writes `contents` to `path` unless it already holds them, so that cargo sees an
/// unchanged file as unchanged.
fn write_if_changed(path: &Path, contents: &[u8]) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// Copies the tree `from` into `to`, file by file with [`write_if_changed`], leaving out
/// the paths `skip` names (files the caller writes itself, folders not wanted).
fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if skip(&source) {
            continue;
        }
        if source.is_dir() {
            copy_tree(&source, &target, skip)?;
        } else {
            let bytes = std::fs::read(&source).map_err(|e| format!("{}: {e}", source.display()))?;
            write_if_changed(&target, &bytes)?;
        }
    }
    Ok(())
}

/// Builds `programs` from the corpus at `corpus` into `build` (a workspace made there):
/// the `p2_*` ones for wasm32-wasip2, the `p1_*` ones for wasm32-wasip1, then made
/// components with the preview 1 adapter. Returns each program's component.
fn build_programs(
    corpus: &Path,
    build: &Path,
    programs: &[&str],
) -> Result<BTreeMap<String, PathBuf>, String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("wasmtime-p2");
    let artifacts = corpus.join("crates/test-programs/artifacts");
    let lib = corpus.join("crates/test-programs/src/lib.rs");
    for crate_name in [
        "test-programs",
        "wasi",
        "wasi-http",
        "wasi-config",
        "wasi-keyvalue",
        "wasi-tls",
    ] {
        copy_tree(
            &corpus.join("crates").join(crate_name),
            &build.join("crates").join(crate_name),
            // `artifacts` is not a member of this workspace (it needs Wasmtime itself);
            // `lib.rs` is written trimmed below, and copying it first would touch it.
            &|path| path == artifacts || path == lib,
        )?;
    }
    let source = std::fs::read_to_string(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    let mut trimmed = source.clone();
    for module in ["pub mod nn;\n", "pub mod p3;\n"] {
        if !trimmed.contains(module) {
            return Err(format!(
                "{} no longer declares `{}`: update build_programs",
                lib.display(),
                module.trim()
            ));
        }
        trimmed = trimmed.replace(module, "");
    }
    write_if_changed(
        &build.join("crates/test-programs/src/lib.rs"),
        trimmed.as_bytes(),
    )?;
    for (file, name) in [
        ("workspace.toml", "Cargo.toml"),
        ("Cargo.lock", "Cargo.lock"),
    ] {
        let path = here.join(file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        write_if_changed(&build.join(name), &bytes)?;
    }
    let (p1, p2): (Vec<&str>, Vec<&str>) = programs
        .iter()
        .partition(|program| program.starts_with("p1_"));
    let mut components = BTreeMap::new();
    if !p2.is_empty() {
        let folder = cargo_build(build, "wasm32-wasip2", &p2)?;
        for program in p2 {
            components.insert(program.to_string(), folder.join(format!("{program}.wasm")));
        }
    }
    if !p1.is_empty() {
        let folder = cargo_build(build, "wasm32-wasip1", &p1)?;
        for program in p1 {
            let component = build.join("adapted").join(format!("{program}.wasm"));
            adapt(&folder.join(format!("{program}.wasm")), &component)?;
            components.insert(program.to_string(), component);
        }
    }
    Ok(components)
}

/// `cargo build --release` of the binaries `programs` of the workspace `build` for
/// `target`; returns the folder they are in.
fn cargo_build(build: &Path, target: &str, programs: &[&str]) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--locked", "--target", target])
        .arg("--manifest-path")
        .arg(build.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(build.join("target"))
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    for program in programs {
        command.args(["--bin", program]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the test programs failed ({}): {command:?}\n{}\n(the {target} \
             target is needed: `rustup target add {target}`, as .ci/run does)",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(build.join("target").join(target).join("release"))
}

/// Makes the preview 1 module `module` a `wasi:cli/command` component at `component`
/// with the preview 1 command adapter, as Wasmtime's test-programs-artifacts do.
fn adapt(module: &Path, component: &Path) -> Result<(), String> {
    let bytes = std::fs::read(module).map_err(|e| format!("{}: {e}", module.display()))?;
    let encoded = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|encoder| {
            encoder.adapter(
                "wasi_snapshot_preview1",
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
            )
        })
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("encoding {} as a component: {e:?}", module.display()))?;
    write_if_changed(component, &encoded)
}

// ---------------------------------------------------------------------------------------
// Running them
// ---------------------------------------------------------------------------------------

/// Makes the fixture of every preopen of `run` under `dir`; returns each one's host path.
fn make_preopens(dir: &Path, run: &Run) -> Result<Vec<PathBuf>, String> {
    let mut hosts = Vec::new();
    for (index, preopen) in run.preopens.iter().enumerate() {
        match &preopen.fixture {
            Fixture::Host(path) => hosts.push(PathBuf::from(path)),
            Fixture::Fresh(entries) => {
                let host = dir.join(format!("preopen{index}"));
                std::fs::create_dir_all(&host).map_err(|e| format!("{}: {e}", host.display()))?;
                for (path, contents) in entries {
                    let path = host.join(path);
                    let made = match contents {
                        Some(bytes) => std::fs::write(&path, bytes),
                        None => std::fs::create_dir(&path),
                    };
                    made.map_err(|e| format!("{}: {e}", path.display()))?;
                }
                hosts.push(host);
            }
        }
    }
    if let (Some(setup), Some(host)) = (run.setup, hosts.first()) {
        setup(host).map_err(|e| format!("preparing {}: {e}", host.display()))?;
    }
    Ok(hosts)
}

/// How a program runs: through `kiln run`, or as the executable `kiln build` makes of it
/// with the same flags baked in.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    KilnRun,
    Executable,
}

/// Runs `run` of `wasm` in the fresh directory `dir` the way `mode` says; `Err` says what
/// went wrong.
fn check_run(
    kiln: &Path,
    wasm: &Path,
    dir: &Path,
    cache: &Path,
    run: &Run,
    mode: Mode,
) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let hosts = make_preopens(dir, run)?;
    let dirs: Vec<(PathBuf, String)> = hosts
        .iter()
        .zip(&run.preopens)
        .filter(|(_, preopen)| !preopen.read_only)
        .map(|(host, preopen)| (host.clone(), preopen.guest.to_string()))
        .collect();
    // kiln gives the guest the `--dir` preopens first, then the `--dir-read-only` ones:
    // the order of `run.preopens` as long as the read-only ones come last, as they do.
    let read_only_dirs = hosts
        .iter()
        .zip(&run.preopens)
        .filter(|(_, preopen)| preopen.read_only)
        .flat_map(|(host, preopen)| {
            [
                "--dir-read-only".to_string(),
                format!("{}::{}", host.display(), preopen.guest),
            ]
        });
    let mut grants = process::grant_flags(&run.env, &dirs);
    grants.extend(read_only_dirs);
    let mut command = match mode {
        Mode::KilnRun => {
            let mut command = Command::new(kiln);
            command
                .arg("run")
                .args(&run.flags)
                .args(&grants)
                .arg(wasm)
                .env("KILN_CACHE_DIR", cache);
            command
        }
        Mode::Executable => {
            // Outside the preopens (subdirectories of `dir`), so no program sees it.
            let executable = dir.join("program");
            let built = Command::new(kiln)
                .arg("build")
                .args(&run.flags)
                .args(&grants)
                .arg(wasm)
                .arg("-o")
                .arg(&executable)
                .output()
                .map_err(|e| format!("cannot run kiln build: {e}"))?;
            if !built.status.success() {
                return Err(format!(
                    "kiln build {} failed: {}",
                    run.flags.join(" "),
                    String::from_utf8_lossy(&built.stderr).trim()
                ));
            }
            Command::new(executable)
        }
    };
    command
        .args(&run.args)
        .current_dir(dir)
        .envs(run.process_env.iter().map(|(k, v)| (k, v)));
    let (code, stdout, stderr) = match run.interaction {
        Interaction::Plain => {
            let stdin_file = match &run.stdin {
                Stdin::Null => None,
                Stdin::Bytes(bytes) => {
                    let path = dir.join("stdin");
                    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                    Some(path)
                }
                Stdin::Directory => Some(dir.to_path_buf()),
            };
            process::run(command, stdin_file.as_deref(), TIMEOUT)?
        }
        Interaction::CloseStdoutEarly => run_interactively(command, None)?,
        Interaction::FirstRead(expected) => run_interactively(command, Some(expected))?,
    };
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let mut problems = Vec::new();
    match &run.exit {
        Exit::Code(expected) if code != *expected => {
            problems.push(format!("exit code {code}, expected {expected}"));
        }
        Exit::FailureWith(_) if code == 0 => {
            problems.push("exit code 0, expected a failure".into())
        }
        Exit::FailureWith(text) if !stderr.contains(text) => {
            problems.push(format!("stderr does not contain {text:?}"));
        }
        _ => {}
    }
    if let Some(expected) = &run.stdout {
        if &stdout != expected {
            let shown: String = stdout.chars().take(200).collect();
            problems.push(format!(
                "stdout ({} bytes) {shown:?}, expected {} bytes",
                stdout.len(),
                expected.len()
            ));
        }
    }
    if let Some(text) = run.stderr_contains {
        if !stderr.contains(text) {
            problems.push(format!("stderr does not contain {text:?}"));
        }
    }
    for (index, path, expected) in &run.files_after {
        let path = hosts[*index].join(path);
        match std::fs::read(&path) {
            Ok(bytes) if &bytes == expected => {}
            Ok(bytes) => problems.push(format!(
                "{} holds {:?}, expected {:?}",
                path.display(),
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(expected)
            )),
            Err(error) => problems.push(format!("{}: {error}", path.display())),
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let tail: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(4)
        .collect();
    let how = match mode {
        Mode::KilnRun => "kiln run",
        Mode::Executable => "executable built with",
    };
    Err(format!(
        "{} ({how} {} {}) [stderr: {}]",
        problems.join("; "),
        run.flags.join(" "),
        run.args
            .iter()
            .map(|a| if a.len() > 20 { "..." } else { a.as_str() })
            .collect::<Vec<_>>()
            .join(" "),
        tail.join(" | ")
    ))
}

/// Runs `command` with stdout and stdin as pipes and a first read of stdout (at most 64
/// bytes): with `expected`, that read must return exactly it; then stdout and stdin are
/// closed and the process waited for. Returns (exit code, what the first read got,
/// stderr).
fn run_interactively(
    mut command: Command,
    expected: Option<&[u8]>,
) -> Result<(i32, Vec<u8>, Vec<u8>), String> {
    let mut child = command
        .stdin(if expected.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let (stdin, mut stdout, mut stderr) = (
        child.stdin.take(),
        child.stdout.take().unwrap(),
        child.stderr.take().unwrap(),
    );
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).ok();
        bytes
    });
    let mut buffer = [0u8; 64];
    let read = stdout.read(&mut buffer).map_err(|e| e.to_string());
    drop(stdout);
    drop(stdin);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let first = buffer[..read.clone().unwrap_or(0)].to_vec();
    if let Some(expected) = expected {
        if first != expected {
            return Err(format!(
                "the first read of stdout got {:?} ({read:?}), expected {:?}",
                String::from_utf8_lossy(&first),
                String::from_utf8_lossy(expected)
            ));
        }
    }
    let code = status.code().unwrap_or(-1);
    Ok((code, first, err.join().unwrap()))
}

fn main() {
    let started = Instant::now();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let corpus = workspace.join("../shared/corpora/wasmtime-test-programs");
    if !corpus.join("crates/test-programs").is_dir() {
        println!(
            "wasmtime-p2: skipped: the corpus is not at {} (it comes with the ../shared \
             folder beside the repository); no test was run",
            corpus.display()
        );
        return;
    }
    let fail = |error: String| -> ! {
        eprintln!("wasmtime-p2: {error}");
        std::process::exit(1);
    };
    let kiln = process::kiln_binary().unwrap_or_else(|e| fail(e));
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|case| {
            filter
                .as_ref()
                .is_none_or(|filter| case.program.contains(filter.as_str()))
        })
        .collect();
    let scratch = workspace.join("target").join("wasmtime-p2");
    let programs: Vec<&str> = cases.iter().map(|case| case.program).collect();
    let components =
        build_programs(&corpus, &scratch.join("programs"), &programs).unwrap_or_else(|e| fail(e));
    let built = started.elapsed();
    let cache = scratch.join("cache");
    let results: Vec<(&str, Result<(), String>)> = cases
        .par_iter()
        .map(|case| {
            let wasm = &components[case.program];
            let result = case.runs.iter().enumerate().try_for_each(|(index, run)| {
                [Mode::KilnRun, Mode::Executable]
                    .into_iter()
                    .try_for_each(|mode| {
                        let dir = scratch
                            .join("runs")
                            .join(case.program)
                            .join(index.to_string());
                        check_run(&kiln, wasm, &dir, &cache, run, mode)
                    })
            });
            (case.program, result)
        })
        .collect();
    let (passed, failures) =
        expected::tally(results.iter().map(|(program, result)| (*program, result)));
    let mut expected = expected::load("wasmtime-p2");
    if filter.is_some() {
        expected.retain(|id, _| results.iter().any(|(ran, _)| ran == id));
    }
    let verdict = expected::report("wasmtime-p2", &expected, &failures);
    println!(
        "wasmtime-p2: {} programs ({} runs, each through kiln run and as an executable); {} \
         known failures; built in \
         {:.1}s, all in {:.1}s",
        results.len(),
        cases.iter().map(|case| case.runs.len()).sum::<usize>(),
        expected.len(),
        built.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    println!("wasmtime-p2: {passed} passed, {} failed", failures.len());
    if !verdict.ok() {
        std::process::exit(1);
    }
}
