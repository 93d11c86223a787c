//! Builds the guest modules from source and precompiles them with kiln-build:
//! - `filter`: the Rust crate in guests/filter, built for wasm32-wasip1 by a nested cargo;
//! - `greet`: guests/greet.c, a WASI reactor built with clang and wasi-libc;
//! - `raise`: guests/raise.wat, a module whose exception reaches the host.
//! - `meter`: guests/meter.wat, with fuel metering and interruption checks compiled in;
//! - `calc`: guests/calc.wat, a component (kiln_build::Component) with typed exports;
//! - `command`: the Rust crate in guests/command, built for wasm32-wasip2: a WASI 0.2
//!   command, embedded as a component.
//!
//! Needs `rustup target add wasm32-wasip1 wasm32-wasip2` and clang, lld and wasi-libc
//! (Debian: `apt-get install clang lld wasi-libc`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("{what}: cannot run {:?}: {error}", command.get_program()));
    assert!(status.success(), "{what} failed ({status})");
}

/// The Rust guest `guests/<name>` for `target`, in a target directory of its own under
/// OUT_DIR; returns its `.wasm`.
fn build_rust_guest(manifest_dir: &Path, out_dir: &Path, name: &str, target: &str) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = out_dir.join("guest-target");
    run(
        Command::new(cargo)
            .args(["build", "--release", "--target", target, "--manifest-path"])
            .arg(manifest_dir.join(format!("guests/{name}/Cargo.toml")))
            .arg("--target-dir")
            .arg(&target_dir)
            // This build's flags and target are for the host program, not the guest.
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET"),
        &format!("building the Rust guest {name} (is the {target} target installed?)"),
    );
    target_dir.join(format!("{target}/release/{name}.wasm"))
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

    let filter = build_rust_guest(&manifest_dir, &out_dir, "filter", "wasm32-wasip1");
    let command = build_rust_guest(&manifest_dir, &out_dir, "command", "wasm32-wasip2");
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
    // Components: their core modules and plan in one object each.
    kiln_build::Component::new(manifest_dir.join("guests/calc.wat"))
        .name("calc")
        .compile()
        .unwrap();
    kiln_build::Component::new(command)
        .name("command")
        .compile()
        .unwrap();
}
