//! Builds the runtime archives that `kiln build` links executables against and embeds them
//! in the `kiln` binary (see src/runtime_archive.rs), for every supported target whose
//! Rust standard library is installed (`rustup target add <triple>`).
//!
//! Each archive is a fat-LTO static library of `kiln-runtime` with its `exe-main` feature
//! (the executable's `main`), built with the workspace's `runtime` profile (size-optimised,
//! panic=abort) by a nested cargo in its own target directory.
//!
//! Executables pay for what they link, so their archives are built by a pinned nightly
//! toolchain ([`SIZE_TOOLCHAIN`], with its `rust-src`) that rebuilds the standard library
//! with the `immediate-abort` panic strategy and without unwind tables: no panic messages,
//! no backtrace symbolizer (gimli, addr2line, miniz), no unwinder. A static hello goes from
//! about 760 KB to 360 KB. kiln reports traps itself and never unwinds through the runtime,
//! so nothing is lost but the text of a panic inside the runtime (which is a kiln bug: the
//! process still stops, with SIGILL). Without that toolchain the archive is built by the
//! toolchain building kiln, with a warning. `KILN_RUNTIME_TOOLCHAIN=<toolchain>` picks
//! another, `=none` the fallback. For musl targets the C
//! runtime objects and `libc.a` of Rust's self-contained musl are embedded too, so a static
//! executable can be linked with nothing but `ld.lld` (and its `libunwind.a` when the
//! archive can unwind, that is without the size toolchain).
//!
//! For the host target a second archive, with the C interface (feature `c-api`) and no
//! `main`, serves `kiln compile --emit staticlib`.
//!
//! `KILN_RUNTIME_TARGETS=a,b` limits the targets built (the host target is always built).

use std::env;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const SUPPORTED: [&str; 4] = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "aarch64-unknown-linux-musl",
];

/// The toolchain that builds the executables' runtime archives with `-Zbuild-std` (see the
/// module documentation); `.ci/run` installs it with `rust-src`.
const SIZE_TOOLCHAIN: &str = "nightly-2026-05-20";

/// Files of Rust's self-contained musl that a static link needs.
const MUSL_FILES: [&str; 7] = [
    "crt1.o",
    "crti.o",
    "crtbegin.o",
    "crtend.o",
    "crtn.o",
    "libc.a",
    "libunwind.a",
];

