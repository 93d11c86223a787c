//! End-to-end tests of the `kiln` command: real programs in C, Rust and WAT
//! (`tests/programs/`) are built for wasm32-wasip1 and natively, and every program's native
//! run, `kiln build` executable and `kiln run` must agree on stdout, stderr and exit code.
//! Trap programs must exit with 134, the spec's message and a backtrace naming their
//! functions; bad input must exit with 1 and a one-line message, never a panic; `kiln
//! compile` must write an ELF relocatable object with the wasm functions' names; `kiln
//! inspect` and `kiln run --invoke` are checked on a small library module.
//!
//! The C programs need `clang`, `lld` (`wasm-ld`), `wasi-libc` and `libclang-rt-dev-wasm32`
//! (Debian package names); the Rust programs need `rustup target add wasm32-wasip1`. A
//! missing tool fails the test with a message saying what to install: `.ci/run` installs
//! all of them. Each program is built once per test run (`OnceLock`), into
//! `target/e2e-programs` (Rust) and `$CARGO_TARGET_TMPDIR/e2e` (everything else).

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use support::{
    assert_success, build_c_programs, build_rust_programs, path_str, repository_root, run,
    run_kiln, scratch_dir, target_dir, wat_program, Program, KILN,
};

/// Exit code of a guest that trapped.
const TRAP_EXIT_CODE: i32 = 134;
/// Exit code of kiln's own errors (bad input, I/O).
const KILN_ERROR_EXIT_CODE: i32 = 1;

/// (name, also built natively): every C program is.
const C_PROGRAMS: &[(&str, bool)] = &[
    ("hello", true),
    ("args", true),
    ("stdin", true),
    ("compute", true),
];
const RUST_PROGRAMS: &[&str] = &["hello", "args", "compute", "options"];

// ---------------------------------------------------------------------------------------
// C programs
// ---------------------------------------------------------------------------------------

#[test]
fn c_hello() {
    let program = c_program("hello");
    check(program, &[], Some("Hello, world!\n"), 0);
    // The second `kiln run` of the same module is served from the cache.
    check(program, &[], Some("Hello, world!\n"), 0);
}

#[test]
fn c_args_and_exit_codes() {
    let program = c_program("args");
    check(program, &[], Some("argc=1 environ=0\n"), 0);
    check(
        program,
        &["3", "hello", "two words", "--flag", "-x", ""],
        Some(concat!(
            "argc=7 environ=0\n",
            "argv[1]=\"3\"\n",
            "argv[2]=\"hello\"\n",
            "argv[3]=\"two words\"\n",
            "argv[4]=\"--flag\"\n",
            "argv[5]=\"-x\"\n",
            "argv[6]=\"\"\n",
        )),
        3,
    );
    check(
        program,
        &["x42", "deep"],
        Some(concat!(
            "argc=3 environ=0\n",
            "argv[1]=\"x42\"\n",
            "argv[2]=\"deep\"\n",
            "exiting early with 42\n",
        )),
        42,
    );
}

#[test]
fn c_stdin() {
    let program = c_program("stdin");
    let mut input = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for line in 0..2000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        writeln!(input, "line {line}: {state:x}").unwrap();
        input.push((state >> 56) as u8);
    }
    check_with_stdin(program, &[], &input, None, 0);
    check_with_stdin(
        program,
        &[],
        b"",
        Some("bytes=0 lines=0 fnv1a=cbf29ce484222325\n"),
        0,
    );
}

#[test]
fn c_compute() {
    let stdout = check(c_program("compute"), &[], None, 0);
    assert!(stdout.contains("clocks: ok\n"), "{stdout}");
    assert!(stdout.contains("random: ok\n"), "{stdout}");
}

// ---------------------------------------------------------------------------------------
// Rust programs
// ---------------------------------------------------------------------------------------

#[test]
fn rust_hello() {
    check(rust_program("hello"), &[], Some("Hello from Rust!\n"), 0);
}

#[test]
fn rust_args_and_exit_codes() {
    let program = rust_program("args");
    check(program, &[], Some("args=0 environ=0\n"), 0);
    check(
        program,
        &["7", "über", "--help", "a b"],
        Some(concat!(
            "args=4 environ=0\n",
            "arg[1]=\"7\"\n",
            "arg[2]=\"über\"\n",
            "arg[3]=\"--help\"\n",
            "arg[4]=\"a b\"\n",
            "exiting with 7\n",
        )),
        7,
    );
    check(
        program,
        &["0"],
        Some("args=1 environ=0\narg[1]=\"0\"\nexiting with 0\n"),
        0,
    );
}

#[test]
fn rust_compute() {
    let stdout = check(rust_program("compute"), &[], None, 0);
    assert!(stdout.contains("clocks: ok\n"), "{stdout}");
}

// ---------------------------------------------------------------------------------------
// Traps
// ---------------------------------------------------------------------------------------

#[test]
fn trap_integer_divide_by_zero() {
    let stdout = check_trap(
        "divide_by_zero",
        "integer divide by zero",
        &["divide", "average", "_start"],
        Backtrace::Whole,
    );
    assert_eq!(
        stdout, "before the trap\n",
        "stdout written before the trap"
    );
}

#[test]
fn trap_out_of_bounds_memory_access() {
    check_trap(
        "out_of_bounds",
        "out of bounds memory access",
        &["load_at", "lookup", "_start"],
        Backtrace::Whole,
    );
}

#[test]
fn trap_unreachable() {
    check_trap(
        "unreachable",
        "unreachable",
        &["fail", "validate", "_start"],
        Backtrace::Whole,
    );
}

#[test]
fn trap_behind_tail_calls_has_no_replaced_frames() {
    // `check` and `relay` were replaced by their tail calls: the backtrace skips them.
    check_trap(
        "tail_call_trap",
        "unreachable",
        &["fail", "validate", "_start"],
        Backtrace::Whole,
    );
    let output = run_kiln(&["run", path_str(&wat_program("tail_call_trap"))], b"");
    let frames: Vec<_> = output
        .stderr
        .lines()
        .skip_while(|line| !line.starts_with("wasm backtrace:"))
        .skip(1)
        .map(frame_name)
        .collect();
    assert_eq!(
        frames,
        [Some("fail"), Some("validate"), Some("_start")],
        "{}",
        output.describe()
    );
}

#[test]
fn uncaught_exception_exits_134_naming_its_tag() {
    let stdout = check_trap(
        "uncaught_exception",
        "uncaught exception: tag invalid_input",
        &["fail", "validate", "_start"],
        Backtrace::Whole,
    );
    assert_eq!(
        stdout, "caught 7\n",
        "the exception caught before the uncaught one"
    );
}

