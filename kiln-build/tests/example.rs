//! The embedding example (`examples/embed`), built the way a user builds it: cargo, in a
//! target directory of its own (`target/examples-embed`), compiles the Rust and C guests
//! and precompiles them with kiln-build from the example's build script. The program's
//! output is checked line by line (the components `calc` and `command` among it), the final
//! binary's symbols must show the modules, the components, the runtime's ABI-version
//! marker and nothing of Cranelift or wasmparser, and bindings that require another ABI
//! version must fail to link with a message naming that version.
//!
//! Needs what the example needs: the wasm32-wasip1 and wasm32-wasip2 Rust targets and
//! clang, lld and wasi-libc (`.ci/run` installs them).

use object::{Object, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Both tests build into the same target directory, one at a time.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

fn workspace_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("examples-embed")
}

/// `cargo build --release` of the example; with `fake_abi_version`, its bindings require
/// that ABI version.
fn build_example(fake_abi_version: Option<u32>) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(workspace_dir().join("examples/embed/Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir())
        // The test's own build settings are not the example's.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS");
    match fake_abi_version {
        Some(version) => command.env("KILN_BUILD_FAKE_ABI_VERSION_FOR_TESTS", version.to_string()),
        None => command.env_remove("KILN_BUILD_FAKE_ABI_VERSION_FOR_TESTS"),
    };
    command.output().expect("running cargo")
}

const EXPECTED_OUTPUT: &str = "\
filter.add(2, 3) = 5
filter.scale(1.5, 4.0) = 6
[host] log_value(label 1, value 333)
filter.filter(\"Hello, WebAssembly!\") kept 13 bytes: \"elloebssembly\"
host saw a logged total of 333
FILTER_VERSION = 3
filter.divide(1, 0) trapped: unreachable
  backtrace includes divide: true
after the trap, filter.divide(84, 2) = 42
thread 1: filter.triangle(20000000) = 200000010000000
thread 2: caught 1000 traps, instance still working
filter under a 64 KiB memory cap: memory 0 starts with 17 pages (1114112 bytes), over the limit of 65536 bytes
meter.count(100) with 1000 units of fuel: Some(300) left
meter.count(100000) trapped: all fuel consumed
meter.spin() from another thread: interrupted
[guest] bonjour, Ada Lovelace! (6 vowels, score 126)
greet.greet returned 126
greet.peek(0) trapped: out of bounds memory access
[guest] bonjour, Bob! (1 vowels, score 31)
greet.greet returned 31
raise.check(7) = 7
raise.check(500): uncaught exception, tag too_large
raise.clamp(500) = 100
calc exports [\"add\", \"divide\", \"greet\"]
calc.add(2, 40) = 42
calc.greet(\"Ada\") = \"Hello, Ada!\"
calc.call(\"add\", [7, 8]) = [U32(15)]
calc.divide(1, 0) trapped: integer divide by zero
after the trap, calc.divide(84, -2) = -42
calc.call(\"add\", [\"seven\"]): host function error: 1 arguments for a function of 2
calc.call(\"sub\"): bad arguments: the component has no export `sub` (it exports add, divide, greet)
[component] args [\"one\", \"two\"]
[component] GREETING=hej
command [\"one\", \"two\"]: Ok(Ok(())), wrote \"2 args\\n\"
[component] args [\"fail\"]
[component] GREETING=hej
command [\"fail\"]: Ok(Err(())), wrote \"1 args\\n\"
done
";

#[test]
fn example_builds_runs_and_links_no_compiler() {
    let _lock = BUILD_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let build = build_example(None);
    assert!(
        build.status.success(),
        "building examples/embed failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let binary = target_dir().join("release/kiln-embed-example");
    let run = Command::new(&binary).output().expect("running the example");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the example failed ({}):\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(stdout, EXPECTED_OUTPUT);

    let bytes = std::fs::read(&binary).expect("reading the example binary");
    let file = object::File::parse(&*bytes).expect("parsing the example binary");
    let names: Vec<String> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter_map(|symbol| symbol.name().ok().map(str::to_owned))
        .collect();
    assert!(names.len() > 100, "the example binary has no symbol table");
    let forbidden: Vec<&String> = names
        .iter()
        .filter(|name| {
            let name = name.to_ascii_lowercase();
            name.contains("cranelift") || name.contains("wasmparser")
        })
        .collect();
    assert!(
        forbidden.is_empty(),
        "the host binary links the compiler: {:?}",
        &forbidden[..forbidden.len().min(10)]
    );
    let marker = kiln_abi::symbols::abi_version_symbol(kiln_abi::ABI_VERSION);
    for expected in [
        "filter_kiln_module",
        "greet_kiln_module",
        "calc_kiln_component",
        "calc_kiln_m0_kiln_module",
        "command_kiln_component",
        marker.as_str(),
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "the example binary has no symbol {expected}"
        );
    }
}

#[test]
fn bindings_for_another_abi_version_fail_to_link() {
    let _lock = BUILD_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let other_version = kiln_abi::ABI_VERSION + 1;
    let build = build_example(Some(other_version));
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(
        !build.status.success(),
        "bindings for ABI version {other_version} linked with a runtime of version {}",
        kiln_abi::ABI_VERSION
    );
    let marker = kiln_abi::symbols::abi_version_symbol(other_version);
    assert!(
        stderr.contains("undefined") && stderr.contains(&marker),
        "the link error does not name {marker}:\n{stderr}"
    );
}
