//! Builds the guest modules from source and precompiles them with kiln-build:
//! - `filter`: the Rust crate in guests/filter, built for wasm32-wasip1 by a nested cargo;
//! - `greet`: guests/greet.c, a WASI reactor built with clang and wasi-libc;
//! - `raise`: guests/raise.wat, a module whose exception reaches the host.
//! - `meter`: guests/meter.wat, with fuel metering and interruption checks compiled in.
//!
//! Needs `rustup target add wasm32-wasip1` and clang, lld and wasi-libc (Debian:
//! `apt-get install clang lld wasi-libc`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("{what}: cannot run {:?}: {error}", command.get_program()));
    assert!(status.success(), "{what} failed ({status})");
}

/// guests/filter for wasm32-wasip1, in a target directory of its own under OUT_DIR.
fn build_rust_guest(manifest_dir: &Path, out_dir: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = out_dir.join("guest-target");
    run(
        Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip1",
                "--manifest-path",
            ])
            .arg(manifest_dir.join("guests/filter/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            // This build's flags and target are for the host program, not the guest.
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET"),
        "building the Rust guest (is the wasm32-wasip1 target installed?)",
    );
    target_dir.join("wasm32-wasip1/release/filter.wasm")
}

/// guests/greet.c as a WASI reactor. Compiling and linking are separate steps so that clang
/// does not run `wasm-opt`, which would strip the function names kiln's backtraces show.
fn build_c_guest(manifest_dir: &Path, out_dir: &Path) -> PathBuf {
    let object = out_dir.join("greet.o");
    let wasm = out_dir.join("greet.wasm");
    run(
        Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2", "-c"])
            .arg(manifest_dir.join("guests/greet.c"))
            .arg("-o")
            .arg(&object),
        "compiling the C guest (are clang and wasi-libc installed?)",
    );
    run(
        Command::new("clang")
            .args(["--target=wasm32-wasi", "-mexec-model=reactor"])
            .arg(&object)
            .arg("-o")
            .arg(&wasm),
        "linking the C guest (is lld installed?)",
    );
    wasm
}

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=guests");

    let filter = build_rust_guest(&manifest_dir, &out_dir);
    let greet = build_c_guest(&manifest_dir, &out_dir);

    // The calls that embed the modules: each compiles for this crate's target, links
    // the object into the crate and writes `$OUT_DIR/kiln/<name>.rs`.
    kiln_build::Module::new(filter)
        .name("filter")
        .compile()
        .unwrap();
    kiln_build::Module::new(greet)
        .name("greet")
        .compile()
        .unwrap();
    kiln_build::Module::new(manifest_dir.join("guests/raise.wat"))
        .name("raise")
        .compile()
        .unwrap();
    kiln_build::Module::new(manifest_dir.join("guests/meter.wat"))
        .name("meter")
        .fuel(true)
        .interruptible(true)
        .compile()
        .unwrap();
}
