//! The engines and the run loop. Each workload is prepared once per engine (kiln build,
//! Wasmtime serialize, wasm2c + clang), then run `runs` times; within one round every
//! engine runs once, in turn, so ratios to Wasmtime can be taken pair by pair in the same
//! round. Every run's output is checked; a wrong or failed run stops that engine on that
//! workload and is reported as a failure.

use crate::process::{self, run_tool, RunOutput};
use crate::stats::{paired_ratios, spread, Metric, Sample, SLOW_RATIO};
use crate::workloads::Workload;
use crate::{stub, wasm2c, wasmtime_host};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How the harness asks kiln to generate code: for this machine's CPU, as Wasmtime (JIT
/// and `Module::serialize`) does by default; kiln's own default is the portable baseline.
pub const KILN_CODEGEN_ARGS: [&str; 2] = ["--target-features", "native"];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum Engine {
    Kiln,
    /// kiln's edge configuration: a static executable for `<arch>-unknown-linux-musl`.
    KilnStatic,
    /// kiln's glibc executable built with `--fuel` (metering compiled in, a limit never
    /// reached): what fuel costs. Only when selected with `--engines`.
    KilnFuel,
    /// kiln's glibc executable built with `--timeout` (interruption checks compiled in, a
    /// deadline never reached): what the time limit costs. Only when selected.
    KilnTimeout,
    /// kiln's glibc executable built with `--inline` (calls inlined across the module):
    /// what inlining changes, compile time included. Only when selected.
    KilnInline,
    WasmtimeJit,
    WasmtimePrecompiled,
    Wasm2c,
    Native,
}

impl Engine {
    pub const ALL: &'static [Engine] = &[
        Engine::Kiln,
        Engine::KilnStatic,
        Engine::KilnFuel,
        Engine::KilnTimeout,
        Engine::KilnInline,
        Engine::WasmtimeJit,
        Engine::WasmtimePrecompiled,
        Engine::Wasm2c,
        Engine::Native,
    ];

    /// The engines that run only when `--engines` names them: they measure what kiln's
    /// limits and options cost, not kiln against its peers.
    pub const OPT_IN: &'static [Engine] =
        &[Engine::KilnFuel, Engine::KilnTimeout, Engine::KilnInline];

    /// The flags this engine adds to `kiln build` (none for the others); for
    /// `kiln-inline`, to `kiln compile` too.
    pub fn limit_args(self) -> &'static [&'static str] {
        match self {
            Engine::KilnFuel => &["--fuel", "1000000000000000000"],
            Engine::KilnTimeout => &["--timeout", "24h"],
            Engine::KilnInline => &["--inline"],
            _ => &[],
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Engine::Kiln => "kiln",
            Engine::KilnStatic => "kiln-static",
            Engine::KilnFuel => "kiln-fuel",
            Engine::KilnTimeout => "kiln-timeout",
            Engine::KilnInline => "kiln-inline",
            Engine::WasmtimeJit => "wasmtime-jit",
            Engine::WasmtimePrecompiled => "wasmtime-precompiled",
            Engine::Wasm2c => "wasm2c",
            Engine::Native => "native",
        }
    }

    /// The baseline every ratio is taken against.
    pub const BASELINE: Engine = Engine::WasmtimeJit;
}

/// The tools found on this machine.
pub struct Toolchain {
    pub kiln: PathBuf,
    pub kiln_version: String,
    /// kiln executables provide `bench.start` / `bench.end` (else the harness stubs them).
    pub kiln_bench_imports: bool,
    /// kiln executables write the region times to `$KILN_BENCH_TIMES`.
    pub kiln_region: bool,
    /// kiln can build static musl executables for this machine (`Err`: why not).
    pub kiln_static: Result<(), String>,
    /// `kiln build` takes `--deterministic` (else no engine runs deterministically, so that
    /// all do the same work).
    pub kiln_deterministic: bool,
    pub wasm2c: Result<wasm2c::Wasm2c, String>,
    /// The `wasmtime` CLI whose `wasmtime compile` is Wasmtime's process compile measure,
    /// with its `--version` (a release of its own, not necessarily the embedded 48.0.8).
    pub wasmtime_cli: Option<(PathBuf, String)>,
    /// This binary, for `kiln-bench exec`.
    pub harness: PathBuf,
}

