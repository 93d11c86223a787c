//! The Wasmtime engines, embedded: `kiln-bench exec MODULE` compiles (`Module::new`, JIT)
//! or deserializes (`--precompiled`, a file from `Module::serialize`) a module with the
//! default `Config`, links WASI preview1 (and `wasi_unstable`) from `wasmtime-wasi` (its
//! `clock_time_get` replaced by one that also reads the CPU-time clocks) and the
//! sightglass `bench.start` / `bench.end` as host functions recording `Instant`s, runs
//! `_start`, and writes the compile time (`compile NS`) and the region length (`NS`) to
//! `$KILN_BENCH_TIMES`.

use crate::process::TIMES_ENV;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wasmtime::{Caller, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

#[derive(clap::Args)]
pub struct ExecOptions {
    /// MODULE is a serialized module (`.cwasm`) to deserialize, not a `.wasm` to compile
    #[arg(long)]
    precompiled: bool,
    /// Preopen HOST as GUEST (repeatable)
    #[arg(long, value_name = "HOST::GUEST")]
    dir: Vec<String>,
    module: PathBuf,
    /// The guest's arguments after its name
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

struct Host {
    wasi: WasiP1Ctx,
    epoch: Instant,
    start: Option<Duration>,
    end: Option<Duration>,
}

/// Runs the module; the result is the process exit code (the guest's, or 134 on a trap).
pub fn exec(options: &ExecOptions) -> Result<i32> {
    let epoch = Instant::now();
    let engine = Engine::default();
    let module = if options.precompiled {
        // SAFETY: the file was written by `precompile` below, with this same Wasmtime.
        unsafe { Module::deserialize_file(&engine, &options.module) }
    } else {
        Module::from_file(&engine, &options.module)
    }
    .map_err(anyhow::Error::from)
    .with_context(|| format!("loading {}", options.module.display()))?;
    let compile = epoch.elapsed();

    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    let name = options
        .module
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("module");
    builder.arg(name);
    builder.args(&options.args);
    for grant in &options.dir {
        let (host, guest) = grant
            .split_once("::")
            .unwrap_or((grant.as_str(), grant.as_str()));
        builder
            .preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)?;
    }
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)
        .map_err(anyhow::Error::from)?;
    wasmtime_wasi::p0::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)
        .map_err(anyhow::Error::from)?;
    add_cpu_time_clocks(&mut linker)?;
    linker
        .func_wrap("bench", "start", |mut caller: Caller<'_, Host>| {
            let host = caller.data_mut();
            host.start = Some(host.epoch.elapsed());
        })
        .map_err(anyhow::Error::from)?;
    linker
        .func_wrap("bench", "end", |mut caller: Caller<'_, Host>| {
            let host = caller.data_mut();
            host.end = Some(host.epoch.elapsed());
        })
        .map_err(anyhow::Error::from)?;

    let mut store = Store::new(
        &engine,
        Host {
            wasi: builder.build_p1(),
            epoch,
            start: None,
            end: None,
        },
    );
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(anyhow::Error::from)?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(anyhow::Error::from)?;
    let code = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(error) => match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => exit.0,
            None => {
                eprintln!("error: {error:?}");
                134
            }
        },
    };
    let host = store.data();
    write_times(compile, host.start, host.end);
    Ok(code)
}

/// Replaces WASI's `clock_time_get`, in both preview1 and `wasi_unstable`, by one that
/// also answers the CPU-time clocks. `wasmtime-wasi` answers those with `EBADF`, and
/// CoreMark, which times itself with `clock()` (the process CPU-time clock), then
/// calibrates forever. kiln's runtime and the wasm2c shim read the same four host clocks.
fn add_cpu_time_clocks(linker: &mut Linker<Host>) -> Result<()> {
    const ERRNO_SUCCESS: i32 = 0;
    const ERRNO_FAULT: i32 = 21;
    const ERRNO_INVAL: i32 = 28;
    linker.allow_shadowing(true);
    for module in ["wasi_snapshot_preview1", "wasi_unstable"] {
        linker
            .func_wrap(
                module,
                "clock_time_get",
                |mut caller: Caller<'_, Host>, clock: i32, _precision: i64, time_out: i32| {
                    let id = match clock {
                        0 => libc::CLOCK_REALTIME,
                        1 => libc::CLOCK_MONOTONIC,
                        2 => libc::CLOCK_PROCESS_CPUTIME_ID,
                        3 => libc::CLOCK_THREAD_CPUTIME_ID,
                        _ => return ERRNO_INVAL,
                    };
                    let mut now = libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    };
                    // SAFETY: `now` is a valid, writable timespec.
                    if unsafe { libc::clock_gettime(id, &mut now) } != 0 {
                        return ERRNO_INVAL;
                    }
                    let nanos = (now.tv_sec as u64) * 1_000_000_000 + now.tv_nsec as u64;
                    let Some(memory) = caller
                        .get_export("memory")
                        .and_then(|export| export.into_memory())
                    else {
                        return ERRNO_FAULT;
                    };
                    match memory.write(&mut caller, time_out as u32 as usize, &nanos.to_le_bytes())
                    {
                        Ok(()) => ERRNO_SUCCESS,
                        Err(_) => ERRNO_FAULT,
                    }
                },
            )
            .map_err(anyhow::Error::from)?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

fn write_times(compile: Duration, start: Option<Duration>, end: Option<Duration>) {
    let Some(path) = std::env::var_os(TIMES_ENV) else {
        return;
    };
    let mut text = format!("compile {}\n", compile.as_nanos());
    if let (Some(start), Some(end)) = (start, end) {
        text.push_str(&format!("{}\n", end.saturating_sub(start).as_nanos()));
    }
    let _ = std::fs::write(path, text);
}

/// `Module::new` + `Module::serialize` ahead of time; returns the time both took.
pub fn precompile(wasm: &Path, output: &Path) -> Result<Duration> {
    let started = Instant::now();
    let engine = Engine::default();
    let module = Module::from_file(&engine, wasm).map_err(anyhow::Error::from)?;
    let bytes = module.serialize().map_err(anyhow::Error::from)?;
    let elapsed = started.elapsed();
    std::fs::write(output, bytes).with_context(|| format!("writing {}", output.display()))?;
    Ok(elapsed)
}
