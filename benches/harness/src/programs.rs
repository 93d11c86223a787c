//! kiln's own benchmark programs (`benches/programs/`): each Rust and C source built twice
//! at the same optimisation level, natively and for wasm32-wasip1 / wasm32-wasi, so the
//! native engine has a peer. Their expected stdout sits in `benches/programs/expected/`.
//!
//! The SQLite workload (`rust/src/bin/sqlite.rs`, two rows: an in-memory and an on-disk
//! database) compiles SQLite's C amalgamation for both targets, about a minute each on
//! the 2-core machine: it is built only when one of its rows is selected (never for
//! `--quick`), and then once, as cargo keeps it in `programs/rust-target/` between runs.

use crate::process::run_tool;
use crate::workloads::{Check, Suite, Workload};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const RUST_PROGRAMS: &[&str] = &["hashloop", "sort", "matmul"];
/// The SQLite rows: the binary `sqlite` with its argument, as `rust-sqlite-<argument>`.
pub const SQLITE_MODES: &[&str] = &["memory", "disk"];
/// Each C program: its main file's name and the other files it is built from.
const C_PROGRAMS: &[(&str, &[&str])] = &[
    ("crc32", &[]),
    ("qsort", &["merge_sort.c"]),
    ("matmul", &[]),
];
/// The same flags for both builds; no FMA contraction, so native and wasm round alike.
const C_FLAGS: &[&str] = &["-O2", "-ffp-contract=off"];
/// The wasm builds may use 128-bit SIMD (Wasm 2.0's `simd128`), as the native builds use
/// the x86_64 baseline's SSE2: both compilers vectorize the same loops. Without it the
/// vectorizable rows (the matrix multiplies) measured clang's and rustc's auto-vectorizer
/// against its absence, not kiln against native (2.6–2.9× native; 1.2–1.5× with it).
const C_WASM_FLAGS: &[&str] = &["-msimd128"];
const RUST_WASM_FLAGS: &str = "-C target-feature=+simd128";

pub struct Program {
    /// `rust-sort`, `c-crc32`, ...
    pub name: String,
    pub wasm: PathBuf,
    pub native: PathBuf,
    pub expected: PathBuf,
    pub args: Vec<String>,
    /// Its own working directory, preopened as `.` (the on-disk SQLite database lives
    /// there); `None`: the shared programs folder, nothing preopened.
    pub workdir: Option<PathBuf>,
}

pub struct BuiltPrograms {
    pub programs: Vec<Program>,
    /// The cold-start program (`c/hello.c`).
    pub hello_wasm: PathBuf,
    pub hello_native: PathBuf,
    /// The hello-world linked statically against musl (`musl-gcc -static`), when
    /// `musl-gcc` (Debian's musl-tools) is present.
    pub hello_native_static: Option<PathBuf>,
    programs_dir: PathBuf,
}

impl BuiltPrograms {
    pub fn workloads(&self) -> Vec<Workload> {
        self.programs
            .iter()
            .map(|program| Workload {
                suite: Suite::Own,
                name: program.name.clone(),
                wasm: program.wasm.clone(),
                cwd: program
                    .workdir
                    .clone()
                    .unwrap_or_else(|| self.programs_dir.clone()),
                preopens: match program.workdir {
                    Some(_) => vec!["."],
                    None => Vec::new(),
                },
                args: program.args.clone(),
                stdin: None,
                check: match std::fs::read_to_string(&program.expected) {
                    Ok(stdout) => Check::Exact {
                        stdout,
                        stderr: Some(String::new()),
                    },
                    Err(_) => Check::ExitOnly,
                },
                native: Some(program.native.clone()),
                deterministic: false,
                region_from_stdout: None,
            })
            .collect()
    }
}

/// The name of the row of SQLite mode `mode`.
pub fn sqlite_row(mode: &str) -> String {
    format!("rust-sqlite-{mode}")
}