impl Toolchain {
    pub fn detect(kiln: PathBuf, out: &Path) -> Result<Toolchain> {
        let kiln = kiln.canonicalize()?;
        let version = Command::new(&kiln)
            .arg("--version")
            .output()
            .context("running kiln --version")?;
        let kiln_version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        // Probe: does a kiln executable of the sightglass `noop` benchmark run, and does it
        // report its region?
        let noop_dir = crate::workloads::shared_corpora(&crate::repo_root())
            .join("sightglass/benchmarks/noop");
        let probe_dir = out.join("probe");
        std::fs::create_dir_all(&probe_dir)?;
        let probe = probe_dir.join("noop");
        let mut kiln_bench_imports = false;
        let mut kiln_region = false;
        if run_tool(
            Command::new(&kiln)
                .arg("build")
                .arg(noop_dir.join("benchmark.wasm"))
                .arg("-o")
                .arg(&probe),
        )
        .is_ok()
        {
            let mut command = Command::new(&probe);
            command.current_dir(&noop_dir);
            let output = process::measure(command, None, &probe_dir.join("run"))?;
            kiln_bench_imports = output.status == 0;
            kiln_region = output.region.is_some();
        }
        let kiln_static = run_tool(
            Command::new(&kiln)
                .args(["build", "--target", &static_target()])
                .arg(noop_dir.join("benchmark.wasm"))
                .arg("-o")
                .arg(probe_dir.join("noop-static")),
        )
        .map(drop)
        .map_err(|error| format!("kiln cannot build for {}: {error:#}", static_target()));
        let help = Command::new(&kiln)
            .args(["build", "--help"])
            .output()
            .context("running kiln build --help")?;
        let kiln_deterministic = String::from_utf8_lossy(&help.stdout).contains("--deterministic");
        Ok(Toolchain {
            kiln,
            kiln_version,
            kiln_bench_imports,
            kiln_region,
            kiln_static,
            kiln_deterministic,
            wasm2c: wasm2c::available(),
            wasmtime_cli: crate::coldstart::wasmtime_binary(),
            harness: std::env::current_exe()?,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "{} ({}; bench imports: {}, region timing: {}, static: {}), wasmtime 48.0.8, wasm2c: {}, `wasmtime compile`: {}",
            self.kiln.display(),
            self.kiln_version,
            if self.kiln_bench_imports {
                "provided"
            } else {
                "stubbed by the harness"
            },
            if self.kiln_region {
                "yes"
            } else {
                "no (whole-process time only)"
            },
            match &self.kiln_static {
                Ok(()) => static_target(),
                Err(reason) => format!("skipped ({reason})"),
            },
            match &self.wasm2c {
                Ok(wasm2c) => wasm2c.describe(),
                Err(reason) => format!("skipped: {reason}"),
            },
            match &self.wasmtime_cli {
                Some((binary, version)) => format!("{} ({version})", binary.display()),
                None => "no wasmtime CLI found".to_string(),
            }
        )
    }

    /// Whether `workload` runs with deterministic clocks and randomness, on every engine.
    pub fn deterministic(&self, workload: &Workload) -> bool {
        workload.deterministic && self.kiln_deterministic
    }

    /// `kiln-bench exec` for a module (the Wasmtime engines).
    pub fn wasmtime_command(
        &self,
        module: &Path,
        precompiled: bool,
        deterministic: bool,
        preopens: &[&str],
    ) -> Command {
        let mut command = Command::new(&self.harness);
        command.arg("exec");
        if precompiled {
            command.arg("--precompiled");
        }
        if deterministic {
            command.arg("--deterministic");
        }
        for guest in preopens {
            command.arg("--dir").arg(format!(".::{guest}"));
        }
        command.arg(module).arg("--");
        command
    }
}

/// One engine made ready for one workload.
struct Prepared {
    /// The command (without the workload's arguments) to run.
    program: Command,
    /// kiln only: the module to compile, per round, in-process (`kiln-bench kiln-compile`)
    /// and as a `kiln compile` process, and the engine's extra flags for it.
    kiln_compile_input: Option<(PathBuf, &'static [&'static str])>,
    /// Wasmtime JIT only: the module to time `wasmtime compile` on, per round, when a
    /// `wasmtime` CLI is found.
    wasmtime_compile_input: Option<PathBuf>,
    /// A compile time measured once at preparation (precompiled Wasmtime, wasm2c).
    compile_once: Option<Duration>,
    artifact_bytes: Option<u64>,
}

