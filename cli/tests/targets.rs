//! The target-related commands: `kiln targets`, static musl executables (run alone in an
//! empty root), aarch64 executables under qemu, size reports, and `--emit staticlib` for C
//! hosts.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{
    assert_success, build_c_native, build_rust_programs, path_str, programs_dir, repository_root,
    scratch_dir, wat_program, Output, Program, C_INSTALL_HINT, KILN,
};

/// The aarch64 targets, whose executables run under qemu.
const AARCH64_TARGETS: [&str; 2] = ["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"];

/// Runs `command` with no input (see [`support::run`]).
fn run(command: &mut Command) -> Output {
    support::run(command, b"")
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

/// Compiles and links the C program `source` into `wasm` with `clang --target=wasm32-wasi
/// -O2` in one step, as these tests always have: when binaryen's `wasm-opt` is installed
/// clang runs it, so these modules are optimised by it (unlike [`support::build_c_wasm`]'s,
/// which keep their names).
fn clang_wasm(source: &Path, wasm: &Path) {
    let compiled = run(Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2"])
        .arg(source)
        .arg("-o")
        .arg(wasm));
    let name = source.file_name().unwrap_or_default().to_string_lossy();
    assert_success(
        &compiled,
        &format!("clang --target=wasm32-wasi {name} ({C_INSTALL_HINT})"),
    );
}

fn hello() -> PathBuf {
    repository_root().join("examples").join("hello.wat")
}

#[test]
fn targets_lists_every_supported_triple() {
    let output = run(Command::new(KILN).arg("targets"));
    assert_success(&output, "kiln targets");
    let text = &output.stdout;
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
    let dir = scratch_dir("musl");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let exe = root.join("hello");
    let built = build(
        "x86_64-unknown-linux-musl",
        &hello(),
        &exe,
        &["--size-report"],
    );
    let report = &built.stdout;
    assert!(
        report.contains("generated code") && report.contains("runtime and libc"),
        "{report}"
    );
    let bytes = std::fs::read(&exe).unwrap();
    // The runtime archive is built with a standard library rebuilt for size (cli/build.rs):
    // about 196 KB with its symbols (118 KB stripped); about 760 KB when the panic
    // machinery and backtrace symbolizer of the prebuilt standard library come along.
    assert!(
        bytes.len() <= 230_000,
        "hello is {} bytes, over 230,000",
        bytes.len()
    );
    // Issue 20: a static hello, stripped, fits in 128 KiB.
    let stripped = root.join("hello-stripped");
    build(
        "x86_64-unknown-linux-musl",
        &hello(),
        &stripped,
        &["--strip"],
    );
    let stripped_len = std::fs::metadata(&stripped).unwrap().len();
    assert!(
        stripped_len <= 128 * 1024,
        "the stripped hello is {stripped_len} bytes, over 128 KiB"
    );
    // musl's printf came with `std::thread` (its `pthread_setname_np` formats a path):
    // the time limit's timer thread is a plain `pthread_create` (vm/interrupt.rs).
    assert!(
        !bytes
            .windows(b"printf_core".len())
            .any(|w| w == b"printf_core"),
        "the static hello links musl's printf"
    );
    // The symbolizer's code, by the paths in its symbols (`gimli::read`, `addr2line`, ...);
    // not the bare crate name, which a generic function instantiated in that crate
    // (`<&i64 as Debug>::fmt`) carries into its symbol while being the same code.
    for part in [
        "5gimli4read",
        "9addr2line",
        "11miniz_oxide",
        "_Unwind_RaiseException",
    ] {
        assert!(
            !bytes.windows(part.len()).any(|w| w == part.as_bytes()),
            "the static hello links {part}: its runtime was built without -Zbuild-std"
        );
    }
    assert!(
        !bytes.windows(b".interp".len()).any(|w| w == b".interp"),
        "a static executable has no interpreter"
    );
    let output = run(Command::new("chroot").arg(&root).arg("/hello"));
    assert_success(&output, "the musl executable in an empty root");
    assert_eq!(output.stdout, "hello from kiln\n");
}

/// An executable links the WASI functions its module imports and no others: under both
/// WASI module names, with `wasi_unstable`'s own layouts where they differ.
#[test]
fn executables_link_only_the_wasi_functions_they_import() {
    let dir = scratch_dir("wasi-imports");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("nine"), "123456789").unwrap();
    let grant = format!("{}::/data", data.display());
    for target in ["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"] {
        let exe = dir.join(target);
        build(
            target,
            &wat_program("wasi_both_snapshots"),
            &exe,
            &["--dir", &grant],
        );
        let output = run(&mut Command::new(&exe));
        assert_success(&output, &format!("{target}: wasi_both_snapshots"));
        assert_eq!(output.stdout, "7ok\n", "{target}");
        let bytes = std::fs::read(&exe).unwrap();
        let has = |symbol: &str| {
            bytes
                .windows(symbol.len() + 1)
                .any(|w| w[..symbol.len()] == *symbol.as_bytes() && w[symbol.len()] == 0)
        };
        for linked in [
            "kiln_wasi_fd_write",
            "kiln_wasi_path_open",
            "kiln_wasi_unstable_fd_seek",
            "kiln_wasi_proc_exit",
        ] {
            assert!(has(linked), "{target}: {linked} is not linked");
        }
        for absent in [
            "kiln_wasi_fd_seek",
            "kiln_wasi_fd_read",
            "kiln_wasi_poll_oneoff",
        ] {
            assert!(!has(absent), "{target}: {absent} is linked");
        }
    }
}

