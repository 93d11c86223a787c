//! The Wasmtime engines, embedded: `kiln-bench exec MODULE` compiles (`Module::new`, JIT)
//! or deserializes (`--precompiled`, a file from `Module::serialize`) a module with the
//! default `Config`, links WASI preview1 (and `wasi_unstable`) from `wasmtime-wasi` (its
//! `clock_time_get` replaced by one that also reads the CPU-time clocks) and the
//! sightglass `bench.start` / `bench.end` as host functions recording `Instant`s, runs
//! `_start`, and writes the compile time (`compile NS`) and the region length (`NS`) to
//! `$KILN_BENCH_TIMES`. With `--deterministic`, `clock_time_get`, `clock_res_get` and
//! `random_get` are replaced by kiln's `--deterministic` ones (virtual time, SplitMix64),
//! so a workload that draws random numbers does the same work under both engines.

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
    /// Deterministic clocks and randomness, as `kiln build --deterministic` gives
    #[arg(long)]
    deterministic: bool,
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
    /// `--deterministic`: virtual time in nanoseconds.
    virtual_time: u64,
    /// `--deterministic`: the SplitMix64 state of `random_get`.
    random_state: u64,
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
    shadow_wasi(&mut linker, options.deterministic)?;
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
            virtual_time: 0,
            random_state: 0,
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

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;

/// How far virtual time advances at each read (kiln's `VIRTUAL_TICK`).
const VIRTUAL_TICK: u64 = 1_000;

/// Replaces WASI functions, in both preview1 and `wasi_unstable`:
/// - by default `clock_time_get`, by one that also answers the CPU-time clocks.
///   `wasmtime-wasi` answers those with `EBADF`, and CoreMark, which times itself with
///   `clock()` (the process CPU-time clock), then calibrates forever. kiln's runtime and
///   the wasm2c shim read the same four host clocks.
/// - `deterministic`: `clock_time_get`, `clock_res_get` and `random_get`, by the
///   deterministic ones of kiln's runtime (`WasiCtx::deterministic`): one virtual time for
///   the four clocks, 0 at start and 1 µs more at each read, resolution 1 µs; random bytes
///   from SplitMix64 at state 0, each call taking the little-endian bytes of successive
///   outputs and dropping the rest of the last. `poll_oneoff` stays wasmtime-wasi's (a wait
///   sleeps and does not advance virtual time): none of the workloads run this way waits.
fn shadow_wasi(linker: &mut Linker<Host>, deterministic: bool) -> Result<()> {
    linker.allow_shadowing(true);
    for module in ["wasi_snapshot_preview1", "wasi_unstable"] {
        if deterministic {
            add_deterministic(linker, module)?;
        } else {
            add_cpu_time_clocks(linker, module)?;
        }
    }
    linker.allow_shadowing(false);
    Ok(())
}

fn add_cpu_time_clocks(linker: &mut Linker<Host>, module: &str) -> Result<()> {
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
                write_guest(&mut caller, time_out, &nanos.to_le_bytes())
            },
        )
        .map_err(anyhow::Error::from)?;
    Ok(())
}

fn add_deterministic(linker: &mut Linker<Host>, module: &str) -> Result<()> {
    linker
        .func_wrap(
            module,
            "clock_time_get",
            |mut caller: Caller<'_, Host>, clock: i32, _precision: i64, time_out: i32| {
                if !(0..4).contains(&clock) {
                    return ERRNO_INVAL;
                }
                let host = caller.data_mut();
                host.virtual_time = host.virtual_time.wrapping_add(VIRTUAL_TICK);
                let time = host.virtual_time;
                write_guest(&mut caller, time_out, &time.to_le_bytes())
            },
        )
        .map_err(anyhow::Error::from)?;
    linker
        .func_wrap(
            module,
            "clock_res_get",
            |mut caller: Caller<'_, Host>, clock: i32, resolution_out: i32| {
                if !(0..4).contains(&clock) {
                    return ERRNO_INVAL;
                }
                write_guest(&mut caller, resolution_out, &VIRTUAL_TICK.to_le_bytes())
            },
        )
        .map_err(anyhow::Error::from)?;
    linker
        .func_wrap(
            module,
            "random_get",
            |mut caller: Caller<'_, Host>, buffer: i32, length: i32| {
                let mut state = caller.data().random_state;
                let mut bytes = vec![0u8; length as u32 as usize];
                for chunk in bytes.chunks_mut(8) {
                    chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes()[..chunk.len()]);
                }
                let errno = write_guest(&mut caller, buffer, &bytes);
                if errno == ERRNO_SUCCESS {
                    caller.data_mut().random_state = state;
                }
                errno
            },
        )
        .map_err(anyhow::Error::from)?;
    Ok(())
}

/// The next output of the SplitMix64 generator whose state is `state`.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Writes `bytes` at `address` of the caller's exported memory; the WASI errno.
fn write_guest(caller: &mut Caller<'_, Host>, address: i32, bytes: &[u8]) -> i32 {
    let Some(memory) = caller
        .get_export("memory")
        .and_then(|export| export.into_memory())
    else {
        return ERRNO_FAULT;
    };
    match memory.write(caller, address as u32 as usize, bytes) {
        Ok(()) => ERRNO_SUCCESS,
        Err(_) => ERRNO_FAULT,
    }
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

#[cfg(test)]
mod tests {
    use super::splitmix64;

    #[test]
    fn the_random_stream_is_kilns() {
        // kiln's runtime tests pin the same outputs (`runtime/src/wasi/tests.rs`).
        let mut state = 0;
        let outputs: Vec<u64> = (0..3).map(|_| splitmix64(&mut state)).collect();
        assert_eq!(
            outputs,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f
            ]
        );
    }
}