/// What happened to one engine on one workload.
#[derive(Default)]
pub struct Outcome {
    pub samples: Vec<Sample>,
    pub artifact_bytes: Option<u64>,
    pub skipped: Option<String>,
    pub failure: Option<String>,
    /// The output was checked against an expected file or digest (not exit status only).
    pub checked: bool,
    /// The engine's run time is the whole process only (no region timing).
    pub whole_process_only: bool,
    /// Rounds run beyond the requested ones to confirm a slow-looking ratio (see
    /// [`CONFIRMATION_ROUNDS`]); the samples include them.
    pub extra_rounds: usize,
}

impl Outcome {
    /// The median of this engine's ratios to `baseline` on `metric`, paired round by round;
    /// none when either failed, or for the run time of an engine timed by whole process.
    pub fn median_ratio(&self, baseline: &Outcome, metric: Metric) -> Option<f64> {
        if self.failure.is_some() || baseline.failure.is_some() {
            return None;
        }
        if metric == Metric::Region && self.whole_process_only {
            return None;
        }
        spread(&paired_ratios(&self.samples, &baseline.samples, metric)).map(|s| s.median)
    }
}

/// Rounds of every engine added to a workload when, after the requested rounds, kiln's
/// run time (either configuration) is above [`SLOW_RATIO`] × Wasmtime JIT: on a shared
/// machine a burst of other work can slow two of three runs, and more rounds tell such a
/// burst from a real difference (which stays: the median is over all rounds).
pub const CONFIRMATION_ROUNDS: usize = 5;

/// Whether kiln's median run time ratio to Wasmtime JIT on `workload`, paired round by
/// round, is above [`SLOW_RATIO`] in either configuration.
fn looks_slow(outcomes: &BTreeMap<(usize, Engine), Outcome>, workload: usize) -> bool {
    let Some(baseline) = outcomes.get(&(workload, Engine::BASELINE)) else {
        return false;
    };
    [Engine::Kiln, Engine::KilnStatic]
        .iter()
        .filter_map(|engine| outcomes.get(&(workload, *engine)))
        .any(|outcome| {
            outcome
                .median_ratio(baseline, Metric::Region)
                .is_some_and(|ratio| ratio > SLOW_RATIO)
        })
}

#[derive(Default)]
pub struct Results {
    pub outcomes: BTreeMap<(usize, Engine), Outcome>,
}

impl Results {
    pub fn get(&self, workload: usize, engine: Engine) -> Option<&Outcome> {
        self.outcomes.get(&(workload, engine))
    }

    /// `(passed, skipped)` engine × workload pairs.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self
            .outcomes
            .values()
            .filter(|outcome| outcome.failure.is_none() && outcome.skipped.is_none())
            .count();
        let skipped = self
            .outcomes
            .values()
            .filter(|outcome| outcome.skipped.is_some())
            .count();
        (passed, skipped)
    }

    pub fn failures(&self, workloads: &[Workload]) -> Vec<String> {
        self.outcomes
            .iter()
            .filter_map(|((workload, engine), outcome)| {
                let id = workloads[*workload].id();
                outcome
                    .failure
                    .as_ref()
                    .map(|failure| format!("{id} on {}: {failure}", engine.id()))
            })
            .collect()
    }
}

