//! The C host example (`examples/c-host`): `calc.wat` becomes `libcalc.a` and `calc.h` by
//! the code of `kiln compile --emit staticlib --header calc.h` (`cli/src/staticlib.rs`,
//! compiled into this test), with the kiln runtime built as a static library with its
//! `c-api` feature by a nested cargo (into `target/c-api-runtime`); `main.c` is compiled and
//! linked with `cc` against them and run, and its output checked. A header for another ABI
//! version must fail to link, naming the version it needs.

#[allow(dead_code)]
#[path = "../../cli/src/staticlib.rs"]
mod staticlib;

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The runtime as a static library with the C interface.
fn c_api_runtime() -> PathBuf {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("c-api-runtime");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_dir())
        .args([
            "rustc",
            "--release",
            "--locked",
            "-p",
            "kiln-runtime",
            "--lib",
        ])
        .args([
            "--crate-type",
            "staticlib",
            "--features",
            "c-api",
            "--target-dir",
        ])
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("running cargo");
    assert!(
        output.status.success(),
        "building the C API runtime failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir.join("release/libkiln_runtime.a")
}

/// Links `main.c` with the archive and header in `dir`; returns the executable or the
/// linker's stderr.
fn link_c_host(dir: &Path) -> Result<PathBuf, String> {
    let executable = dir.join("c-host");
    let output = Command::new("cc")
        .arg("-O1")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(dir)
        .arg(workspace_dir().join("examples/c-host/main.c"))
        .arg(dir.join("libcalc.a"))
        .args(kiln_abi::link::glibc_link_flags("gcc_s"))
        .arg("-o")
        .arg(&executable)
        .output()
        .expect("running cc (install gcc)");
    if output.status.success() {
        Ok(executable)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

const EXPECTED_OUTPUT: &str = "\
calc_add(2, 3) = 5
calc_scale(1.5, 4) = 6
[host] log(4, 430)
calc_sum(\"kiln\") = 430 (memory of 65536 bytes, 1 log calls)
calc_divide(1, 0) trapped: code 8, innermost frame divide
wasm trap: integer divide by zero
wasm backtrace:
    0: divide (calc, function 3, offset 0x96)
after the trap, calc_divide(84, 2) = 42
calls = 4
calls after setting 100 and one more call = 101
under a 32 KiB memory cap: memory 0 starts with 1 pages (65536 bytes), over the limit of 32768 bytes
done
";

#[test]
fn c_host_links_the_static_library_and_runs() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-host");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = workspace_dir().join("examples/c-host/calc.wat");
    let runtime = c_api_runtime();
    let options = kiln_compiler::CompileOptions::default();
    let header_path = dir.join("calc.h");
    staticlib::emit_staticlib(
        &source,
        &options,
        &runtime,
        &dir.join("libcalc.a"),
        &header_path,
    )
    .unwrap();
    let header = std::fs::read_to_string(&header_path).unwrap();

    let executable = link_c_host(&dir).unwrap_or_else(|stderr| panic!("linking failed:\n{stderr}"));
    let run = Command::new(&executable).output().unwrap();
    assert!(
        run.status.success(),
        "the C host failed ({}):\n{}{}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), EXPECTED_OUTPUT);

    // The same program with a header for the next ABI version does not link.
    let current = kiln_abi::symbols::abi_version_symbol(kiln_abi::ABI_VERSION);
    let next = kiln_abi::symbols::abi_version_symbol(kiln_abi::ABI_VERSION + 1);
    assert!(header.contains(&current));
    std::fs::write(dir.join("calc.h"), header.replace(&current, &next)).unwrap();
    let stderr = link_c_host(&dir).expect_err("a header for another ABI version linked");
    assert!(
        stderr.contains("undefined") && stderr.contains(&next),
        "the link error does not name {next}:\n{stderr}"
    );
}