/// Whether the executable `bytes` defines (or names) `symbol`: its name followed by NUL
/// in the symbol table's strings.
fn has_symbol(bytes: &[u8], symbol: &str) -> bool {
    bytes
        .windows(symbol.len() + 1)
        .any(|w| w[..symbol.len()] == *symbol.as_bytes() && w[symbol.len()] == 0)
}

/// The runtime's optional parts (`runtime/src/vm/linked.rs`) are linked only into the
/// executables whose module needs them, and work there: the time limit's timer thread,
/// the opening of preopened directories, the reading of the environment, the bench
/// imports, the CPU feature check.
#[test]
fn executables_link_optional_runtime_parts_only_when_needed() {
    let dir = scratch_dir("linked-parts");
    let target = "x86_64-unknown-linux-musl";
    let parts = [
        "kiln_timer_start",
        "pthread_create",
        "kiln_bench_add_to_linker",
        "kiln_cpu_has_feature",
        "kiln_open_preopen",
        "kiln_inherited_env",
        "kiln_instantiate_tables",
        "kiln_instantiate_elements",
        "kiln_instantiate_tags",
        "kiln_check_entity_import",
        "kiln_builtin_memory_grow",
        "kiln_builtin_table_grow",
        "kiln_builtin_table_copy",
    ];
    let linked = |exe: &Path| -> Vec<&str> {
        let bytes = std::fs::read(exe).unwrap();
        parts
            .iter()
            .copied()
            .filter(|part| has_symbol(&bytes, part))
            .collect()
    };

    let plain = dir.join("hello");
    build(target, &hello(), &plain, &[]);
    assert_eq!(linked(&plain), Vec::<&str>::new());

    let timed = dir.join("hello-timeout");
    build(target, &hello(), &timed, &["--timeout", "1h"]);
    assert_eq!(linked(&timed), ["kiln_timer_start", "pthread_create"]);
    let output = run(&mut Command::new(&timed));
    assert_success(&output, "hello with a time limit");
    assert_eq!(output.stdout, "hello from kiln\n");

    let granted = dir.join("hello-dir");
    build(target, &hello(), &granted, &["--dir", path_str(&dir)]);
    assert_eq!(linked(&granted), ["kiln_open_preopen"]);
    let output = run(&mut Command::new(&granted));
    assert_success(&output, "hello with a preopened directory");
    assert_eq!(output.stdout, "hello from kiln\n");

    let program = wat_program("print_env");
    let own_env = dir.join("own-env");
    build(target, &program, &own_env, &["--env", "FROM_BUILD=1"]);
    assert_eq!(linked(&own_env), Vec::<&str>::new());
    let output = run(Command::new(&own_env).env_clear().env("FROM_HOST", "2"));
    assert_success(&output, "print_env with --env");
    assert_eq!(output.stdout, "FROM_BUILD=1\n");
    let inherited = dir.join("inherited-env");
    build(
        target,
        &program,
        &inherited,
        &["--inherit-env", "--env", "FROM_BUILD=1"],
    );
    assert_eq!(linked(&inherited), ["kiln_inherited_env"]);
    let output = run(Command::new(&inherited).env_clear().env("FROM_HOST", "2"));
    assert_success(&output, "print_env with --inherit-env");
    assert_eq!(output.stdout, "FROM_HOST=2\nFROM_BUILD=1\n");

    let bench = dir.join("bench");
    build(target, &wat_program("bench_region"), &bench, &[]);
    assert_eq!(linked(&bench), ["kiln_bench_add_to_linker"]);
    let times = dir.join("times");
    let _ = std::fs::remove_file(&times);
    let output = run(Command::new(&bench).env("KILN_BENCH_TIMES", &times));
    assert_success(&output, "bench_region");
    assert_eq!(output.stdout, "measured\n");
    let recorded = std::fs::read_to_string(&times).unwrap();
    assert_eq!(recorded.lines().count(), 1, "{recorded:?}");
    assert!(recorded.trim().parse::<u64>().is_ok(), "{recorded:?}");

    // A table, an element segment and a tag: their phases of instantiation; of the
    // builtins, those the code calls.
    let tables = dir.join("tables.wat");
    std::fs::write(
        &tables,
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "through a table\n")
          (type $print (func))
          (table 2 funcref)
          (elem (i32.const 1) $print)
          (tag $unused (param i32))
          (func $print (type $print)
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 16))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
          (func (export "_start")
            (if (i32.ne (memory.grow (i32.const 1)) (i32.const 1)) (then unreachable))
            (if (i32.ne (table.grow (ref.null func) (i32.const 1)) (i32.const 2))
              (then unreachable))
            (call_indirect (type $print) (i32.const 1))))"#,
    )
    .unwrap();
    let with_tables = dir.join("tables");
    build(target, &tables, &with_tables, &[]);
    assert_eq!(
        linked(&with_tables),
        [
            "kiln_instantiate_tables",
            "kiln_instantiate_elements",
            "kiln_instantiate_tags",
            "kiln_builtin_memory_grow",
            "kiln_builtin_table_grow"
        ]
    );
    let output = run(&mut Command::new(&with_tables));
    assert_success(&output, "a module with a table and a tag");
    assert_eq!(output.stdout, "through a table\n");
    // An imported global: its check is linked; no executable defines it.
    let global = dir.join("global.wat");
    std::fs::write(
        &global,
        r#"(module (import "env" "limit" (global i32)) (func (export "_start")))"#,
    )
    .unwrap();
    let with_global = dir.join("global");
    build(target, &global, &with_global, &[]);
    assert_eq!(linked(&with_global), ["kiln_check_entity_import"]);
    let output = run(&mut Command::new(&with_global));
    assert_ne!(output.code, Some(0), "{}", output.describe());
    assert!(output.stderr.contains("env::limit"), "{}", output.stderr);

    // The baseline (x86-64-v2) needs no check; AVX2 does.
    let baseline = dir.join("hello-sse42");
    build(target, &hello(), &baseline, &["--target-features", "sse42"]);
    assert_eq!(linked(&baseline), Vec::<&str>::new());
    let avx2 = dir.join("hello-avx2");
    build(target, &hello(), &avx2, &["--target-features", "avx2"]);
    assert_eq!(linked(&avx2), ["kiln_cpu_has_feature"]);
    let output = run(&mut Command::new(&avx2));
    // These tests run x86_64 executables on the host.
    #[cfg(target_arch = "x86_64")]
    let host_has_avx2 = std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let host_has_avx2 = false;
    if host_has_avx2 {
        assert_success(&output, "hello for AVX2");
        assert_eq!(output.stdout, "hello from kiln\n");
    } else {
        assert_eq!(output.code, Some(1), "{}", output.describe());
        assert!(output.stderr.contains("lacks: avx2"), "{}", output.stderr);
    }
}