pub fn run_all(
    toolchain: &Toolchain,
    engines: &[Engine],
    workloads: &[Workload],
    runs: usize,
    out: &Path,
) -> Result<Results> {
    let mut outcomes = BTreeMap::new();
    let scratch = out.join("scratch");
    for (index, workload) in workloads.iter().enumerate() {
        let started = Instant::now();
        let artifacts = out.join("artifacts").join(workload.id().replace('/', "__"));
        std::fs::create_dir_all(&artifacts)?;
        let mut prepared: Vec<(Engine, Prepared)> = Vec::new();
        for &engine in engines {
            let mut outcome = Outcome {
                whole_process_only: matches!(
                    engine,
                    Engine::Kiln
                        | Engine::KilnStatic
                        | Engine::KilnFuel
                        | Engine::KilnTimeout
                        | Engine::KilnInline
                ) && !toolchain.kiln_region,
                ..Outcome::default()
            };
            match prepare(toolchain, engine, workload, &artifacts) {
                Ok(Ok(ready)) => {
                    outcome.artifact_bytes = ready.artifact_bytes;
                    prepared.push((engine, ready));
                }
                Ok(Err(reason)) => outcome.skipped = Some(reason),
                Err(error) => outcome.failure = Some(format!("preparing: {error:#}")),
            }
            outcomes.insert((index, engine), outcome);
        }
        let mut rounds = |count: usize, outcomes: &mut BTreeMap<(usize, Engine), Outcome>| {
            for _round in 0..count {
                for (engine, ready) in &mut prepared {
                    let outcome = outcomes.get_mut(&(index, *engine)).expect("inserted above");
                    if outcome.failure.is_some() {
                        continue;
                    }
                    match run_once(toolchain, ready, workload, &scratch) {
                        Ok((sample, checked)) => {
                            outcome.checked = checked;
                            outcome.samples.push(sample);
                        }
                        Err(error) => outcome.failure = Some(format!("{error:#}")),
                    }
                }
            }
        };
        rounds(runs, &mut outcomes);
        // One round (`--quick`) measures nothing worth confirming.
        if runs > 1 && looks_slow(&outcomes, index) {
            rounds(CONFIRMATION_ROUNDS, &mut outcomes);
            for engine in engines {
                if let Some(outcome) = outcomes.get_mut(&(index, *engine)) {
                    outcome.extra_rounds = CONFIRMATION_ROUNDS;
                }
            }
        }
        let summary: Vec<String> = engines
            .iter()
            .map(|engine| {
                let outcome = &outcomes[&(index, *engine)];
                let state = if outcome.failure.is_some() {
                    "FAIL"
                } else if outcome.skipped.is_some() {
                    "skip"
                } else {
                    "ok"
                };
                format!("{} {state}", engine.id())
            })
            .collect();
        eprintln!(
            "[{}/{}] {} ({:.1} s): {}",
            index + 1,
            workloads.len(),
            workload.id(),
            started.elapsed().as_secs_f64(),
            summary.join(", ")
        );
    }
    Ok(Results { outcomes })
}

/// The static musl target of this machine's architecture.
pub fn static_target() -> String {
    format!("{}-unknown-linux-musl", std::env::consts::ARCH)
}

/// `Ok(Err(reason))`: this engine does not apply to this workload (skipped).
fn prepare(
    toolchain: &Toolchain,
    engine: Engine,
    workload: &Workload,
    artifacts: &Path,
) -> Result<Result<Prepared, String>> {
    let file_size = |path: &Path| std::fs::metadata(path).map(|metadata| metadata.len()).ok();
    Ok(Ok(match engine {
        Engine::Kiln | Engine::KilnFuel | Engine::KilnTimeout | Engine::KilnInline => {
            prepare_kiln(toolchain, engine, workload, artifacts, None)?
        }
        Engine::KilnStatic => {
            if let Err(reason) = &toolchain.kiln_static {
                return Ok(Err(reason.clone()));
            }
            prepare_kiln(
                toolchain,
                engine,
                workload,
                artifacts,
                Some(&static_target()),
            )?
        }
        Engine::WasmtimeJit => Prepared {
            program: toolchain.wasmtime_command(
                &workload.wasm,
                false,
                toolchain.deterministic(workload),
                &workload.preopens,
            ),
            kiln_compile_input: None,
            wasmtime_compile_input: toolchain
                .wasmtime_cli
                .is_some()
                .then(|| workload.wasm.clone()),
            compile_once: None,
            artifact_bytes: file_size(&workload.wasm),
        },
        Engine::WasmtimePrecompiled => {
            let cwasm = artifacts.join("module.cwasm");
            let elapsed = wasmtime_host::precompile(&workload.wasm, &cwasm)?;
            Prepared {
                program: toolchain.wasmtime_command(
                    &cwasm,
                    true,
                    toolchain.deterministic(workload),
                    &workload.preopens,
                ),
                kiln_compile_input: None,
                wasmtime_compile_input: None,
                compile_once: Some(elapsed),
                artifact_bytes: file_size(&cwasm),
            }
        }
        Engine::Wasm2c => {
            let wasm2c = match &toolchain.wasm2c {
                Ok(wasm2c) => wasm2c,
                Err(reason) => return Ok(Err(reason.clone())),
            };
            if let Some(reason) = wasm2c::unsupported(&workload.wasm)? {
                return Ok(Err(reason));
            }
            if toolchain.deterministic(workload) {
                return Ok(Err(
                    "the wasm2c WASI shim has no deterministic clocks and randomness".into(),
                ));
            }
            match wasm2c::build(wasm2c, &workload.wasm, &artifacts.join("wasm2c")) {
                Ok((program, elapsed)) => Prepared {
                    program: Command::new(&program),
                    kiln_compile_input: None,
                    wasmtime_compile_input: None,
                    compile_once: Some(elapsed),
                    artifact_bytes: file_size(&program),
                },
                Err(error) => return Ok(Err(format!("wasm2c build failed: {error:#}"))),
            }
        }
        Engine::Native => {
            let Some(native) = &workload.native else {
                return Ok(Err(
                    "no native build (not the project's own source)".to_string()
                ));
            };
            Prepared {
                program: Command::new(native),
                kiln_compile_input: None,
                wasmtime_compile_input: None,
                compile_once: None,
                artifact_bytes: file_size(native),
            }
        }
    }))
}

