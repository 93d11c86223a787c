//! The report: `report.md` (machine, engines, geometric means per suite, cold start, one
//! table per suite, kiln against native, skips and failures), `results.json` (every
//! sample), and the charts `run-time.svg` (measured region), `process-time.svg` (spawn to
//! exit) and `native.svg` (kiln's measured region relative to the native build's).

use crate::chart;
use crate::coldstart::ColdStart;
use crate::engines::{Engine, Results, Toolchain, CONFIRMATION_ROUNDS};
use crate::stats::{geometric_mean, spread, values, Metric, Spread, SLOW_RATIO};
use crate::workloads::{Suite, Workload};
use anyhow::Result;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Inputs<'a> {
    pub toolchain: &'a Toolchain,
    pub engines: &'a [Engine],
    pub workloads: &'a [Workload],
    pub results: &'a Results,
    pub cold: Option<&'a ColdStart>,
    pub runs: usize,
    pub quick: bool,
    pub elapsed: Duration,
    pub out: &'a Path,
}

/// kiln's run-time ratio above which a benchmark is listed (the issue's bar).
/// Regions shorter than this measure first execution from cold caches more than code.
const SHORT_REGION_S: f64 = 50e-6;
/// Wasmtime JIT's slowest run over its fastest at or above which a workload's work itself
/// varies from run to run (libsodium's `*_easy2` size theirs by random numbers that mix
/// in the clock), so a ratio of a few runs says nothing about the engines.
const VARYING_WORK_SPREAD: f64 = 2.0;

/// Lists the benchmarks where kiln's run time is above [`SLOW_RATIO`] × Wasmtime JIT, with
/// the region's length and Wasmtime precompiled's own ratio beside it: a region of a few
/// microseconds runs once from cold caches, and a JIT has just written its code (so it is
/// in cache) where an ahead-of-time engine (kiln, or Wasmtime's own precompiled mode)
/// reads it from the page cache.
fn write_slow_rows(md: &mut String, inputs: &Inputs<'_>) -> Result<()> {
    let slow: Vec<(usize, f64)> = (0..inputs.workloads.len())
        .filter_map(|index| {
            ratio(inputs, index, Engine::Kiln, Metric::Region)
                .filter(|&ratio| ratio > SLOW_RATIO)
                .map(|ratio| (index, ratio))
        })
        .collect();
    if slow.is_empty() {
        return Ok(());
    }
    writeln!(
        md,
        "### kiln run time above {SLOW_RATIO}× Wasmtime JIT\n\n\
         † region under {} µs: one pass over cold code, where a JIT's freshly written code \
         is already in cache; Wasmtime's own precompiled mode pays the same.\n\n\
         ‡ the work varies from run to run: Wasmtime JIT's own runs differ by {}× or more \
         (max/min), so the ratio of a few runs is noise.\n",
        SHORT_REGION_S * 1e6,
        VARYING_WORK_SPREAD
    )?;
    writeln!(
        md,
        "| benchmark | region µs (kiln) | kiln ×JIT | Wasmtime precompiled ×JIT | JIT max/min |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|")?;
    for (index, kiln) in slow {
        let region = figure(inputs, index, Engine::Kiln, Metric::Region).map(|s| s.median);
        let short = region.is_some_and(|region| region < SHORT_REGION_S);
        let jit_spread = figure(inputs, index, Engine::BASELINE, Metric::Region)
            .filter(|spread| spread.min > 0.0)
            .map(|spread| spread.max / spread.min);
        let varying = jit_spread.is_some_and(|spread| spread >= VARYING_WORK_SPREAD);
        writeln!(
            md,
            "| {}{}{} | {} | {} | {} | {} |",
            inputs.workloads[index].name,
            if short { " †" } else { "" },
            if varying { " ‡" } else { "" },
            region.map_or("–".to_string(), |region| format!("{:.1}", region * 1e6)),
            times(Some(kiln)),
            times(ratio(
                inputs,
                index,
                Engine::WasmtimePrecompiled,
                Metric::Region
            )),
            jit_spread.map_or("–".to_string(), |spread| format!("{spread:.1}")),
        )?;
    }
    writeln!(md)?;
    Ok(())
}

/// Names the workloads that got [`CONFIRMATION_ROUNDS`] more rounds because kiln looked
/// slow after the requested ones.
fn write_remeasured(md: &mut String, inputs: &Inputs<'_>) -> Result<()> {
    let names: Vec<&str> = (0..inputs.workloads.len())
        .filter(|&index| {
            inputs
                .results
                .get(index, Engine::BASELINE)
                .is_some_and(|outcome| outcome.extra_rounds > 0)
        })
        .map(|index| inputs.workloads[index].name.as_str())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    writeln!(
        md,
        "Re-measured: kiln's run time was above {SLOW_RATIO}× Wasmtime JIT after the \
         requested rounds, so every engine ran {CONFIRMATION_ROUNDS} more rounds and the \
         figures above and below are over all of them: {}.\n",
        names.join(", ")
    )?;
    Ok(())
}