/// `--strip` leaves the symbol table out; trap reports keep their wasm backtraces, which
/// come from the module's own tables.
#[test]
fn stripped_executables_report_traps_in_full() {
    let dir = scratch_dir("strip");
    for target in ["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"] {
        let full = dir.join(format!("{target}-full"));
        let stripped = dir.join(format!("{target}-stripped"));
        let program = wat_program("divide_by_zero");
        build(target, &program, &full, &[]);
        build(target, &program, &stripped, &["--strip"]);
        let (full_bytes, stripped_bytes) = (
            std::fs::read(&full).unwrap(),
            std::fs::read(&stripped).unwrap(),
        );
        let has_symtab = |bytes: &[u8]| bytes.windows(8).any(|w| w == b".symtab\0");
        assert!(
            has_symtab(&full_bytes),
            "{target}: no symbol table without --strip"
        );
        assert!(
            !has_symtab(&stripped_bytes),
            "{target}: --strip kept the symbol table"
        );
        assert!(stripped_bytes.len() < full_bytes.len());
        let output = run(&mut Command::new(&stripped));
        assert_eq!(output.code, Some(134), "{target}: {}", output.stderr);
        assert_eq!(output.stdout, "before the trap\n");
        let report = &output.stderr;
        let (divide, average, start) = (
            report.find("0: divide (module, function 1, offset 0x6a)"),
            report.find("1: average (module, function 2"),
            report.find("2: _start (module, function 3"),
        );
        assert!(
            report.contains("integer divide by zero")
                && divide.is_some()
                && average.is_some()
                && start.is_some(),
            "{target}: {report}"
        );
    }
}