/// One measured run; returns the sample and whether the output check was a real one.
fn run_once(
    toolchain: &Toolchain,
    ready: &Prepared,
    workload: &Workload,
    scratch: &Path,
) -> Result<(Sample, bool)> {
    let mut compile = ready.compile_once;
    let mut compile_process = None;
    if let Some((input, args)) = &ready.kiln_compile_input {
        let flags = || KILN_CODEGEN_ARGS.iter().chain(args.iter());
        let mut in_process = Command::new(&toolchain.harness);
        in_process
            .arg("kiln-compile")
            .arg(input)
            .arg("--")
            .args(flags());
        let output = measure_tool(in_process, scratch).context("kiln-bench kiln-compile")?;
        compile = Some(
            output
                .compile
                .context("kiln-bench kiln-compile wrote no time")?,
        );
        let mut process = Command::new(&toolchain.kiln);
        process
            .arg("compile")
            .args(flags())
            .arg(input)
            .arg("-o")
            .arg(scratch.join("kiln-compile.o"));
        compile_process = Some(measure_tool(process, scratch).context("kiln compile")?.wall);
    }
    if let (Some(input), Some((wasmtime, _))) =
        (&ready.wasmtime_compile_input, &toolchain.wasmtime_cli)
    {
        let mut process = Command::new(wasmtime);
        // No cache: every run compiles (the CLI's cache is on by default).
        process
            .args(["compile", "-C", "cache=n"])
            .arg(input)
            .arg("-o")
            .arg(scratch.join("wasmtime-compile.cwasm"));
        compile_process = Some(
            measure_tool(process, scratch)
                .context("wasmtime compile")?
                .wall,
        );
    }
    let mut command = Command::new(ready.program.get_program());
    command
        .args(ready.program.get_args())
        .args(&workload.args)
        .current_dir(&workload.cwd);
    let output: RunOutput = process::measure(command, workload.stdin.as_deref(), scratch)?;
    if output.status == 137 && output.wall.as_secs() >= 1 {
        anyhow::bail!(
            "killed after {:.0} s (the --timeout)",
            output.wall.as_secs_f64()
        );
    }
    exited_zero(&output)?;
    workload
        .check(&output.stdout, &output.stderr)
        .map_err(anyhow::Error::msg)?;
    Ok((
        Sample {
            compile: compile.or(output.compile),
            compile_process,
            region: output.region.or_else(|| {
                let parse = workload.region_from_stdout?;
                parse(&String::from_utf8_lossy(&output.stdout))
            }),
            wall: output.wall,
            peak_rss_kib: output.peak_rss_kib,
        },
        !matches!(workload.check, crate::workloads::Check::ExitOnly),
    ))
}