#[test]
fn trap_reports_demangle_rust_and_cpp_names() {
    // The name section holds a C++ name, a Rust legacy name (with its hash) and a Rust v0
    // name, as a C++ or Rust guest's would; the report shows them demangled.
    check_trap(
        "mangled_names",
        "unreachable",
        &["divide(int, int)", "calc::average", "calc::run"],
        Backtrace::Whole,
    );
}

#[test]
fn trap_reports_name_functions_from_compressed_names() {
    // A Rust program's names (its standard library's) are long enough that the metadata
    // stores them compressed (`kiln_abi::packed`): the executable links their unpacking,
    // which runs only when the trap is reported. `options open` without a count panics
    // (an index out of bounds), and Rust's panic aborts with `unreachable`.
    let program = rust_program("options");
    let scratch = scratch_dir("trap-compressed-names");
    let executable = scratch.join("options");
    let output = run_kiln(
        &[
            "build",
            path_str(&program.wasm),
            "-o",
            path_str(&executable),
        ],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let symbols = elf_symbols(&std::fs::read(&executable).unwrap()).unwrap();
    assert!(
        symbols.iter().any(|symbol| symbol == "kiln_unpack_names"),
        "the names must be stored compressed, so the executable unpacks them"
    );
    let built = run(Command::new(&executable).arg("open").env_clear(), b"");
    let kiln_run = run_kiln(&["run", path_str(&program.wasm), "open"], b"");
    for (how, output) in [("kiln build", &built), ("kiln run", &kiln_run)] {
        assert_eq!(
            output.code,
            Some(TRAP_EXIT_CODE),
            "{how}: {}",
            output.describe()
        );
        let frames: Vec<&str> = output
            .stderr
            .lines()
            .skip_while(|line| *line != "wasm backtrace:")
            .filter_map(frame_name)
            .collect();
        let mut remaining = frames.iter();
        for frame in [
            "std::process::abort",
            "core::panicking::panic_bounds_check",
            "options::main",
            "_start",
        ] {
            assert!(
                remaining.any(|name| *name == frame),
                "{how}: the backtrace must name {frame:?} in order: {}",
                output.describe()
            );
        }
    }
    // The module's name comes from its name section, so both reports are the same.
    assert_eq!(built.stderr, kiln_run.stderr);
}

#[test]
fn trap_call_stack_exhausted() {
    // Thousands of `recurse` frames: the report keeps the innermost and says it stops.
    check_trap(
        "stack_overflow",
        "call stack exhausted",
        &["recurse"],
        Backtrace::Truncated,
    );
}

/// A small stack (`ulimit -s 512`, as on devices and in some containers) leaves wasm less
/// room, but room: the wasm stack limit comes from where the stack really ends. Before, it
/// came from a guess of how much was used above it, which left none, and even a module
/// that only printed reported "call stack exhausted". Deep recursion still ends in that
/// trap, not in a crash, for executables of both libcs and for `kiln run`.
#[test]
fn small_stacks_run_wasm_and_recursion_still_traps() {
    let scratch = scratch_dir("small-stack");
    let source = scratch.join("print.wat");
    std::fs::write(
        &source,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "\00\01\00\00\03\00\00\00")
             (data (i32.const 256) "ok\0a")
             (func $deep (param i32) (result i32)
               (if (result i32) (i32.eqz (local.get 0))
                 (then (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
                 (else (call $deep (i32.sub (local.get 0) (i32.const 1))))))
             (func (export "_start") (drop (call $deep (i32.const 1000)))))"#,
    )
    .unwrap();
    let overflow = wat_program("stack_overflow");
    for (name, module) in [
        ("print", source.as_path()),
        ("overflow", overflow.as_path()),
    ] {
        let mut runs: Vec<(String, Vec<String>)> = vec![(
            format!("kiln run {name}"),
            vec![KILN.into(), "run".into(), path_str(module).into()],
        )];
        for target in ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"] {
            let executable = scratch.join(format!("{name}-{target}"));
            let output = run_kiln(
                &[
                    "build",
                    "--target",
                    target,
                    path_str(module),
                    "-o",
                    path_str(&executable),
                ],
                b"",
            );
            if output.code != Some(0) && output.stderr.contains("rustup target add") {
                eprintln!("skipped {target}: {}", output.stderr.trim());
                continue;
            }
            assert_eq!(output.code, Some(0), "{}", output.describe());
            runs.push((
                format!("{name} built for {target}"),
                vec![path_str(&executable).into()],
            ));
        }
        for (what, command) in runs {
            let script = format!("ulimit -s 512 && exec {}", command.join(" "));
            let output = run(Command::new("sh").args(["-c", &script]), b"");
            if name == "print" {
                assert_eq!(
                    (output.code, output.stdout.as_str()),
                    (Some(0), "ok\n"),
                    "{what}: {}",
                    output.describe()
                );
            } else {
                assert_eq!(output.code, Some(134), "{what}: {}", output.describe());
                assert!(
                    output.stderr.contains("call stack exhausted"),
                    "{what}: {}",
                    output.describe()
                );
            }
        }
    }
}