/// Whether the ELF executable at `path` asks for an executable stack: a `PT_GNU_STACK`
/// with the execute flag, or none at all (which the kernel takes as executable).
fn stack_is_executable(path: &Path) -> bool {
    use object::read::elf::{FileHeader, ProgramHeader};
    let bytes = std::fs::read(path).unwrap();
    let header = object::elf::FileHeader64::<object::Endianness>::parse(&*bytes).unwrap();
    let endian = header.endian().unwrap();
    let headers = header.program_headers(endian, &*bytes).unwrap();
    headers
        .iter()
        .find(|h| h.p_type(endian) == object::elf::PT_GNU_STACK)
        .is_none_or(|h| h.p_flags(endian).contains(object::elf::PF_X))
}

/// Executables for every target keep the stack non-executable: every object kiln links in
/// (the compiled module, the WASI grants) says its code never runs on the stack, as C and
/// Rust objects do.
#[test]
fn executables_have_non_executable_stacks() {
    let dir = scratch_dir("stack");
    for target in ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"]
        .into_iter()
        .chain(AARCH64_TARGETS)
    {
        let exe = dir.join(format!("hello-{target}"));
        build(target, &hello(), &exe, &[]);
        assert!(!stack_is_executable(&exe), "{target}: executable stack");
    }
}

/// `qemu-aarch64 EXE` for an executable built for `target`.
fn qemu(target: &str, exe: &Path) -> Command {
    let mut command = Command::new("qemu-aarch64");
    if target.ends_with("gnu") {
        command.args(["-L", "/usr/aarch64-linux-gnu"]);
    }
    command.arg(exe);
    command
}

/// Builds `wasm` for each aarch64 target and checks that under qemu, with `args` and an
/// empty environment, it exits and prints as `expected` (the native run) did.
fn check_aarch64_matches_native(
    dir: &Path,
    program: &str,
    wasm: &Path,
    args: &[&str],
    expected: &Output,
) {
    for target in AARCH64_TARGETS {
        let exe = dir.join(format!("{program}-{target}"));
        build(target, wasm, &exe, &[]);
        let output = run(qemu(target, &exe).args(args).env_clear());
        assert_eq!(
            output.code, expected.code,
            "{program} on {target}: exit code"
        );
        assert_eq!(
            output.stdout, expected.stdout,
            "{program} on {target}: stdout"
        );
    }
}