/// The engines compared with the native build of the same source, per row and per suite.
const VERSUS_NATIVE: [Engine; 2] = [Engine::Kiln, Engine::KilnStatic];

/// kiln against native on one workload that has a native run: the run time (measured
/// region) of each of [`VERSUS_NATIVE`] over the native build's, paired round by round,
/// median of the pairs (none where that engine failed, was skipped or did not run).
#[derive(Debug, PartialEq)]
struct NativeRow {
    workload: usize,
    ratios: [Option<f64>; VERSUS_NATIVE.len()],
}

/// The slots of [`VERSUS_NATIVE`] whose engine ran (a column or bar for each).
fn selected_slots(engines: &[Engine]) -> Vec<usize> {
    (0..VERSUS_NATIVE.len())
        .filter(|&slot| engines.contains(&VERSUS_NATIVE[slot]))
        .collect()
}

/// Every workload with a successful native run, in workload order.
fn native_rows(results: &Results, workloads: &[Workload]) -> Vec<NativeRow> {
    (0..workloads.len())
        .filter_map(|workload| {
            let native = results.get(workload, Engine::Native)?;
            if native.failure.is_some() || native.skipped.is_some() || native.samples.is_empty() {
                return None;
            }
            let ratios = VERSUS_NATIVE.map(|engine| {
                let outcome = results.get(workload, engine)?;
                if outcome.skipped.is_some() {
                    return None;
                }
                outcome.median_ratio(native, Metric::Region)
            });
            Some(NativeRow { workload, ratios })
        })
        .collect()
}