fn target_libdir(rustc: &str, target: &str) -> Option<PathBuf> {
    let output = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    let has_std = std::fs::read_dir(&dir).ok()?.any(|entry| {
        entry
            .map(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
            .unwrap_or(false)
    });
    has_std.then_some(dir)
}

/// The toolchain for `-Zbuild-std` builds when it is installed with its standard library
/// sources, else why not.
fn size_toolchain() -> Result<String, String> {
    let toolchain = env::var("KILN_RUNTIME_TOOLCHAIN").unwrap_or_else(|_| SIZE_TOOLCHAIN.into());
    if toolchain == "none" {
        return Err("KILN_RUNTIME_TOOLCHAIN=none".into());
    }
    let sysroot = Command::new("rustup")
        .args(["run", &toolchain, "rustc", "--print", "sysroot"])
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let install =
        format!("rustup toolchain install {toolchain} --profile minimal --component rust-src");
    let Some(sysroot) = sysroot else {
        return Err(format!(
            "toolchain {toolchain} is not installed ({install})"
        ));
    };
    if !sysroot.join("lib/rustlib/src/rust/library/std").is_dir() {
        return Err(format!("toolchain {toolchain} lacks rust-src ({install})"));
    }
    Ok(toolchain)
}

/// Builds one runtime archive: with `size_toolchain` (a nightly) rebuilding the standard
/// library for size, or else with the toolchain building kiln.
fn build_archive(
    workspace: &Path,
    out_dir: &Path,
    target: &str,
    features: &str,
    size_toolchain: Option<&str>,
) -> PathBuf {
    let target_dir = out_dir.join(if size_toolchain.is_some() {
        "runtime-target-size"
    } else {
        "runtime-target"
    });
    let mut command = match size_toolchain {
        Some(toolchain) => {
            let mut command = Command::new("rustup");
            command.args(["run", toolchain, "cargo"]);
            command
        }
        None => Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
    };
    command
        .current_dir(workspace)
        .args([
            "rustc",
            "--quiet",
            "--locked",
            "-p",
            "kiln-runtime",
            "--lib",
            "--crate-type",
            "staticlib",
        ])
        .args([
            "--features",
            features,
            "--profile",
            "runtime",
            "--target",
            target,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags are for kiln itself, not for the runtime archive.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    if size_toolchain.is_some() {
        command
            // `optimize_for_size`: the standard library's smaller algorithms (sorting,
            // formatting), about 4 KB of a static hello.
            .args([
                "-Zbuild-std=std,panic_abort",
                "-Zbuild-std-features=optimize_for_size",
            ])
            .env("RUSTFLAGS", size_rustflags(target))
            // The outer cargo's choice of compiler and toolchain is stable kiln's own.
            .env_remove("RUSTC")
            .env_remove("RUSTDOC")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO");
    }
    let status = command
        .status()
        .expect("running cargo to build the kiln runtime archive");
    assert!(
        status.success(),
        "building the kiln runtime archive for {target} failed"
    );
    target_dir
        .join(target)
        .join("runtime")
        .join("libkiln_runtime.a")
}

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let host = env::var("TARGET").unwrap();
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap();
    for watched in [
        "runtime/src",
        "runtime/Cargo.toml",
        "abi/src",
        "abi/Cargo.toml",
        "compiler/src",
        "component/src",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!(
        "cargo:rustc-env=KILN_COMPILER_SOURCE_HASH={:016x}",
        source_hash(workspace)
    );
    println!("cargo:rerun-if-env-changed=KILN_RUNTIME_TARGETS");
    println!("cargo:rerun-if-env-changed=KILN_RUNTIME_TOOLCHAIN");
    let size_toolchain = size_toolchain()
        .inspect_err(|why| {
            println!("cargo:warning=runtime archives for executables are built without -Zbuild-std, about twice as large: {why}");
        })
        .ok();
    println!("cargo:rustc-env=KILN_HOST_TARGET={host}");
    let wanted: Option<Vec<String>> = env::var("KILN_RUNTIME_TARGETS")
        .ok()
        .map(|list| list.split(',').map(|t| t.trim().to_string()).collect());

    let mut table = String::from("/// Targets with their embedded files, generated by build.rs.\n");
    table.push_str("pub static EMBEDDED: &[EmbeddedTarget] = &[\n");
    for target in SUPPORTED {
        let requested = target == host
            || wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|t| t == target));
        let libdir = if requested {
            target_libdir(&rustc, target)
        } else {
            None
        };
        let missing = match (requested, &libdir) {
            (false, _) => "not built: excluded by KILN_RUNTIME_TARGETS when kiln was built".to_string(),
            (true, None) => format!("the Rust standard library for {target} was not installed when kiln was built (rustup target add {target}, then rebuild kiln)"),
            (true, Some(_)) => String::new(),
        };
        writeln!(
            table,
            "    EmbeddedTarget {{ triple: {target:?}, missing: {missing:?}, files: &["
        )
        .unwrap();
        if let Some(libdir) = libdir {
            let dir = out_dir.join(target);
            std::fs::create_dir_all(&dir).unwrap();
            let archive = dir.join("libkiln_runtime.a");
            std::fs::copy(
                build_archive(
                    workspace,
                    &out_dir,
                    target,
                    "exe-main",
                    size_toolchain.as_deref(),
                ),
                &archive,
            )
            .unwrap();
            let mut files = vec![archive];
            if target == host {
                // The runtime with its C interface, for `kiln compile --emit staticlib`.
                let c_api = dir.join("libkiln_runtime_capi.a");
                std::fs::copy(
                    build_archive(workspace, &out_dir, target, "c-api", None),
                    &c_api,
                )
                .unwrap();
                files.push(c_api);
            }
            if target.ends_with("musl") {
                for name in MUSL_FILES {
                    // An archive built with `immediate-abort` never unwinds: without
                    // libunwind in the link, its `assert` no longer brings in musl's
                    // `stderr` FILE, which `exit` then flushes (about 600 bytes).
                    if name == "libunwind.a" && size_toolchain.is_some() {
                        continue;
                    }
                    let source = libdir.join("self-contained").join(name);
                    let copy = dir.join(name);
                    std::fs::copy(&source, &copy)
                        .unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));
                    files.push(copy);
                }
            }
            for file in files {
                let name = file.file_name().unwrap().to_string_lossy().into_owned();
                writeln!(
                    table,
                    "        ({name:?}, include_bytes!({:?})),",
                    file.display().to_string()
                )
                .unwrap();
            }
        }
        table.push_str("    ] },\n");
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("embedded_targets.rs"), table).unwrap();
}

/// A hash of the sources that decide what the compiler writes (the compiler, the component
/// translator, the ABI), for `kiln run`'s cache key: two builds of the same version whose
/// object formats differ (development builds between ABI-version bumps) must not share
/// cached objects. `DefaultHasher::new` hashes alike in every run of the same toolchain.
fn source_hash(workspace: &Path) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    for dir in ["compiler/src", "component/src", "abi/src"] {
        files(&workspace.join(dir), &mut paths);
    }
    paths.sort();
    let mut hasher = DefaultHasher::new();
    for path in paths {
        hasher.write(
            path.strip_prefix(workspace)
                .unwrap_or(&path)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.write(&std::fs::read(&path).unwrap_or_default());
    }
    hasher.finish()
}

/// The flags of the size-built runtime archive for `target`. On aarch64, atomics are
/// inline load/store-exclusive loops, which every ARMv8 core runs, instead of calls to
/// outline routines that pick LSE instructions when the CPU has them: those need the
/// standard library's start-up constructor to ask the CPU (`configure_builtins`), which
/// links `std_detect`'s feature cache (about 2 KB). The runtime's atomics are reference
/// counts and one-time initialisations, never contended enough for LSE to matter.
fn size_rustflags(target: &str) -> String {
    let mut flags =
        "-Zunstable-options -Cpanic=immediate-abort -Cforce-unwind-tables=no".to_string();
    if target.starts_with("aarch64") {
        flags.push_str(" -Ctarget-feature=-outline-atomics");
    }
    flags
}