#[test]
fn aarch64_executables_run_under_qemu() {
    let dir = scratch_dir("aarch64");
    for target in AARCH64_TARGETS {
        let exe = dir.join(format!("hello-{target}"));
        build(target, &hello(), &exe, &[]);
        let output = run(&mut qemu(target, &exe));
        assert_success(&output, &format!("hello for {target} under qemu"));
        assert_eq!(output.stdout, "hello from kiln\n");
    }
}

/// The memory64 and multi-memory programs (`tests/programs/wat/memory64.wat`,
/// `multi_memory.wat`, whose `_start` traps unless their checks hold) run on aarch64 under
/// qemu, in the default layout and with `--bounds-checks`.
#[test]
fn aarch64_memory64_and_multi_memory_programs_run_under_qemu() {
    let dir = scratch_dir("aarch64-memory64");
    for program in ["memory64", "multi_memory"] {
        for (layout, extra) in [("default", &[][..]), ("checked", &["--bounds-checks"][..])] {
            for target in AARCH64_TARGETS {
                let exe = dir.join(format!("{program}-{layout}-{target}"));
                build(target, &wat_program(program), &exe, extra);
                let output = run(&mut qemu(target, &exe));
                assert_success(
                    &output,
                    &format!("{program} ({layout}) for {target} under qemu"),
                );
            }
        }
    }
}

#[test]
fn aarch64_traps_are_reported_like_x86_64() {
    let dir = scratch_dir("aarch64-traps");
    for (program, message) in [
        ("divide_by_zero", "integer divide by zero"),
        ("out_of_bounds", "out of bounds memory access"),
        ("stack_overflow", "call stack exhausted"),
        ("tail_call_trap", "unreachable"),
        (
            "uncaught_exception",
            "uncaught exception: tag invalid_input",
        ),
    ] {
        let native = dir.join(format!("{program}-x86_64"));
        let source = wat_program(program);
        build("x86_64-unknown-linux-gnu", &source, &native, &[]);
        let native_output = run(&mut Command::new(&native));
        for target in AARCH64_TARGETS {
            let exe = dir.join(format!("{program}-{target}"));
            build(target, &source, &exe, &[]);
            let output = run(&mut qemu(target, &exe));
            assert_eq!(output.code, Some(134), "{program} on {target}");
            let stderr = &output.stderr;
            assert!(
                stderr.contains(&format!("error: wasm trap: {message}")),
                "{program} on {target}: {stderr}"
            );
            assert_eq!(
                output.stdout, native_output.stdout,
                "{program} on {target}: stdout differs"
            );
            // The whole report: message, frames (stack exhaustion's cut at the same
            // depth) and the note on frames not shown.
            assert_eq!(
                stderr, &native_output.stderr,
                "{program} on {target}: the trap report differs"
            );
        }
    }
}

#[test]
fn aarch64_tail_calls_run_in_constant_stack() {
    // 10^8 tail calls with stack arguments (tests/programs/wat/tail_calls.wat), under qemu
    // as natively on x86_64.
    let dir = scratch_dir("aarch64-tail-calls");
    let source = wat_program("tail_calls");
    let native = dir.join("tail_calls-x86_64");
    build("x86_64-unknown-linux-gnu", &source, &native, &[]);
    let expected = run(&mut Command::new(&native));
    assert_eq!(
        (expected.code, expected.stdout.as_str()),
        (Some(0), "12152849835431886976\n"),
        "native run"
    );
    check_aarch64_matches_native(&dir, "tail_calls", &source, &[], &expected);
}