/// Per suite that has native rows: for each of [`VERSUS_NATIVE`], the geometric mean of
/// its ratios to native, the number of rows it covers, and the largest ratio.
fn native_geomeans(
    rows: &[NativeRow],
    workloads: &[Workload],
) -> Vec<(Suite, [NativeMean; VERSUS_NATIVE.len()])> {
    [Suite::Own, Suite::Sightglass, Suite::Wasm3]
        .into_iter()
        .filter_map(|suite| {
            let members: Vec<&NativeRow> = rows
                .iter()
                .filter(|row| workloads[row.workload].suite == suite)
                .collect();
            if members.is_empty() {
                return None;
            }
            let means = std::array::from_fn(|engine| {
                let ratios: Vec<f64> = members
                    .iter()
                    .filter_map(|row| row.ratios[engine])
                    .collect();
                NativeMean {
                    geomean: geometric_mean(&ratios),
                    rows: ratios.len(),
                    max: ratios.iter().copied().reduce(f64::max),
                }
            });
            Some((suite, means))
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct NativeMean {
    geomean: Option<f64>,
    rows: usize,
    max: Option<f64>,
}

/// The kiln-against-native section: geometric means per suite, then one row per workload.
fn write_versus_native(md: &mut String, inputs: &Inputs<'_>, rows: &[NativeRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        md,
        "## kiln against native (run time)
"
    )?;
    writeln!(
        md,
        "The measured region of the kiln executable over that of the same source built \
         natively (`clang -O2`, `cargo --release`), paired round by round, median of the \
         pairs; lower is faster. Chart: [native.svg](native.svg).\n"
    )?;
    writeln!(
        md,
        "| suite | engine | ×native (geomean) | max | benchmarks |"
    )?;
    writeln!(md, "|---|---|---:|---:|---:|")?;
    for (suite, means) in native_geomeans(rows, inputs.workloads) {
        for (engine, mean) in VERSUS_NATIVE.iter().zip(means) {
            if mean.rows == 0 {
                continue;
            }
            writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                suite.id(),
                engine.id(),
                times(mean.geomean),
                times(mean.max),
                mean.rows
            )?;
        }
    }
    writeln!(md)?;
    let slots = selected_slots(inputs.engines);
    write!(md, "| benchmark | native ms |")?;
    for &slot in &slots {
        write!(md, " {} ×native |", VERSUS_NATIVE[slot].id())?;
    }
    writeln!(md)?;
    writeln!(md, "|---|---:|{}", "---:|".repeat(slots.len()))?;
    for row in rows {
        write!(
            md,
            "| {} | {} |",
            inputs.workloads[row.workload].id(),
            milliseconds(
                figure(inputs, row.workload, Engine::Native, Metric::Region),
                false
            )
        )?;
        for &slot in &slots {
            write!(md, " {} |", times(row.ratios[slot]))?;
        }
        writeln!(md)?;
    }
    writeln!(md)?;
    Ok(())
}

/// The run time of each limit engine over kiln's on `workload` (paired round by round,
/// median of the pairs), if both ran.
fn limit_ratio(results: &Results, workload: usize, engine: Engine) -> Option<f64> {
    let kiln = results.get(workload, Engine::Kiln)?;
    let limited = results.get(workload, engine)?;
    if kiln.skipped.is_some() || limited.skipped.is_some() {
        return None;
    }
    limited.median_ratio(kiln, Metric::Region)
}

/// What kiln's limits (and `--inline`) cost: the run time of `kiln-fuel`, `kiln-timeout`
/// and `kiln-inline` over plain kiln's, per suite (geometric mean, largest) and per
/// benchmark. Only when one of them ran.
fn write_limits(md: &mut String, inputs: &Inputs<'_>) -> Result<()> {
    let engines: Vec<Engine> = Engine::OPT_IN
        .iter()
        .copied()
        .filter(|engine| inputs.engines.contains(engine) && inputs.engines.contains(&Engine::Kiln))
        .collect();
    if engines.is_empty() {
        return Ok(());
    }
    writeln!(md, "## What the limits cost (run time against kiln)\n")?;
    writeln!(
        md,
        "The kiln executable built with `--fuel 1000000000000000000` (fuel metering compiled in) \
         and with `--timeout 24h` (interruption checks compiled in), neither limit reached, and \
         with `--inline` (calls inlined across the module; not a limit, measured the same way), \
         over the same executable built without them; paired round by round, median of the \
         pairs.\n"
    )?;
    writeln!(
        md,
        "| suite | engine | ×kiln (geomean) | max | benchmarks |"
    )?;
    writeln!(md, "|---|---|---:|---:|---:|")?;
    for suite in [Suite::Own, Suite::Sightglass, Suite::Wasm3] {
        for &engine in &engines {
            let ratios: Vec<f64> = (0..inputs.workloads.len())
                .filter(|&index| inputs.workloads[index].suite == suite)
                .filter_map(|index| limit_ratio(inputs.results, index, engine))
                .collect();
            if ratios.is_empty() {
                continue;
            }
            writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                suite.id(),
                engine.id(),
                times(geometric_mean(&ratios)),
                times(ratios.iter().copied().reduce(f64::max)),
                ratios.len()
            )?;
        }
    }
    writeln!(md)?;
    write!(md, "| benchmark |")?;
    for engine in &engines {
        write!(md, " {} ×kiln |", engine.id())?;
    }
    writeln!(md)?;
    writeln!(md, "|---|{}", "---:|".repeat(engines.len()))?;
    for index in 0..inputs.workloads.len() {
        let ratios: Vec<Option<f64>> = engines
            .iter()
            .map(|&engine| limit_ratio(inputs.results, index, engine))
            .collect();
        if ratios.iter().all(Option::is_none) {
            continue;
        }
        write!(md, "| {} |", inputs.workloads[index].id())?;
        for ratio in ratios {
            write!(md, " {} |", times(ratio))?;
        }
        writeln!(md)?;
    }
    writeln!(md)?;
    Ok(())
}

/// Wasmtime's median in-process compile time from which a module counts as large in
/// [`write_compile_by_size`] (session 18's split).
const LARGE_COMPILE: f64 = 0.050;