/// Runs a compile step through the spawner (wall time fork to reap, as every measured run),
/// failing with its stderr unless it exits 0.
fn measure_tool(command: Command, scratch: &Path) -> Result<RunOutput> {
    let output = process::measure(command, None, scratch)?;
    exited_zero(&output)?;
    Ok(output)
}

/// Fails with the exit status and the first lines of stderr unless `output` exited 0.
fn exited_zero(output: &RunOutput) -> Result<()> {
    if output.status != 0 {
        let stderr = String::from_utf8_lossy(&output.stderr);
        anyhow::bail!(
            "exit status {}: {}",
            output.status,
            stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(())
}

/// `kiln build` of `workload` (for `target`, else the host), ready to run.
fn prepare_kiln(
    toolchain: &Toolchain,
    engine: Engine,
    workload: &Workload,
    artifacts: &Path,
    target: Option<&str>,
) -> Result<Prepared> {
    let mut input = workload.wasm.clone();
    if !toolchain.kiln_bench_imports {
        let stubbed = artifacts.join("kiln-input.wasm");
        if stub::stub_bench_imports(&workload.wasm, &stubbed)? {
            input = stubbed;
        }
    }
    let executable = artifacts.join(format!("{}-program", engine.id()));
    let mut build = Command::new(&toolchain.kiln);
    build
        .arg("build")
        .args(KILN_CODEGEN_ARGS)
        .args(engine.limit_args());
    if let Some(target) = target {
        build.arg("--target").arg(target);
    }
    build.arg(&input).arg("-o").arg(&executable);
    for guest in &workload.preopens {
        build.arg("--dir").arg(format!(".::{guest}"));
    }
    if toolchain.deterministic(workload) {
        build.arg("--deterministic");
    }
    run_tool(&mut build).context("kiln build")?;
    let artifact_bytes = std::fs::metadata(&executable).map(|m| m.len()).ok();
    Ok(Prepared {
        program: Command::new(&executable),
        // The static build compiles the same code: its compile time is kiln's. The limit
        // engines compile other code, but their compile time is not what they measure;
        // inlining's is.
        kiln_compile_input: matches!(engine, Engine::Kiln | Engine::KilnInline)
            .then(|| (input, engine.limit_args())),
        wasmtime_compile_input: None,
        compile_once: None,
        artifact_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(region_ms: &[u64]) -> Outcome {
        Outcome {
            samples: region_ms
                .iter()
                .map(|&ms| Sample {
                    compile: None,
                    compile_process: None,
                    region: Some(Duration::from_millis(ms)),
                    wall: Duration::from_millis(ms + 1),
                    peak_rss_kib: 0,
                })
                .collect(),
            ..Outcome::default()
        }
    }

    fn outcomes(engines: Vec<(Engine, Outcome)>) -> BTreeMap<(usize, Engine), Outcome> {
        engines
            .into_iter()
            .map(|(engine, outcome)| ((0, engine), outcome))
            .collect()
    }

    #[test]
    fn kiln_above_the_bound_in_most_rounds_looks_slow() {
        let slow = outcomes(vec![
            (Engine::WasmtimeJit, outcome(&[100, 100, 100])),
            (Engine::Kiln, outcome(&[100, 120, 130])),
        ]);
        assert!(looks_slow(&slow, 0));
        let static_slow = outcomes(vec![
            (Engine::WasmtimeJit, outcome(&[100, 100, 100])),
            (Engine::Kiln, outcome(&[100, 100, 100])),
            (Engine::KilnStatic, outcome(&[120, 120, 100])),
        ]);
        assert!(looks_slow(&static_slow, 0));
    }

    #[test]
    fn one_slow_round_or_other_engines_do_not_look_slow() {
        let one_round = outcomes(vec![
            (Engine::WasmtimeJit, outcome(&[100, 100, 100])),
            (Engine::Kiln, outcome(&[100, 150, 110])),
            (Engine::Wasm2c, outcome(&[200, 200, 200])),
        ]);
        assert!(!looks_slow(&one_round, 0));
        let mut whole_process = outcome(&[200, 200, 200]);
        whole_process.whole_process_only = true;
        let unmeasured = outcomes(vec![
            (Engine::WasmtimeJit, outcome(&[100, 100, 100])),
            (Engine::Kiln, whole_process),
        ]);
        assert!(!looks_slow(&unmeasured, 0));
    }
}