#[test]
fn staticlib_and_header_link_into_a_c_program() {
    let dir = scratch_dir("staticlib");
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
        .args(kiln_abi::link::glibc_link_flags("gcc_s")));
    assert_success(&linked, "linking the C host");
    assert!(
        !stack_is_executable(&exe),
        "the C host has an executable stack"
    );
    let output = run(&mut Command::new(&exe));
    assert_success(&output, "the C host");
    let stdout = &output.stdout;
    assert!(stdout.contains("calc_add(2, 3) = 5"), "{stdout}");
    assert!(stdout.contains("trapped: code 8"), "{stdout}");
}

/// The project's C test programs give the same stdout and exit code on aarch64 (under
/// qemu, gnu and musl) as natively on x86_64.
#[test]
fn c_programs_on_aarch64_match_native() {
    let dir = scratch_dir("aarch64-programs");
    let sources = programs_dir().join("c");
    for (program, args) in [
        ("hello", vec![]),
        ("compute", vec![]),
        ("args", vec!["7", "two words"]),
    ] {
        let source = sources.join(format!("{program}.c"));
        let native = dir.join(format!("{program}-native"));
        build_c_native(&source, &native).unwrap_or_else(|error| panic!("{error}"));
        let wasm = dir.join(format!("{program}.wasm"));
        clang_wasm(&source, &wasm);
        let expected = run(Command::new(&native).args(&args).env_clear());
        check_aarch64_matches_native(&dir, program, &wasm, &args, &expected);
    }
}

/// Code compiled with explicit bounds checks (for small address spaces) behaves like the
/// default: the same output for a real program, the same trap for an out-of-bounds access.
#[test]
fn bounds_checked_code_behaves_like_guard_page_code() {
    let dir = scratch_dir("bounds-checks");
    let source = programs_dir().join("c").join("compute.c");
    let wasm = dir.join("compute.wasm");
    clang_wasm(&source, &wasm);
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
    let trap = wat_program("out_of_bounds");
    let trapping = dir.join("out_of_bounds-checked");
    build(host, &trap, &trapping, &["--bounds-checks"]);
    let output = run(&mut Command::new(&trapping));
    assert_eq!(output.code, Some(134));
    let stderr = &output.stderr;
    assert!(
        stderr.contains("error: wasm trap: out of bounds memory access"),
        "{stderr}"
    );
}

/// The project's Rust test programs, built for wasm32-wasip1, give the same stdout and exit
/// code on aarch64 (under qemu) as natively on x86_64.
#[test]
fn rust_programs_on_aarch64_match_native() {
    const PROGRAMS: [(&str, &[&str]); 3] =
        [("hello", &[]), ("compute", &[]), ("args", &["3", "x y"])];
    let target_dir = repository_root()
        .join("target")
        .join("e2e-programs-aarch64");
    build_rust_programs(&target_dir, &PROGRAMS.map(|(program, _)| program))
        .unwrap_or_else(|error| panic!("building the Rust test programs: {error}"));
    let dir = scratch_dir("aarch64-rust");
    for (program, args) in PROGRAMS {
        let built = Program::rust(&target_dir, program);
        let expected = run(Command::new(&built.native).args(args).env_clear());
        check_aarch64_matches_native(&dir, program, &built.wasm, args, &expected);
    }
}

/// When a target's linker or C library is missing, `kiln build` says which Debian package
/// to install (here a linker that is not on `PATH`, and one that reports a missing start
/// file as ld does without `libc6-dev-arm64-cross`), exit 1, one line.
#[test]
fn missing_toolchains_name_their_packages() {
    let scratch = scratch_dir("missing-toolchain");
    let module = wat_program("add");
    let fake = scratch.join("fake-ld");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho '/usr/bin/ld: cannot find Scrt1.o: No such file or directory' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output_path = scratch.join("out");
    let cases: [(&str, Option<&Path>, &str); 2] = [
        ("x86_64-unknown-linux-musl", None, "apt-get install lld"),
        (
            "aarch64-unknown-linux-gnu",
            Some(&fake),
            "apt-get install libc6-dev-arm64-cross",
        ),
    ];
    for (target, linker, hint) in cases {
        let mut command = Command::new(KILN);
        command
            .args(["build", "--target", target])
            .arg(&module)
            .arg("-o")
            .arg(&output_path);
        match linker {
            Some(linker) => {
                command.arg("--linker").arg(linker);
            }
            // No linker on PATH at all.
            None => {
                command.env("PATH", scratch.join("empty"));
            }
        }
        let output = run(&mut command);
        if output.stderr.contains("no kiln runtime for") {
            eprintln!("skipped {target}: {}", output.stderr.trim());
            continue;
        }
        assert_eq!(output.code, Some(1), "{target}: {}", output.describe());
        assert!(
            output.stderr.contains(hint),
            "{target}: {}",
            output.describe()
        );
        assert_eq!(
            output.stderr.trim_end().lines().count(),
            1,
            "{}",
            output.describe()
        );
    }
}