/// Exit codes WASI allows (0..126) pass through; a larger one is an error naming it, exit
/// status 1, as Wasmtime does: passed on as `code & 0xff`, 134 looked like a trap, 139 like
/// a crash and 256 like success.
#[test]
fn exit_codes_outside_wasi_range_are_errors() {
    let scratch = scratch_dir("exit-codes");
    for code in [0u32, 1, 125, 126, 134, 139, 255, 256, u32::MAX] {
        let source = scratch.join(format!("exit-{code}.wat"));
        std::fs::write(
            &source,
            format!(
                r#"(module
                     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                     (memory (export "memory") 1)
                     (func (export "_start") (call $exit (i32.const {code}))))"#,
                code = code as i32
            ),
        )
        .unwrap();
        let executable = scratch.join(format!("exit-{code}"));
        let built = run_kiln(
            &["build", path_str(&source), "-o", path_str(&executable)],
            b"",
        );
        assert_eq!(built.code, Some(0), "{}", built.describe());
        for output in [
            run_kiln(&["run", path_str(&source)], b""),
            run(&mut Command::new(&executable), b""),
        ] {
            let context = output.describe();
            if code < 126 {
                assert_eq!(output.code, Some(code as i32), "{context}");
                assert_eq!(output.stderr, "", "{context}");
            } else {
                assert_eq!(output.code, Some(1), "{context}");
                assert!(
                    output
                        .stderr
                        .contains(&format!("invalid exit status {code}")),
                    "{context}"
                );
                assert!(!output.stderr.contains("wasm trap"), "{context}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Memory images
// ---------------------------------------------------------------------------------------

/// A module whose 70 KB of data makes a memory image (mapped from the executable file by
/// a built executable, copied by `kiln run`): `_start` changes the first byte (a private
/// copy-on-write page), writes the whole data to stdout, then waits for stdin to close, so
/// that the test can look at the built executable's mappings meanwhile.
#[test]
fn data_in_a_memory_image_is_the_modules_and_private() {
    let line = "the bytes of a memory image, one line of many\n";
    let data = line.repeat(70_000 / line.len());
    let wat = format!(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_read"
               (func $fd_read (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 3)
             ;; iovec {{ base = 0, len = 1 }} at 32, for reading stdin
             (data (i32.const 32) "\00\00\00\00\01\00\00\00")
             ;; iovec {{ base = 65536, len }} at 16
             (data (i32.const 16) "\00\00\01\00{len}")
             (data (i32.const 65536) "{data}")
             (func (export "_start")
               (i32.store8 (i32.const 65536) (i32.const 84)) ;; 'T'
               (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
               (drop (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 8)))))"#,
        len = (data.len() as u32)
            .to_le_bytes()
            .iter()
            .map(|byte| format!("\\{byte:02x}"))
            .collect::<String>(),
        data = data.replace('\n', "\\0a"),
    );
    let scratch = scratch_dir("memory-image");
    let source = scratch.join("image.wat");
    std::fs::write(&source, wat).unwrap();
    let expected = format!("T{}", &data[1..]);

    let kiln_run = run_kiln(&["run", path_str(&source)], b"");
    assert_eq!(kiln_run.code, Some(0), "{}", kiln_run.describe());
    assert!(kiln_run.stdout == expected, "kiln run: stdout differs");
    let glibc = host_targets()[0].clone();
    for target in host_targets() {
        let executable = scratch.join(format!("image-{target}"));
        build_for_target(&source, &target, &executable);
        let mut child = Command::new(&executable)
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = vec![0u8; expected.len()];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        // Still running: its memory's first pages are the executable's, mapped privately.
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", child.id())).unwrap();
        drop(child.stdin.take());
        let status = child.wait().unwrap();
        assert!(status.success(), "{target}: {status}");
        assert!(stdout == expected.as_bytes(), "{target}: stdout differs");
        // The image: from the memory's start to the end of the data rounded up to the
        // target's granule (`memory_image_granule`; the executable's own .data is mapped
        // the same way, but is far smaller).
        let granule = if cfg!(target_arch = "x86_64") {
            4096
        } else {
            16384
        };
        let image_len = (65536 + data.len() as u64).next_multiple_of(granule);
        let name = executable
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let image_mapping = maps.lines().any(|line| {
            let mut fields = line.split(' ');
            let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
                return false;
            };
            let (from, to) = range.split_once('-').unwrap();
            let length =
                u64::from_str_radix(to, 16).unwrap() - u64::from_str_radix(from, 16).unwrap();
            perms == "rw-p" && line.ends_with(&*name) && length == image_len
        });
        assert!(
            image_mapping,
            "{target}: no private writable mapping of {image_len} B of the executable:\n{maps}"
        );
    }
    // Started through the dynamic loader, /proc/self/exe is the loader, not the program:
    // the image must be copied then, not mapped from the wrong file.
    let loader = if cfg!(target_arch = "x86_64") {
        "/lib64/ld-linux-x86-64.so.2"
    } else {
        "/lib/ld-linux-aarch64.so.1"
    };
    let through_loader = run(
        Command::new(loader).arg(scratch.join(format!("image-{glibc}"))),
        b"",
    );
    assert_eq!(
        through_loader.code,
        Some(0),
        "{}",
        through_loader.describe()
    );
    assert!(
        through_loader.stdout == expected,
        "through {loader}: stdout differs"
    );
}

#[test]
fn bulk_memory_beside_functions_named_like_libc() {
    // memory.copy and memory.fill call the C library's memmove and memset; the module's own
    // functions of those names must not capture the calls, through kiln run's loader or
    // through the system linker.
    let source = wat_program("bulk_memory");
    let invoked = run_kiln(&["run", "--invoke", "check", path_str(&source)], b"");
    assert_eq!(
        (invoked.code, invoked.stdout.as_str()),
        (Some(0), "93\n"),
        "{}",
        invoked.describe()
    );
    let executable = scratch_dir("bulk-memory").join("bulk_memory");
    let output = run_kiln(
        &["build", path_str(&source), "-o", path_str(&executable)],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let built = run(Command::new(&executable).env_clear(), b"");
    assert_eq!(
        built.code,
        Some(0),
        "`_start` checks 93: {}",
        built.describe()
    );
    for (export, innermost) in [
        ("copy_out_of_bounds", "memmove"),
        ("fill_out_of_bounds", "memset"),
    ] {
        let output = run_kiln(&["run", "--invoke", export, path_str(&source)], b"");
        let context = format!("{export}\n{}", output.describe());
        assert_eq!(output.code, Some(TRAP_EXIT_CODE), "{context}");
        let mut lines = output.stderr.lines();
        assert!(
            lines.any(|line| line.trim_end() == "wasm trap: out of bounds memory access"),
            "{context}"
        );
        let frame = lines
            .skip_while(|line| !line.starts_with("wasm backtrace:"))
            .nth(1);
        assert!(
            frame.is_some_and(|line| names_word(line, innermost)),
            "innermost frame {innermost}: {context}"
        );
    }
}

/// Programs over 64-bit and several memories (`tests/programs/wat/memory64.wat`,
/// `multi_memory.wat`): `check`'s result under `kiln run`, in both memory layouts, and
/// `_start` (which traps unless `check` is right) as built glibc and static musl
/// executables; the out-of-bounds exports trap.
#[test]
fn memory64_and_multi_memory_programs() {
    for (name, expected, traps) in [
        (
            "memory64",
            "905932800\n",
            &["out_of_bounds", "past_4_gib"][..],
        ),
        ("multi_memory", "544\n", &["out_of_bounds"][..]),
    ] {
        let source = wat_program(name);
        for layout in [&[][..], &["--bounds-checks"][..]] {
            let mut args = vec!["run"];
            args.extend_from_slice(layout);
            let invoked = run_kiln(
                &[&args[..], &["--invoke", "check", path_str(&source)]].concat(),
                b"",
            );
            assert_eq!(
                (invoked.code, invoked.stdout.as_str()),
                (Some(0), expected),
                "{name} {layout:?}: {}",
                invoked.describe()
            );
            for export in traps {
                let output = run_kiln(
                    &[&args[..], &["--invoke", export, path_str(&source)]].concat(),
                    b"",
                );
                let context = format!("{name} {export} {layout:?}: {}", output.describe());
                assert_eq!(output.code, Some(TRAP_EXIT_CODE), "{context}");
                assert!(
                    output
                        .stderr
                        .lines()
                        .any(|line| line.trim_end() == "wasm trap: out of bounds memory access"),
                    "{context}"
                );
            }
        }
        for target in host_targets() {
            let executable = scratch_dir(&format!("{name}-program")).join(&target);
            build_for_target(&source, &target, &executable);
            let output = run(Command::new(&executable).env_clear(), b"");
            assert_eq!(
                output.code,
                Some(0),
                "{name} {target}: {}",
                output.describe()
            );
        }
    }
}

#[test]
fn overlapping_memory_copies_on_every_libc() {
    // memory.copy calls the C library's memmove; static musl executables get kiln's own
    // (`runtime/src/musl_memmove.rs`). `_start` traps at the first wrong byte.
    let source = wat_program("memory_copy_overlaps");
    let kiln_run = run_kiln(&["run", path_str(&source)], b"");
    assert_eq!(kiln_run.code, Some(0), "kiln run: {}", kiln_run.describe());
    for target in host_targets() {
        let executable = scratch_dir("memory-copy-overlaps").join(&target);
        build_for_target(&source, &target, &executable);
        let output = run(Command::new(&executable).env_clear(), b"");
        assert_eq!(output.code, Some(0), "{target}: {}", output.describe());
    }
}

#[test]
fn endless_tail_calls_run_in_constant_stack() {
    // 10^8 tail calls (return_call and return_call_indirect, with stack arguments): as
    // plain calls they would need gigabytes of stack. Under `kiln run` and as glibc and
    // static musl executables.
    let expected = "12152849835431886976\n";
    let source = wat_program("tail_calls");
    let kiln_run = run_kiln(&["run", path_str(&source)], b"");
    assert_eq!(
        (kiln_run.code, kiln_run.stdout.as_str()),
        (Some(0), expected),
        "kiln run: {}",
        kiln_run.describe()
    );
    for target in host_targets() {
        let executable = scratch_dir("tail-calls").join(&target);
        build_for_target(&source, &target, &executable);
        let output = run(Command::new(&executable).env_clear(), b"");
        assert_eq!(
            (output.code, output.stdout.as_str()),
            (Some(0), expected),
            "{target}: {}",
            output.describe()
        );
    }
}

#[test]
fn a_read_returns_what_a_pipe_holds_without_waiting_for_more() {
    // The guest reads with iovecs of 4 and 100 bytes while the pipe holds 4 bytes and
    // stays open: one readv returns those 4 (reading iovec by iovec would wait for more).
    let source = wat_program("read_what_is_there");
    let executable = scratch_dir("read-what-is-there").join("read_what_is_there");
    build_for_target(&source, &host_targets()[0], &executable);
    let mut kiln_run = Command::new(support::KILN);
    kiln_run.args(["run", path_str(&source)]);
    for command in [&mut kiln_run, &mut Command::new(&executable)] {
        let description = support::command_line(command);
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"abcd").unwrap();
        // stdin stays open until the guest has answered (or the deadline kills it).
        let status = support::wait_with_deadline(
            &mut child,
            std::time::Instant::now() + support::COMMAND_TIMEOUT,
            &description,
        );
        drop(stdin);
        let stdout = support::read_all(child.stdout.take().unwrap());
        let stderr = support::read_all(child.stderr.take().unwrap());
        assert_eq!(
            (status.code(), stdout.as_str()),
            (Some(0), "abcd4\n"),
            "{description}: {stderr}"
        );
    }
}

#[test]
fn deterministic_time_and_randomness() {
    // Virtual time: 1 µs per read, a 1 s wait jumps ahead; SplitMix64 from state 0.
    let expected = "00000000000003e8\n00000000000007d0\n000000003b9ad5b8\n\
                    e220a8397b1dcdaf\n6e789e6aa1b965f4\n";
    let source = wat_program("time_and_randomness");
    let run_deterministic = run_kiln(&["run", "--deterministic", path_str(&source)], b"");
    assert_eq!(
        (run_deterministic.code, run_deterministic.stdout.as_str()),
        (Some(0), expected),
        "{}",
        run_deterministic.describe()
    );
    let executable = scratch_dir("deterministic").join("time_and_randomness");
    let output = run_kiln(
        &[
            "build",
            "--deterministic",
            path_str(&source),
            "-o",
            path_str(&executable),
        ],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    for _ in 0..2 {
        let built = run(Command::new(&executable).env_clear(), b"");
        assert_eq!(
            (built.code, built.stdout.as_str()),
            (Some(0), expected),
            "{}",
            built.describe()
        );
    }
    // Without the flag the guest sees the host's clocks and entropy.
    let host = run_kiln(&["run", path_str(&source)], b"");
    assert_eq!(host.code, Some(0), "{}", host.describe());
    let lines: Vec<&str> = host.stdout.lines().collect();
    let expected_lines: Vec<&str> = expected.lines().collect();
    assert_eq!(lines.len(), 5, "{}", host.describe());
    for (index, (line, deterministic)) in lines.iter().zip(&expected_lines).enumerate() {
        assert_ne!(line, deterministic, "line {index}: {}", host.describe());
    }
}

// ---------------------------------------------------------------------------------------
// Other commands
// ---------------------------------------------------------------------------------------

#[test]
fn run_invoke_prints_results() {
    let add = wat_program("add");
    for (args, expected) in [(["2", "3"], "5\n"), (["40", "-2"], "38\n")] {
        let mut command_line = vec!["run", "--invoke", "add", path_str(&add)];
        command_line.extend(args);
        let output = run_kiln(&command_line, b"");
        assert_eq!(
            (output.code, output.stdout.as_str()),
            (Some(0), expected),
            "{}",
            output.describe()
        );
    }
}

#[test]
fn inspect_lists_imports_and_exports() {
    let output = run_kiln(&["inspect", path_str(&wat_program("add"))], b"");
    assert_eq!(output.code, Some(0), "{}", output.describe());
    for expected in ["add", "memory"] {
        assert!(
            names_word(&output.stdout, expected),
            "`kiln inspect` does not list {expected:?}\n{}",
            output.describe()
        );
    }

    let hello = c_program("hello");
    let output = run_kiln(&["inspect", path_str(&hello.wasm)], b"");
    assert_eq!(output.code, Some(0), "{}", output.describe());
    for expected in ["_start", "memory", "wasi_snapshot_preview1", "fd_write"] {
        assert!(
            names_word(&output.stdout, expected),
            "`kiln inspect` does not list {expected:?}\n{}",
            output.describe()
        );
    }
}

/// `kiln compile` leaves out a function nothing can run (`$never` of `call_counts.wat`:
/// not exported, in no table, never called) and keeps the others (`_start` has no name:
/// `wasm_function_7`);
/// `--keep-unused-functions` keeps it too. `kiln run` prints the same either way.
#[test]
fn compile_leaves_out_unused_functions_unless_asked_to_keep_them() {
    let scratch = scratch_dir("unused-functions");
    let source = wat_program("call_counts");
    let used = ["leaf", "mid", "print_u32", "wasm_function_7"];
    for (name, options, kept) in [
        ("default", &[][..], false),
        ("keep", &["--keep-unused-functions"][..], true),
    ] {
        let object_path = scratch.join(format!("call_counts-{name}.o"));
        let object = compile_object(&source, &object_path, options);
        let symbols = elf_symbols(&object)
            .unwrap_or_else(|error| panic!("{}: {error}", object_path.display()));
        for function in used {
            assert!(
                symbols.iter().any(|symbol| symbol == function),
                "{name}: no symbol {function:?} among {symbols:?}"
            );
        }
        assert_eq!(
            symbols.iter().any(|symbol| symbol == "never"),
            kept,
            "{name}: {symbols:?}"
        );
        let mut command_line = vec!["run"];
        command_line.extend(options);
        command_line.push(path_str(&source));
        let output = run_kiln(&command_line, b"");
        assert_eq!(
            (output.code, output.stdout.as_str()),
            (Some(0), "2952445\n"),
            "{name}: {}",
            output.describe()
        );
    }
}

#[test]
fn compile_writes_elf_relocatable_with_function_symbols() {
    let scratch = scratch_dir("compile");
    let source = wat_program("divide_by_zero");
    let host_machine = if cfg!(target_arch = "aarch64") {
        EM_AARCH64
    } else {
        EM_X86_64
    };
    let cases: [(&str, &[&str], u16); 4] = [
        ("default", &[], host_machine),
        ("none", &["--opt-level", "none"], host_machine),
        (
            "speed_and_size",
            &["--opt-level", "speed_and_size"],
            host_machine,
        ),
        (
            "aarch64",
            &["--target", "aarch64-unknown-linux-gnu"],
            EM_AARCH64,
        ),
    ];
    for (name, options, machine) in cases {
        let object_path = scratch.join(format!("divide_by_zero-{name}.o"));
        let object = compile_object(&source, &object_path, options);
        check_elf_relocatable(&object, machine)
            .unwrap_or_else(|error| panic!("{}: {error}", object_path.display()));
        let symbols = elf_symbols(&object)
            .unwrap_or_else(|error| panic!("{}: {error}", object_path.display()));
        for function in ["divide", "average", "_start"] {
            assert!(
                symbols.iter().any(|symbol| symbol == function),
                "{}: no symbol {function:?} among {symbols:?}",
                object_path.display()
            );
        }
    }

    // A real program: the C hello world's functions are named from its name section.
    let hello = c_program("hello");
    let object_path = scratch.join("c-hello.o");
    let output = run_kiln(
        &[
            "compile",
            path_str(&hello.wasm),
            "-o",
            path_str(&object_path),
        ],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let object = std::fs::read(&object_path).unwrap();
    check_elf_relocatable(&object, host_machine).unwrap();
    let symbols = elf_symbols(&object).unwrap();
    for function in ["_start", "__original_main", "puts"] {
        assert!(
            symbols.iter().any(|symbol| symbol == function),
            "c-hello.o: no symbol {function:?} among {symbols:?}"
        );
    }
}

#[test]
fn built_executable_is_standalone() {
    // The executable must not need the module it was built from, nor kiln.
    let scratch = scratch_dir("standalone");
    let wasm = scratch.join("hello.wasm");
    std::fs::copy(&c_program("hello").wasm, &wasm).unwrap();
    let executable = scratch.join("hello");
    let output = run_kiln(
        &["build", path_str(&wasm), "-o", path_str(&executable)],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    std::fs::remove_file(&wasm).unwrap();
    let output = run(Command::new(&executable).env_clear().current_dir("/"), b"");
    assert_eq!(
        (output.code, output.stdout.as_str(), output.stderr.as_str()),
        (Some(0), "Hello, world!\n", ""),
        "{}",
        output.describe()
    );
}

/// A granted directory that is gone, or not a directory, when the executable starts: it
/// stops with exit code 1 before the guest runs and names the path and the system's
/// reason as std's `io::Error` words it (the runtime of executables writes that message
/// itself, `error::IoMessage`).
#[test]
fn a_preopen_that_cannot_be_opened_is_named_with_the_systems_reason() {
    let scratch = scratch_dir("preopen-gone");
    let dir = scratch.join("granted");
    std::fs::create_dir_all(&dir).unwrap();
    let source = repository_root().join("examples/hello.wat");
    for target in host_targets() {
        let executable = scratch.join(format!("hello-{target}"));
        let built = run_kiln(
            &[
                "build",
                "--target",
                &target,
                path_str(&source),
                "--dir",
                path_str(&dir),
                "-o",
                path_str(&executable),
            ],
            b"",
        );
        assert_eq!(built.code, Some(0), "{target}: {}", built.describe());
        let output = run(Command::new(&executable).env_clear(), b"");
        assert_eq!(output.code, Some(0), "{target}: {}", output.describe());
        std::fs::remove_dir(&dir).unwrap();
        let output = run(Command::new(&executable).env_clear(), b"");
        let expected = format!(
            "error: preopening {}: No such file or directory (os error 2)\n",
            dir.display()
        );
        assert_eq!(
            (output.code, output.stdout.as_str(), output.stderr.as_str()),
            (Some(1), "", expected.as_str()),
            "{target}"
        );
        std::fs::write(&dir, b"a file").unwrap();
        let output = run(Command::new(&executable).env_clear(), b"");
        let expected = format!(
            "error: preopening {}: Not a directory (os error 20)\n",
            dir.display()
        );
        assert_eq!(
            (output.code, output.stderr.as_str()),
            (Some(1), expected.as_str()),
            "{target}"
        );
        std::fs::remove_file(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// Kiln's own errors
// ---------------------------------------------------------------------------------------

/// The magic number of a wasm module and version 1.
const WASM_HEADER: &[u8] = b"\0asm\x01\0\0\0";

#[test]
fn missing_input_file_is_a_kiln_error() {
    let scratch = scratch_dir("missing");
    let missing = scratch.join("does-not-exist.wasm");
    let output_path = scratch.join("out");
    for command in ["run", "compile", "build", "inspect"] {
        let mut command_line = vec![command, path_str(&missing)];
        if command == "compile" || command == "build" {
            command_line.extend(["-o", path_str(&output_path)]);
        }
        check_kiln_error(&command_line, "does-not-exist.wasm", false);
    }
}

#[test]
fn invalid_wasm_is_a_kiln_error_with_offset() {
    let scratch = scratch_dir("invalid");
    // A type section that promises 7 bytes and holds 3.
    let mut truncated = WASM_HEADER.to_vec();
    truncated.extend([0x01, 0x07, 0x01, 0x60, 0x02]);
    // A function declared to return an i32 whose body is empty: decodes, fails validation.
    let mut ill_typed = WASM_HEADER.to_vec();
    ill_typed.extend([0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f]); // type section: [] -> [i32]
    ill_typed.extend([0x03, 0x02, 0x01, 0x00]); // function section: one function of type 0
    ill_typed.extend([0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b]); // code section: no locals, end
    let garbage = b"\x7fELF this is not a wasm module at all\n".to_vec();
    let header_only_truncated = b"\0as".to_vec();

    // A `.wasm` file is binary whatever its bytes look like: garbage is reported with an
    // offset, not as a text parse error.
    let output_path = scratch.join("out");
    for (name, bytes) in [
        ("truncated.wasm", truncated),
        ("ill-typed.wasm", ill_typed),
        ("garbage.wasm", garbage),
        ("short.wasm", header_only_truncated),
    ] {
        let input = scratch.join(name);
        std::fs::write(&input, bytes).unwrap();
        for command in ["run", "compile", "build", "inspect"] {
            // Listing imports and exports needs no validation of function bodies.
            if command == "inspect" && name == "ill-typed.wasm" {
                continue;
            }
            let mut command_line = vec![command, path_str(&input)];
            if command == "compile" || command == "build" {
                command_line.extend(["-o", path_str(&output_path)]);
            }
            check_kiln_error(&command_line, name, true);
        }
    }
}

/// GC (the one Wasm 3.0 proposal kiln leaves out) is refused with "unsupported: GC" and
/// the offset of what uses it: a struct type in the type section, a GC instruction in a
/// body, a GC reference type in a local.
#[test]
fn gc_is_refused_with_its_offset() {
    let scratch = scratch_dir("gc");
    let output_path = scratch.join("out");
    for (name, text, offset) in [
        ("struct.wat", "(module (type (struct (field i32))))", "0xb"),
        (
            "i31.wat",
            "(module (func (export \"f\") (result i32) (i31.get_s (ref.i31 (i32.const 1)))))",
            "0x21",
        ),
        (
            "anyref.wat",
            "(module (func (export \"f\") (local anyref)))",
            "0x1e",
        ),
    ] {
        let input = scratch.join(name);
        std::fs::write(&input, text).unwrap();
        for command in ["run", "compile", "build"] {
            let mut args = vec![command, path_str(&input)];
            if command != "run" {
                args.extend(["-o", path_str(&output_path)]);
            }
            let output = run_kiln(&args, b"");
            let context = output.describe();
            assert_eq!(output.code, Some(KILN_ERROR_EXIT_CODE), "{context}");
            assert!(output.stderr.contains("unsupported: GC"), "{context}");
            assert!(output.stderr.contains(offset), "{context}");
            assert!(!output.stderr.contains("panicked"), "{context}");
        }
    }
}

/// A guard region that does not fit the address space is refused, by the flag's name:
/// within 4095 of 2^64, a saturating add in the compiler dropped the bounds checks while the
/// runtime's rounding wrapped the guard to nothing, so the guest could read host memory.
#[test]
fn guard_sizes_that_do_not_fit_are_refused() {
    let scratch = scratch_dir("guard-size");
    let input = scratch.join("far.wat");
    std::fs::write(
        &input,
        "(module (memory 1) (func (export \"_start\") \
         (drop (i32.load offset=0xfffffff0 (i32.const -1)))))\n",
    )
    .unwrap();
    let output_path = scratch.join("far");
    for guard in [
        "18446744073709547521",
        "18446744073709551615",
        "9223372036854775808",
    ] {
        for command in ["run", "compile", "build"] {
            let mut args = vec![command, "--guard-size", guard, path_str(&input)];
            if command != "run" {
                args.extend(["-o", path_str(&output_path)]);
            }
            let output = run_kiln(&args, b"");
            let context = output.describe();
            assert_eq!(output.code, Some(KILN_ERROR_EXIT_CODE), "{context}");
            assert!(output.stderr.contains("--guard-size"), "{context}");
            assert!(!output.stderr.contains("panicked"), "{context}");
        }
    }
    // A large guard that fits still works, and the access past it still traps.
    let output = run_kiln(
        &["run", "--guard-size", "8589934592", path_str(&input)],
        b"",
    );
    assert_eq!(output.code, Some(134), "{}", output.describe());
    assert!(
        output.stderr.contains("out of bounds memory access"),
        "{}",
        output.describe()
    );
}

#[test]
fn invalid_wat_is_a_kiln_error() {
    let scratch = scratch_dir("invalid-wat");
    let input = scratch.join("typo.wat");
    std::fs::write(&input, "(module (func (result i32) i32.cnst 1))\n").unwrap();
    check_kiln_error(&["run", path_str(&input)], "typo.wat", false);
    check_kiln_error(
        &[
            "compile",
            path_str(&input),
            "-o",
            path_str(&scratch.join("typo.o")),
        ],
        "typo.wat",
        false,
    );
}

#[test]
fn unwritable_output_is_a_kiln_error() {
    let scratch = scratch_dir("unwritable");
    let output_path = scratch.join("no-such-directory").join("add.o");
    check_kiln_error(
        &[
            "compile",
            path_str(&wat_program("add")),
            "-o",
            path_str(&output_path),
        ],
        "add.o",
        false,
    );
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// Runs `program` natively, as a `kiln build` executable and under `kiln run` with `args`
/// and no stdin, and checks that all three print `expected_stdout` (when given; otherwise
/// whatever the native run prints) and the same stderr, and exit with `expected_code`.
/// Returns the stdout.
fn check(
    program: &Program,
    args: &[&str],
    expected_stdout: Option<&str>,
    expected_code: i32,
) -> String {
    check_with_stdin(program, args, b"", expected_stdout, expected_code)
}

/// [`check`] with `stdin` fed to each run.
fn check_with_stdin(
    program: &Program,
    args: &[&str],
    stdin: &[u8],
    expected_stdout: Option<&str>,
    expected_code: i32,
) -> String {
    // The native run and the executable get an empty environment, which is what a guest
    // under `kiln run` sees unless given one.
    let native = run(Command::new(&program.native).args(args).env_clear(), stdin);
    assert_eq!(
        native.code,
        Some(expected_code),
        "native {}: exit code\n{}",
        program.id,
        native.describe()
    );
    if let Some(expected_stdout) = expected_stdout {
        assert_eq!(
            native.stdout,
            expected_stdout,
            "native {}: stdout\n{}",
            program.id,
            native.describe()
        );
    }

    let executable = program.executable(&[]);
    let built = run(Command::new(executable).args(args).env_clear(), stdin);
    let mut kiln_run_args = vec!["run", path_str(&program.wasm)];
    kiln_run_args.extend(args);
    let kiln_run = run_kiln(&kiln_run_args, stdin);

    for (how, output) in [("kiln build", &built), ("kiln run", &kiln_run)] {
        assert!(
            !output.stderr.contains("panicked"),
            "{how} {}: panic\n{}",
            program.id,
            output.describe()
        );
        assert_eq!(
            (output.code, output.stdout.as_str(), output.stderr.as_str()),
            (native.code, native.stdout.as_str(), native.stderr.as_str()),
            "{how} {} differs from the native run (left: {how}, right: native)\n\
             {how}: {}\nnative: {}",
            program.id,
            output.describe(),
            native.describe()
        );
    }
    native.stdout
}

/// This machine's architecture with glibc, then with static musl.
fn host_targets() -> [String; 2] {
    let arch = std::env::consts::ARCH;
    [
        format!("{arch}-unknown-linux-gnu"),
        format!("{arch}-unknown-linux-musl"),
    ]
}

/// `kiln build --target target source -o executable`, which must succeed.
fn build_for_target(source: &std::path::Path, target: &str, executable: &std::path::Path) {
    let built = run_kiln(
        &[
            "build",
            "--target",
            target,
            path_str(source),
            "-o",
            path_str(executable),
        ],
        b"",
    );
    assert_eq!(built.code, Some(0), "{target}: {}", built.describe());
}

/// Runs the trap program `tests/programs/wat/{name}.wat` under `kiln run` and as a `kiln
/// build` executable, and checks that both exit with 134 and report `message` and a
/// backtrace whose frames name `frames` in order, innermost first. Returns the stdout.
/// Whether a trap's backtrace is expected whole or cut short.
#[derive(PartialEq)]
enum Backtrace {
    Whole,
    Truncated,
}

fn check_trap(name: &str, message: &str, frames: &[&str], expected: Backtrace) -> String {
    let source = wat_program(name);
    let scratch = scratch_dir(&format!("trap-{name}"));
    let executable = scratch.join(name);
    let output = run_kiln(
        &["build", path_str(&source), "-o", path_str(&executable)],
        b"",
    );
    assert_eq!(output.code, Some(0), "{}", output.describe());
    let built = run(Command::new(&executable).env_clear(), b"");
    let kiln_run = run_kiln(&["run", path_str(&source)], b"");

    for (how, output) in [("kiln build", &built), ("kiln run", &kiln_run)] {
        let context = format!("{how} {name}\n{}", output.describe());
        assert_eq!(output.code, Some(TRAP_EXIT_CODE), "exit code: {context}");
        assert!(!output.stderr.contains("panicked"), "panic: {context}");
        let expected_error = format!("error: wasm trap: {message}");
        assert!(
            output
                .stderr
                .lines()
                .any(|line| line.trim_end() == expected_error),
            "no line {expected_error:?}: {context}"
        );
        let backtrace: Vec<&str> = output
            .stderr
            .lines()
            .skip_while(|line| !line.starts_with("wasm backtrace:"))
            .skip(1)
            .collect();
        assert!(
            backtrace
                .first()
                .is_some_and(|line| frame_name(line) == Some(frames[0])),
            "the innermost frame must name {:?}: {context}",
            frames[0]
        );
        let mut remaining = backtrace.iter();
        for frame in frames {
            assert!(
                remaining.any(|line| frame_name(line) == Some(frame)),
                "backtrace frames must name {frames:?} in this order, {frame:?} missing: \
                 {context}"
            );
        }
        let truncated = backtrace.last() == Some(&"    ... outer frames not shown");
        let n_frames = backtrace.len() - usize::from(truncated);
        assert!(
            backtrace[..n_frames]
                .iter()
                .all(|line| frame_offset(line).is_some()),
            "every frame must show its wasm offset: {context}"
        );
        assert_eq!(
            truncated,
            expected == Backtrace::Truncated,
            "whether the backtrace says outer frames are not shown: {context}"
        );
    }
    assert_eq!(
        built.stdout, kiln_run.stdout,
        "stdout of the executable and of `kiln run` differ"
    );
    kiln_run.stdout
}

/// Runs kiln with `args` and checks that it fails as kiln's own error: exit code 1, one
/// line on stderr naming `file_name` (and a byte offset when `with_offset`), no panic.
fn check_kiln_error(args: &[&str], file_name: &str, with_offset: bool) {
    let output = run_kiln(args, b"");
    let context = output.describe();
    assert_eq!(
        output.code,
        Some(KILN_ERROR_EXIT_CODE),
        "exit code: {context}"
    );
    assert!(!output.stderr.contains("panicked"), "panic: {context}");
    let message = output.stderr.trim_end();
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "the error must be one line: {context}"
    );
    assert!(
        message.contains(file_name),
        "the error must name {file_name:?}: {context}"
    );
    if with_offset {
        assert!(
            message.contains("offset"),
            "the error must give the byte offset: {context}"
        );
    }
}

/// Whether `text` contains `word` delimited by characters that cannot be part of a wasm
/// function name as printed (so `add` does not match `address`).
/// The function name of a backtrace line `    N: NAME (MODULE, function I, offset 0xO)`.
fn frame_name(line: &str) -> Option<&str> {
    let (_, rest) = line.trim_start().split_once(": ")?;
    Some(rest.rsplit_once(" (")?.0)
}

/// The wasm offset of a backtrace line, if it shows one.
fn frame_offset(line: &str) -> Option<u32> {
    let (_, offset) = line.strip_suffix(')')?.rsplit_once(", offset 0x")?;
    u32::from_str_radix(offset, 16).ok()
}

fn names_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'))
        .any(|token| token == word || token.strip_prefix('$') == Some(word))
}

// ---------------------------------------------------------------------------------------
// ELF objects
// ---------------------------------------------------------------------------------------

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const ET_REL: u16 = 1;
const SHT_SYMTAB: u32 = 2;

fn read_u16(bytes: &[u8], offset: usize) -> Result<u16, String> {
    let slice = bytes
        .get(offset..offset + 2)
        .ok_or_else(|| format!("truncated at {offset:#x}"))?;
    Ok(u16::from_le_bytes(slice.try_into().unwrap()))
}

fn read_u32(bytes: &[u8], offset: usize) -> Result<u32, String> {
    let slice = bytes
        .get(offset..offset + 4)
        .ok_or_else(|| format!("truncated at {offset:#x}"))?;
    Ok(u32::from_le_bytes(slice.try_into().unwrap()))
}

/// A 64-bit offset or size, as a `usize`.
fn read_offset(bytes: &[u8], offset: usize) -> Result<usize, String> {
    let slice = bytes
        .get(offset..offset + 8)
        .ok_or_else(|| format!("truncated at {offset:#x}"))?;
    usize::try_from(u64::from_le_bytes(slice.try_into().unwrap())).map_err(|e| e.to_string())
}

/// Checks the ELF header: 64-bit little-endian, relocatable, for `machine`.
fn check_elf_relocatable(bytes: &[u8], machine: u16) -> Result<(), String> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err(format!(
            "not 64-bit little-endian (EI_CLASS {}, EI_DATA {})",
            bytes[4], bytes[5]
        ));
    }
    let (e_type, e_machine) = (read_u16(bytes, 16)?, read_u16(bytes, 18)?);
    if e_type != ET_REL {
        return Err(format!("e_type is {e_type}, not ET_REL ({ET_REL})"));
    }
    if e_machine != machine {
        return Err(format!("e_machine is {e_machine}, expected {machine}"));
    }
    Ok(())
}

/// `kiln compile SOURCE -o OBJECT OPTIONS...`, which must succeed: the object's bytes.
fn compile_object(source: &Path, object_path: &Path, options: &[&str]) -> Vec<u8> {
    let mut command_line = vec!["compile", path_str(source), "-o", path_str(object_path)];
    command_line.extend(options);
    let output = run_kiln(&command_line, b"");
    assert_eq!(output.code, Some(0), "{}", output.describe());
    std::fs::read(object_path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", object_path.display()))
}

/// The names of all symbols in the symbol tables of a 64-bit little-endian ELF file.
fn elf_symbols(bytes: &[u8]) -> Result<Vec<String>, String> {
    let section_headers = read_offset(bytes, 0x28)?;
    let section_header_size = usize::from(read_u16(bytes, 0x3a)?);
    let n_sections = usize::from(read_u16(bytes, 0x3c)?);
    let section = |index: usize| section_headers + index * section_header_size;
    let mut names = Vec::new();
    for index in 0..n_sections {
        let header = section(index);
        if read_u32(bytes, header + 4)? != SHT_SYMTAB {
            continue;
        }
        let (symbols, symbols_size) = (
            read_offset(bytes, header + 24)?,
            read_offset(bytes, header + 32)?,
        );
        let symbol_size = read_offset(bytes, header + 56)?.max(24);
        let strings_header = section(read_u32(bytes, header + 40)? as usize);
        let strings = read_offset(bytes, strings_header + 24)?;
        for symbol in (symbols..symbols + symbols_size).step_by(symbol_size) {
            let name_start = strings + read_u32(bytes, symbol)? as usize;
            let name_length = bytes
                .get(name_start..)
                .and_then(|rest| rest.iter().position(|byte| *byte == 0))
                .ok_or_else(|| format!("unterminated symbol name at {name_start:#x}"))?;
            let name = &bytes[name_start..name_start + name_length];
            if !name.is_empty() {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    if names.is_empty() {
        return Err("no symbols".into());
    }
    Ok(names)
}

// ---------------------------------------------------------------------------------------
// The memory at a fixed address
// ---------------------------------------------------------------------------------------

/// An x86_64 executable finds its memory at the fixed address (1.5 GiB): where that range
/// is taken (here by a preloaded library's constructor) it refuses to start, naming the
/// address; built with `--movable-memory` it runs there too.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_taken_fixed_memory_address_stops_the_executable_and_movable_memory_runs() {
    let dir = scratch_dir("fixed_memory_address");
    let library = support::fixed_address_taker(&dir);
    let program = path_str(&wat_program("read_what_is_there")).to_string();
    let (fixed, movable) = (dir.join("fixed"), dir.join("movable"));
    let built = run_kiln(&["build", &program, "-o", path_str(&fixed)], b"");
    assert_success(&built, "kiln build");
    let built = run_kiln(
        &[
            "build",
            "--movable-memory",
            &program,
            "-o",
            path_str(&movable),
        ],
        b"",
    );
    assert_success(&built, "kiln build --movable-memory");
    for executable in [&fixed, &movable] {
        let output = run(&mut Command::new(executable), b"abc");
        assert_success(&output, "the executable");
        assert_eq!(output.stdout, "abc3\n", "{}", output.describe());
    }
    let preloaded = |executable: &Path| {
        let mut command = Command::new(executable);
        command.env("LD_PRELOAD", &library);
        run(&mut command, b"abc")
    };
    let refused = preloaded(&fixed);
    assert_eq!(
        refused.code,
        Some(KILN_ERROR_EXIT_CODE),
        "{}",
        refused.describe()
    );
    assert!(
        refused.stderr.contains("0x60000000"),
        "{}",
        refused.describe()
    );
    assert_eq!(refused.stdout, "", "{}", refused.describe());
    let output = preloaded(&movable);
    assert_success(
        &output,
        "the --movable-memory executable, with the range taken",
    );
    assert_eq!(output.stdout, "abc3\n", "{}", output.describe());
}

// ---------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------

fn c_program(name: &str) -> &'static Program {
    static PROGRAMS: OnceLock<Result<BTreeMap<&'static str, Program>, String>> = OnceLock::new();
    let programs = PROGRAMS.get_or_init(|| build_c_programs(C_PROGRAMS));
    let programs = programs.as_ref().unwrap_or_else(|error| panic!("{error}"));
    &programs[name]
}

/// The Rust programs, built into `target/e2e-programs`.
fn rust_program(name: &str) -> &'static Program {
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
