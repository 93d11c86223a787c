//! Builds the runtime archive that `kiln build` links executables against, for the target
//! kiln itself is built for, and embeds it in the `kiln` binary (see src/runtime_archive.rs).
//!
//! The archive is a fat-LTO static library of `kiln-runtime` with its `exe-main` feature
//! (the executable's `main`), built with the workspace's `runtime` profile (size-optimised,
//! panic=abort) by a nested cargo in its own target directory.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target = env::var("TARGET").unwrap();
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap();
    for watched in [
        "runtime/src",
        "runtime/Cargo.toml",
        "abi/src",
        "abi/Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rustc-env=KILN_HOST_TARGET={target}");

    let target_dir = out_dir.join("runtime-target");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
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
            "exe-main",
            "--profile",
            "runtime",
            "--target",
            &target,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        // The outer build's flags are for kiln itself, not for the runtime archive.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("running cargo to build the kiln runtime archive");
    assert!(
        status.success(),
        "building the kiln runtime archive for {target} failed"
    );
    let archive = target_dir
        .join(&target)
        .join("runtime")
        .join("libkiln_runtime.a");
    std::fs::copy(&archive, out_dir.join("libkiln_runtime.a"))
        .unwrap_or_else(|e| panic!("copying {}: {e}", archive.display()));
}