/// What `tests/programs/wat/relaxed_simd.wat` prints in the spec's deterministic profile,
/// worked out from the spec's definitions (the first allowed result of every relaxed
/// operator: swizzle zeroes indices past 15, truncations saturate with NaN as 0, lane
/// selects go bit by bit, min/max are wasm's, q15 saturates, the dot products multiply
/// signed by signed and add pairs with signed saturation, multiply-add rounds twice, and
/// the NaN lanes of the float operators are the canonical NaN).
const RELAXED_SIMD_DETERMINISTIC: &str = "\
swizz    110000130000001f1500000000000010
trf32s   ffffffff800000007fffffff00000000
trf32u   0000000100000000ffffffff00000000
trf64s   00000000000000007fffffff00000000
trf64u   00000000000000000000000000000000
f32madd  4000000040e000004000100000000000
f32nmadd 00000000c0a00000c000100000000000
f64madd  40000000020000000000000000000000
f64nmadd be500000000000000000000000000000
lsel8    23232211211211222323221121121122
lsel16   22232223222211112211112211112222
lsel32   22221111111122221111111122222222
lsel64   11111111111111112222222222222222
f32min   8000000080000000ffffffffffffffff
f32max   0000000000000000ffffffffffffffff
f64min   8000000000000000ffffffffffffffff
f64max   ffffffffffffffff0000000000000000
f32minN  7fc000007fc000007fc000007fc00000
f64maxN  7ff80000000000007ff8000000000000
f32maddN 7fc000007fc000007fc000007fc00000
q15mulr  000000007fff7ffee000200080017fff
dot16    00008100ffc300190005ff027fff7f00
dot32    ffff8104ffffffdfffffff090000fe01
";

/// `--relaxed-simd=deterministic` gives bit-identical results on x86_64 and on aarch64
/// (under qemu), the deterministic profile's, for inputs where the two targets' native
/// forms differ; and the default (`fast`) forms do differ on them, so the inputs reach
/// the edge cases.
#[test]
fn relaxed_simd_deterministic_is_the_same_on_x86_64_and_aarch64() {
    let dir = scratch_dir("relaxed-simd");
    let source = wat_program("relaxed_simd");
    let mut outputs = Vec::new();
    for mode in ["fast", "deterministic"] {
        for target in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
            let exe = dir.join(format!("relaxed_simd-{mode}-{target}"));
            build(target, &source, &exe, &["--relaxed-simd", mode]);
            let output = if target.starts_with("x86_64") {
                run(&mut Command::new(&exe))
            } else {
                run(&mut qemu(target, &exe))
            };
            assert_success(&output, &format!("relaxed_simd ({mode}) on {target}"));
            outputs.push(output.stdout);
        }
    }
    let (fast_x86_64, fast_aarch64) = (&outputs[0], &outputs[1]);
    let (deterministic_x86_64, deterministic_aarch64) = (&outputs[2], &outputs[3]);
    assert_eq!(deterministic_x86_64, RELAXED_SIMD_DETERMINISTIC, "x86_64");
    assert_eq!(deterministic_aarch64, RELAXED_SIMD_DETERMINISTIC, "aarch64");
    assert_ne!(
        fast_x86_64, fast_aarch64,
        "the native forms agree on every input: the program no longer reaches the edge cases"
    );
}