/// kiln's compile-time geomeans (both measures) per suite, split at [`LARGE_COMPILE`] of
/// Wasmtime's: a fixed cost per compile weighs on small modules only.
fn write_compile_by_size(md: &mut String, inputs: &Inputs<'_>) -> Result<()> {
    let mut rows = Vec::new();
    for suite in [Suite::Own, Suite::Sightglass, Suite::Wasm3] {
        for (large, label) in [(true, "≥ 50 ms"), (false, "< 50 ms")] {
            let members: Vec<usize> = (0..inputs.workloads.len())
                .filter(|&index| inputs.workloads[index].suite == suite)
                .filter(|&index| {
                    figure(inputs, index, Engine::BASELINE, Metric::Compile)
                        .is_some_and(|wasmtime| (wasmtime.median >= LARGE_COMPILE) == large)
                })
                .collect();
            for engine in [Engine::Kiln, Engine::KilnInline] {
                let mean = |metric| mean_ratio(inputs, &members, engine, metric);
                let (in_process, count) = mean(Metric::Compile);
                let (process, _) = mean(Metric::CompileProcess);
                if count > 0 {
                    rows.push(format!(
                        "| {} | {label} | {} | {} | {} | {count} |",
                        suite.id(),
                        engine.id(),
                        times(in_process),
                        times(process)
                    ));
                }
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(md, "### Compile time by module size\n")?;
    writeln!(md, "Modules split by Wasmtime's median in-process compile time; geomeans of kiln's ratios to Wasmtime, in-process against `Module::new`, process against `wasmtime compile`.\n")?;
    writeln!(
        md,
        "| suite | Wasmtime compile | engine | in-process | process | benchmarks |"
    )?;
    writeln!(md, "|---|---|---|---:|---:|---:|")?;
    for row in rows {
        writeln!(md, "{row}")?;
    }
    writeln!(md)?;
    Ok(())
}

/// The geometric mean of [`ratio`] over the workloads `members`, and how many had one.
fn mean_ratio(
    inputs: &Inputs<'_>,
    members: &[usize],
    engine: Engine,
    metric: Metric,
) -> (Option<f64>, usize) {
    let ratios: Vec<f64> = members
        .iter()
        .filter_map(|&index| ratio(inputs, index, engine, metric))
        .collect();
    (geometric_mean(&ratios), ratios.len())
}

/// The median of the paired ratios of `engine` to the baseline on one workload.
fn ratio(inputs: &Inputs<'_>, workload: usize, engine: Engine, metric: Metric) -> Option<f64> {
    let outcome = inputs.results.get(workload, engine)?;
    outcome.median_ratio(inputs.results.get(workload, Engine::BASELINE)?, metric)
}

fn figure(inputs: &Inputs<'_>, workload: usize, engine: Engine, metric: Metric) -> Option<Spread> {
    let outcome = inputs.results.get(workload, engine)?;
    if outcome.failure.is_some() {
        return None;
    }
    spread(&values(&outcome.samples, metric))
}

fn milliseconds(spread: Option<Spread>, with_range: bool) -> String {
    match spread {
        None => "–".to_string(),
        Some(spread) if with_range && spread.max > spread.min => {
            format!(
                "{} ({}–{})",
                short_ms(spread.median),
                short_ms(spread.min),
                short_ms(spread.max)
            )
        }
        Some(spread) => short_ms(spread.median),
    }
}

/// Seconds as milliseconds: one decimal from 1 ms up, two significant digits below (a
/// microsecond region or CoreMark's time per iteration would otherwise read `0.0`).
fn short_ms(seconds: f64) -> String {
    let ms = seconds * 1e3;
    if ms >= 1.0 || ms <= 0.0 {
        format!("{ms:.1}")
    } else {
        let decimals = (1 - ms.log10().floor() as i32).max(1) as usize;
        format!("{ms:.decimals$}")
    }
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or("–".to_string(), |ratio| format!("{ratio:.2}×"))
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "not found".to_string())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    format!(
        "{model}, {cores} cores, {:.0} GiB; Linux {}; {}; {}",
        memory_kib as f64 / 1048576.0,
        command_line("uname", &["-r"]),
        command_line("rustc", &["--version"]),
        command_line("clang", &["--version"]),
    )
}

pub fn write(inputs: &Inputs<'_>) -> Result<PathBuf> {
    let mut md = String::new();
    let toolchain = inputs.toolchain;
    writeln!(md, "# kiln benchmark report\n")?;
    if inputs.quick {
        writeln!(md, "**Quick mode** (`--quick`): one run per engine on two small workloads; it checks that every engine runs and answers right. Its figures are not measurements.\n")?;
    }
    writeln!(md, "- Machine: {}", machine())?;
    writeln!(
        md,
        "- kiln: `{}` ({})",
        toolchain.kiln.display(),
        toolchain.kiln_version
    )?;
    writeln!(
        md,
        "- Wasmtime 48.0.8 (Cranelift 0.135), embedded, default `Config`; wasm2c: {}",
        match &toolchain.wasm2c {
            Ok(wasm2c) => wasm2c.describe(),
            Err(reason) => format!("skipped ({reason})"),
        }
    )?;
    writeln!(md, "- {} run(s) per benchmark and engine, engines in turn within each round; the whole report took {:.0} s", inputs.runs, inputs.elapsed.as_secs_f64())?;
    writeln!(md, "- Ratios are to Wasmtime JIT, taken pair by pair (run *i* against run *i*, same round), median of the pairs; lower is faster. Times in ms: median (min–max).")?;
    writeln!(md, "- Run time is the sightglass measured region (`bench.start` to `bench.end`), and for CoreMark, which runs for a fixed time, its own time per iteration (`Total time` ÷ `Iterations`, the inverse of its score); process time is spawn to exit (for Wasmtime JIT it includes compiling the module). Compile (in-process, per run, each in a fresh child of the harness so neither engine starts warm): kiln, `kiln_compiler::compile` of this checkout's `compiler/`, built into the harness (the call `kiln compile` makes, same flags), from before reading the module to the object's bytes in memory (`kiln-bench kiln-compile`); Wasmtime JIT, `Engine::default()` + `Module::from_file` (`kiln-bench exec`). Both compile functions in parallel on every core (kiln on rayon, Wasmtime with `parallel-compilation`) and share one Cranelift 0.135.8. Compile (process, per run): spawn to exit of `kiln compile` (writes the object) and of `wasmtime compile -C cache=n` (writes the `.cwasm`; the `wasmtime` CLI named below, its own release). Wasmtime precompiled: `Module::new` + `serialize` (once), wasm2c: `wasm2c` + `clang -O2` (once).")?;
    if let Some((binary, version)) = &toolchain.wasmtime_cli {
        writeln!(
            md,
            "- `wasmtime compile`: `{}` ({version})",
            binary.display()
        )?;
    }
    if toolchain.kiln_deterministic {
        writeln!(md, "- The libsodium workloads, whose work depends on random numbers, run with deterministic clocks and randomness on every engine (`kiln build --deterministic`; the embedded Wasmtime's `clock_time_get`, `clock_res_get` and `random_get` replaced by the same virtual clock and SplitMix64 stream), so every engine does the same work.")?;
    } else {
        writeln!(md, "- This kiln has no `--deterministic`: the libsodium workloads draw real random numbers on every engine, and those whose work depends on them (`*_easy2`, `sodium_utils`) vary from run to run.")?;
    }
    if !toolchain.kiln_region {
        writeln!(md, "- **kiln has no region timing yet**: its executables {} the `bench` imports, so kiln is compared by process time only; its run-time column is empty. The harness reads `start`/`end` nanosecond lines from the file named by `$KILN_BENCH_TIMES` as soon as kiln writes them.", if toolchain.kiln_bench_imports { "accept but do not time" } else { "reject (`unknown import: bench::start`); the harness replaces" })?;
    }
    writeln!(md)?;

    // Geometric means.
    writeln!(md, "## Geometric means of the ratios to Wasmtime JIT\n")?;
    writeln!(
        md,
        "| suite | engine | run time | process time | compile (in-process) | compile (process) | benchmarks |"
    )?;
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|")?;
    let suites = [Suite::Own, Suite::Sightglass, Suite::Wasm3];
    let mut geomeans = Vec::new();
    for suite in suites {
        let members: Vec<usize> = (0..inputs.workloads.len())
            .filter(|&index| inputs.workloads[index].suite == suite)
            .collect();
        if members.is_empty() {
            continue;
        }
        for &engine in inputs.engines {
            let mean = |metric| mean_ratio(inputs, &members, engine, metric);
            let (region, _) = mean(Metric::Region);
            let (wall, count) = mean(Metric::Wall);
            let (compile, _) = mean(Metric::Compile);
            let (compile_process, _) = mean(Metric::CompileProcess);
            if count == 0 {
                continue;
            }
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {count} |",
                suite.id(),
                engine.id(),
                times(region),
                times(wall),
                times(compile),
                times(compile_process)
            )?;
            geomeans.push(serde_json::json!({"suite": suite.id(), "engine": engine.id(), "run_time": region, "process_time": wall, "compile": compile, "compile_process": compile_process, "benchmarks": count}));
        }
    }
    writeln!(md)?;
    write_compile_by_size(&mut md, inputs)?;
    writeln!(
        md,
        "Charts: [run time](run-time.svg), [process time](process-time.svg).\n"
    )?;
    write_slow_rows(&mut md, inputs)?;
    write_remeasured(&mut md, inputs)?;
    let versus_native = native_rows(inputs.results, inputs.workloads);
    write_versus_native(&mut md, inputs, &versus_native)?;
    write_limits(&mut md, inputs)?;

    if let Some(cold) = inputs.cold {
        writeln!(
            md,
            "## Cold start: hello world, spawn to exit ({} runs)\n",
            cold.runs
        )?;
        match &cold.wasmtime_cli {
            Some((binary, version)) => writeln!(
                md,
                "`wasmtime run` is `{}` ({version}).\n",
                binary.display()
            )?,
            None => writeln!(md, "No `wasmtime` CLI found: Wasmtime is `kiln-bench exec` (the same Wasmtime embedded with its default configuration, WASI linked), standing in for `wasmtime run`.\n")?,
        }
        // How many times faster than Wasmtime running a precompiled module.
        let precompiled = cold
            .rows
            .iter()
            .find(|(label, _, _)| label.contains("precompiled"))
            .map(|(_, wall, _)| wall.median);
        writeln!(
            md,
            "| engine | median ms | min–max ms | peak RSS KiB | Wasmtime precompiled ÷ this |"
        )?;
        writeln!(md, "|---|---:|---:|---:|---:|")?;
        for (label, wall, rss) in &cold.rows {
            let speedup = precompiled
                .map(|precompiled| format!("{:.1}×", precompiled / wall.median))
                .unwrap_or_default();
            writeln!(
                md,
                "| {label} | {:.2} | {:.2}–{:.2} | {rss} | {speedup} |",
                wall.median * 1e3,
                wall.min * 1e3,
                wall.max * 1e3
            )?;
        }
        writeln!(md)?;
    }

    let mut problems = Vec::new();
    let mut samples_json = Vec::new();
    for suite in suites {
        let members: Vec<usize> = (0..inputs.workloads.len())
            .filter(|&index| inputs.workloads[index].suite == suite)
            .collect();
        if members.is_empty() {
            continue;
        }
        writeln!(md, "## {}\n", suite.id())?;
        writeln!(md, "| benchmark | engine | compile ms | compile process ms | run time ms | ×wasmtime | ×native | process ms | ×wasmtime | peak RSS MiB | artifact KiB |")?;
        writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for &index in &members {
            let workload = &inputs.workloads[index];
            for &engine in inputs.engines {
                let Some(outcome) = inputs.results.get(index, engine) else {
                    continue;
                };
                if let Some(reason) = &outcome.skipped {
                    problems.push(format!(
                        "- skipped: {} on {}: {reason}",
                        workload.id(),
                        engine.id()
                    ));
                    continue;
                }
                if let Some(failure) = &outcome.failure {
                    problems.push(format!(
                        "- **FAILED**: {} on {}: {failure}",
                        workload.id(),
                        engine.id()
                    ));
                    writeln!(
                        md,
                        "| {} | {} | failed | | | | | | | | |",
                        workload.name,
                        engine.id()
                    )?;
                    continue;
                }
                if !outcome.checked && engine == Engine::BASELINE {
                    problems.push(format!(
                        "- unchecked: {} has no expected output; exit status only",
                        workload.id()
                    ));
                }
                let rss = spread(
                    &outcome
                        .samples
                        .iter()
                        .map(|sample| sample.peak_rss_kib as f64)
                        .collect::<Vec<_>>(),
                );
                writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    workload.name,
                    engine.id(),
                    milliseconds(figure(inputs, index, engine, Metric::Compile), false),
                    milliseconds(figure(inputs, index, engine, Metric::CompileProcess), false),
                    if outcome.whole_process_only {
                        "–".to_string()
                    } else {
                        milliseconds(figure(inputs, index, engine, Metric::Region), true)
                    },
                    if engine == Engine::BASELINE {
                        String::new()
                    } else {
                        times(ratio(inputs, index, engine, Metric::Region))
                    },
                    versus_native
                        .iter()
                        .find(|row| row.workload == index)
                        .and_then(|row| {
                            let slot = VERSUS_NATIVE.iter().position(|&e| e == engine)?;
                            Some(times(row.ratios[slot]))
                        })
                        .unwrap_or_default(),
                    milliseconds(figure(inputs, index, engine, Metric::Wall), true),
                    if engine == Engine::BASELINE {
                        String::new()
                    } else {
                        times(ratio(inputs, index, engine, Metric::Wall))
                    },
                    rss.map_or("–".to_string(), |rss| format!(
                        "{:.1}",
                        rss.median / 1024.0
                    )),
                    outcome
                        .artifact_bytes
                        .map_or("–".to_string(), |bytes| format!(
                            "{:.0}",
                            bytes as f64 / 1024.0
                        )),
                )?;
                samples_json.push(serde_json::json!({
                    "workload": workload.id(),
                    "engine": engine.id(),
                    "artifact_bytes": outcome.artifact_bytes,
                    "extra_rounds": outcome.extra_rounds,
                    "samples": outcome.samples.iter().map(|sample| serde_json::json!({
                        "compile_s": sample.compile.map(|value| value.as_secs_f64()),
                        "compile_process_s": sample.compile_process.map(|value| value.as_secs_f64()),
                        "region_s": sample.region.map(|value| value.as_secs_f64()),
                        "process_s": sample.wall.as_secs_f64(),
                        "peak_rss_kib": sample.peak_rss_kib,
                    })).collect::<Vec<_>>(),
                }));
            }
        }
        writeln!(md)?;
    }
    if !problems.is_empty() {
        writeln!(md, "## Skipped, unchecked and failed\n")?;
        for problem in &problems {
            writeln!(md, "{problem}")?;
        }
        writeln!(md)?;
    }

    // Charts: every engine but the baseline, every workload with at least one ratio.
    for (metric, file, title) in [
        (
            Metric::Region,
            "run-time.svg",
            "Run time (measured region) relative to Wasmtime JIT",
        ),
        (
            Metric::Wall,
            "process-time.svg",
            "Process time (spawn to exit) relative to Wasmtime JIT",
        ),
    ] {
        let charted: Vec<Engine> = inputs
            .engines
            .iter()
            .copied()
            .filter(|&engine| engine != Engine::BASELINE)
            .collect();
        let rows: Vec<usize> = (0..inputs.workloads.len())
            .filter(|&index| {
                charted
                    .iter()
                    .any(|&engine| ratio(inputs, index, engine, metric).is_some())
            })
            .collect();
        let labels: Vec<String> = rows
            .iter()
            .map(|&index| inputs.workloads[index].id())
            .collect();
        let series: Vec<(String, Vec<Option<f64>>)> = charted
            .iter()
            .map(|&engine| {
                (
                    engine.id().to_string(),
                    rows.iter()
                        .map(|&index| ratio(inputs, index, engine, metric))
                        .collect(),
                )
            })
            .collect();
        chart::ratio_bars(
            &inputs.out.join(file),
            title,
            "Wasmtime JIT",
            &labels,
            &series,
        )?;
    }

    if !versus_native.is_empty() {
        let labels: Vec<String> = versus_native
            .iter()
            .map(|row| inputs.workloads[row.workload].id())
            .collect();
        let series: Vec<(String, Vec<Option<f64>>)> = selected_slots(inputs.engines)
            .into_iter()
            .map(|slot| {
                (
                    VERSUS_NATIVE[slot].id().to_string(),
                    versus_native.iter().map(|row| row.ratios[slot]).collect(),
                )
            })
            .collect();
        chart::ratio_bars(
            &inputs.out.join("native.svg"),
            "kiln run time (measured region) relative to the native build",
            "native",
            &labels,
            &series,
        )?;
    }
    let native_json: Vec<serde_json::Value> = native_geomeans(&versus_native, inputs.workloads)
        .into_iter()
        .flat_map(|(suite, means)| {
            VERSUS_NATIVE
                .iter()
                .zip(means)
                .map(move |(engine, mean)| serde_json::json!({"suite": suite.id(), "engine": engine.id(), "run_time_vs_native": mean.geomean, "max": mean.max, "benchmarks": mean.rows}))
        })
        .collect();
    let rows_json: Vec<serde_json::Value> = versus_native
        .iter()
        .map(|row| {
            let mut entry = serde_json::json!({"workload": inputs.workloads[row.workload].id()});
            for (engine, ratio) in VERSUS_NATIVE.iter().zip(row.ratios) {
                entry[engine.id()] = serde_json::json!(ratio);
            }
            entry
        })
        .collect();
    let json = serde_json::json!({
        "geometric_means": geomeans,
        "versus_native": {"geometric_means": native_json, "rows": rows_json},
        "results": samples_json,
    });
    std::fs::write(
        inputs.out.join("results.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    let path = inputs.out.join("report.md");
    std::fs::write(&path, md)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::{limit_ratio, native_geomeans, native_rows, selected_slots, short_ms, NativeRow};
    use crate::engines::{Engine, Outcome, Results};
    use crate::stats::Sample;
    use crate::workloads::{Check, Suite, Workload};
    use std::path::PathBuf;
    use std::time::Duration;

    fn workload(suite: Suite, name: &str) -> Workload {
        Workload {
            suite,
            name: name.to_string(),
            wasm: PathBuf::from(format!("{name}.wasm")),
            cwd: PathBuf::from("."),
            preopens: Vec::new(),
            args: Vec::new(),
            stdin: None,
            check: Check::ExitOnly,
            native: None,
            region_from_stdout: None,
            deterministic: false,
        }
    }

    fn outcome(region_ms: &[u64]) -> Outcome {
        Outcome {
            samples: region_ms
                .iter()
                .map(|&ms| Sample {
                    compile: None,
                    compile_process: None,
                    region: Some(Duration::from_millis(ms)),
                    wall: Duration::from_millis(ms + 2),
                    peak_rss_kib: 0,
                })
                .collect(),
            ..Outcome::default()
        }
    }

    fn close(actual: Option<f64>, expected: f64) -> bool {
        actual.is_some_and(|actual| (actual - expected).abs() < 1e-9)
    }

    #[test]
    fn kiln_against_native_pairs_rounds_and_takes_geomeans_per_suite() {
        let workloads = vec![
            workload(Suite::Own, "c-crc32"),
            workload(Suite::Own, "rust-sqlite-disk"),
            workload(Suite::Sightglass, "shootout-fib2"),
            workload(Suite::Own, "rust-sort"),
        ];
        let mut results = Results::default();
        let mut put = |index: usize, engine: Engine, outcome: Outcome| {
            results.outcomes.insert((index, engine), outcome);
        };
        // c-crc32: kiln 1.1×, 1.3×, 1.2× native round by round (median 1.2×); kiln-static
        // 0.9×.
        put(0, Engine::Native, outcome(&[100, 100, 100]));
        put(0, Engine::Kiln, outcome(&[110, 130, 120]));
        put(0, Engine::KilnStatic, outcome(&[90, 90, 90]));
        // rust-sqlite-disk: paired round by round (1.5×, 1.5×, 1.2×: median 1.5×), not
        // median over median (240 / 200 = 1.2×).
        put(1, Engine::Native, outcome(&[100, 300, 200]));
        put(1, Engine::Kiln, outcome(&[150, 450, 240]));
        let mut skipped = outcome(&[]);
        skipped.skipped = Some("no musl runtime".into());
        put(1, Engine::KilnStatic, skipped);
        // shootout-fib2: no native build, so no row.
        put(2, Engine::Kiln, outcome(&[10, 10, 10]));
        // rust-sort: the native run failed, so no row.
        let mut failed = outcome(&[100]);
        failed.failure = Some("stdout differs".into());
        put(3, Engine::Native, failed);
        put(3, Engine::Kiln, outcome(&[100]));

        let rows = native_rows(&results, &workloads);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].workload, 0);
        assert!(close(rows[0].ratios[0], 1.2), "{rows:?}");
        assert!(close(rows[0].ratios[1], 0.9), "{rows:?}");
        assert_eq!(rows[1].workload, 1);
        assert!(close(rows[1].ratios[0], 1.5), "{rows:?}");
        assert_eq!(rows[1].ratios[1], None);

        let means = native_geomeans(&rows, &workloads);
        assert_eq!(means.len(), 1, "only `own` has native rows");
        let (suite, [kiln, kiln_static]) = means[0];
        assert_eq!(suite, Suite::Own);
        assert_eq!(kiln.rows, 2);
        assert!(close(kiln.geomean, (1.2_f64 * 1.5).sqrt()), "{kiln:?}");
        assert!(close(kiln.max, 1.5));
        assert_eq!(kiln_static.rows, 1);
        assert!(close(kiln_static.geomean, 0.9));
        assert!(close(kiln_static.max, 0.9));
    }

    #[test]
    fn limits_are_paired_with_plain_kiln() {
        let mut results = Results::default();
        // Fuel: 1.1×, 1.3×, 1.2× kiln round by round (median 1.2×); the timeout engine was
        // skipped; nothing without a kiln run.
        results
            .outcomes
            .insert((0, Engine::Kiln), outcome(&[100, 200, 100]));
        results
            .outcomes
            .insert((0, Engine::KilnFuel), outcome(&[110, 260, 120]));
        let mut skipped = outcome(&[]);
        skipped.skipped = Some("no".into());
        results.outcomes.insert((0, Engine::KilnTimeout), skipped);
        results
            .outcomes
            .insert((1, Engine::KilnFuel), outcome(&[1, 1, 1]));
        assert!(close(limit_ratio(&results, 0, Engine::KilnFuel), 1.2));
        assert_eq!(limit_ratio(&results, 0, Engine::KilnTimeout), None);
        assert_eq!(limit_ratio(&results, 1, Engine::KilnFuel), None);
        assert!(Engine::OPT_IN
            .iter()
            .all(|engine| Engine::ALL.contains(engine)));
        assert_eq!(Engine::KilnFuel.limit_args()[0], "--fuel");
        assert_eq!(Engine::KilnTimeout.limit_args()[0], "--timeout");
        assert_eq!(Engine::KilnInline.limit_args(), ["--inline"]);
        assert!(Engine::Kiln.limit_args().is_empty());
    }

    #[test]
    fn only_engines_that_ran_get_a_native_column() {
        assert_eq!(selected_slots(Engine::ALL), vec![0, 1]);
        assert_eq!(
            selected_slots(&[Engine::Native, Engine::KilnStatic]),
            vec![1]
        );
        assert!(selected_slots(&[Engine::WasmtimeJit, Engine::Native]).is_empty());
    }

    #[test]
    fn no_native_runs_no_rows() {
        let workloads = vec![workload(Suite::Sightglass, "noop")];
        let mut results = Results::default();
        results
            .outcomes
            .insert((0, Engine::Kiln), outcome(&[1, 1, 1]));
        let rows: Vec<NativeRow> = native_rows(&results, &workloads);
        assert!(rows.is_empty());
        assert!(native_geomeans(&rows, &workloads).is_empty());
    }

    #[test]
    fn milliseconds_keep_two_significant_digits_below_one() {
        assert_eq!(short_ms(0.2174), "217.4");
        assert_eq!(short_ms(0.0012), "1.2");
        assert_eq!(short_ms(0.000035), "0.035");
        assert_eq!(short_ms(0.0000022), "0.0022");
        assert_eq!(short_ms(0.0), "0.0");
    }
}