/// Builds every program (cargo and clang skip nothing: the builds take seconds), and the
/// SQLite workload when `with_sqlite`.
pub fn build_all(root: &Path, out: &Path, with_sqlite: bool) -> Result<BuiltPrograms> {
    let source = root.join("benches/programs");
    std::fs::create_dir_all(out)?;
    let mut programs = Vec::new();

    let manifest = source.join("rust/Cargo.toml");
    let target_dir = out.join("rust-target");
    for target in [None, Some("wasm32-wasip1")] {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(&manifest);
        cargo.arg("--target-dir").arg(&target_dir);
        if with_sqlite {
            cargo.args(["--features", "sqlite"]);
        }
        // SQLite's C code (the `cc` crate): clang for both targets, as for the C programs;
        // Debian's clang 14 knows the WASI target as `wasm32-wasi`, and its sysroot. With
        // `simd128`, as the C programs (`C_WASM_FLAGS`). `HAVE_PREAD`/`HAVE_PWRITE`: SQLite
        // defines them for `__linux__` only, and without them its file layer seeks before
        // every read and write (`lseek` + `readv`: twice the host calls of the native
        // build's `pread64`); wasi-libc has both (`fd_pread`, `fd_pwrite`).
        cargo
            .env("CC", "clang")
            .env("CC_wasm32_wasip1", "clang")
            .env(
                "CFLAGS_wasm32_wasip1",
                "--target=wasm32-wasi -msimd128 -DHAVE_PREAD=1 -DHAVE_PWRITE=1",
            )
            .env("AR_wasm32_wasip1", wasm_ar());
        if let Some(target) = target {
            cargo.args(["--target", target]);
            cargo.env("CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS", RUST_WASM_FLAGS);
        }
        run_tool(&mut cargo).with_context(|| {
            format!(
                "building the Rust programs for {}",
                target.unwrap_or("the host")
            )
        })?;
    }
    for name in RUST_PROGRAMS {
        programs.push(Program {
            name: format!("rust-{name}"),
            wasm: target_dir.join(format!("wasm32-wasip1/release/{name}.wasm")),
            native: target_dir.join(format!("release/{name}")),
            expected: source.join(format!("expected/rust-{name}.stdout")),
            args: Vec::new(),
            workdir: None,
        });
    }
    if with_sqlite {
        for mode in SQLITE_MODES {
            let name = sqlite_row(mode);
            let workdir = out.join("work").join(&name);
            std::fs::create_dir_all(&workdir)
                .with_context(|| format!("creating {}", workdir.display()))?;
            programs.push(Program {
                wasm: target_dir.join("wasm32-wasip1/release/sqlite.wasm"),
                native: target_dir.join("release/sqlite"),
                expected: source.join(format!("expected/{name}.stdout")),
                args: vec![mode.to_string()],
                workdir: Some(workdir),
                name,
            });
        }
    }

    let c_dir = source.join("c");
    let c_out = out.join("c");
    std::fs::create_dir_all(&c_out)?;
    for (name, others) in C_PROGRAMS.iter().chain([("hello", &[][..])].iter()) {
        let input = c_dir.join(format!("{name}.c"));
        let others: Vec<PathBuf> = others.iter().map(|other| c_dir.join(other)).collect();
        let wasm = c_out.join(format!("{name}.wasm"));
        let native = c_out.join(name);
        run_tool(
            Command::new("clang")
                .args(C_FLAGS)
                .args(C_WASM_FLAGS)
                .arg("--target=wasm32-wasi")
                .arg(&input)
                .args(&others)
                .arg("-o")
                .arg(&wasm),
        )
        .with_context(|| {
            format!(
                "building {} for wasm32-wasi (clang, lld, wasi-libc)",
                input.display()
            )
        })?;
        run_tool(
            Command::new("clang")
                .args(C_FLAGS)
                .arg(&input)
                .args(&others)
                .arg("-o")
                .arg(&native),
        )
        .with_context(|| format!("building {} natively", input.display()))?;
        if *name != "hello" {
            programs.push(Program {
                name: format!("c-{name}"),
                wasm,
                native,
                expected: source.join(format!("expected/c-{name}.stdout")),
                args: Vec::new(),
                workdir: None,
            });
        }
    }
    let hello_native_static = c_out.join("hello-static");
    let hello_native_static = run_tool(
        Command::new("musl-gcc")
            .args(["-O2", "-static"])
            .arg(c_dir.join("hello.c"))
            .arg("-o")
            .arg(&hello_native_static),
    )
    .is_ok()
    .then_some(hello_native_static);
    Ok(BuiltPrograms {
        programs,
        hello_wasm: c_out.join("hello.wasm"),
        hello_native: c_out.join("hello"),
        hello_native_static,
        programs_dir: out.to_path_buf(),
    })
}

/// The archiver for wasm objects: Debian names LLVM's `llvm-ar-<version>`; a plain
/// `llvm-ar` where there is one.
fn wasm_ar() -> &'static str {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
    };
    ["llvm-ar", "llvm-ar-14", "llvm-ar-15", "llvm-ar-16"]
        .into_iter()
        .find(|name| on_path(name))
        .unwrap_or("llvm-ar")
}
