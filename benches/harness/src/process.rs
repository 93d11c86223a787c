//! Spawning and measuring one run: spawn-to-exit wall time and peak RSS from `wait4` in the
//! small spawner `spawn/measure.c` (see there why not in this process), stdout and stderr
//! captured in files (no pipe can fill up), and the measured region read from the file
//! named by `KILN_BENCH_TIMES`.
//!
//! The times file is kiln's format (`runtime/src/bench.rs`): each `bench.end` appends one
//! line, the region's length in nanoseconds; the harness's Wasmtime host adds a line
//! `compile NANOSECONDS`. A run with several regions is timed by their sum.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static SPAWNER: OnceLock<PathBuf> = OnceLock::new();
static TIMEOUT_SECONDS: OnceLock<u64> = OnceLock::new();

/// Builds the spawner (`spawn/measure.c`, clang -O2) into `out`; call once before `measure`.
pub fn build_spawner(out: &Path, timeout_seconds: u64) -> Result<()> {
    let _ = TIMEOUT_SECONDS.set(timeout_seconds);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("spawn/measure.c");
    let program = out.join("measure");
    run_tool(
        Command::new("clang")
            .args(["-O2", "-o"])
            .arg(&program)
            .arg(&source),
    )
    .context("building the spawner")?;
    let _ = SPAWNER.set(program);
    Ok(())
}

/// The environment variable naming the file an engine writes its region times to.
pub const TIMES_ENV: &str = "KILN_BENCH_TIMES";

/// One finished run.
pub struct RunOutput {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    /// The exit code, or 128 + the signal that ended the process.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub region: Option<Duration>,
    /// Module compile time the engine reported (Wasmtime `Module::new`).
    pub compile: Option<Duration>,
}

/// Runs `command` (arguments, working directory and environment already set) with stdin
/// from `stdin` or empty, measuring it. `scratch` is a directory for the output files.
pub fn measure(command: Command, stdin: Option<&Path>, scratch: &Path) -> Result<RunOutput> {
    let spawner = SPAWNER.get().context("the spawner is not built")?;
    std::fs::create_dir_all(scratch)?;
    let stdout_path = scratch.join("stdout");
    let stderr_path = scratch.join("stderr");
    let times_path = scratch.join("times");
    let result_path = scratch.join("result");
    let _ = std::fs::remove_file(&times_path);
    let _ = std::fs::remove_file(&result_path);
    let mut spawn = Command::new(spawner);
    let timeout = TIMEOUT_SECONDS.get().copied().unwrap_or(600);
    spawn
        .arg(&result_path)
        .arg(timeout.to_string())
        .arg(command.get_program())
        .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        spawn.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => spawn.env(key, value),
            None => spawn.env_remove(key),
        };
    }
    spawn
        .env(TIMES_ENV, &times_path)
        .stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?)
        .stdin(match stdin {
            Some(path) => Stdio::from(
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
            ),
            None => Stdio::null(),
        });
    let status = spawn
        .status()
        .with_context(|| format!("spawning {command:?}"))?;
    let result = std::fs::read_to_string(&result_path).unwrap_or_default();
    let fields: Vec<u64> = result
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    let [wall_ns, peak_rss_kib, exit] = fields[..] else {
        // (The spawner itself failed: its own message is in stderr.)
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        bail!(
            "the spawner failed ({status}) on {command:?}: {}",
            stderr.trim()
        );
    };
    let times = read_times(&times_path);
    Ok(RunOutput {
        wall: Duration::from_nanos(wall_ns),
        peak_rss_kib,
        status: i32::try_from(exit)?,
        stdout: std::fs::read(&stdout_path)?,
        stderr: std::fs::read(&stderr_path)?,
        region: times.region,
        compile: times.compile,
    })
}

#[derive(Default)]
struct Times {
    region: Option<Duration>,
    compile: Option<Duration>,
}

fn read_times(path: &PathBuf) -> Times {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Times::default();
    };
    let mut times = Times::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [nanos] => {
                if let Ok(nanos) = nanos.parse::<u64>() {
                    times.region =
                        Some(times.region.unwrap_or_default() + Duration::from_nanos(nanos));
                }
            }
            ["compile", nanos] => {
                times.compile = nanos.parse::<u64>().ok().map(Duration::from_nanos)
            }
            _ => {}
        }
    }
    times
}

/// Runs a build step, failing with its stderr.
pub fn run_tool(command: &mut Command) -> Result<Duration> {
    let started = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first_lines: Vec<&str> = stderr.lines().take(6).collect();
        bail!(
            "{:?} failed ({}): {}",
            command.get_program(),
            output.status,
            first_lines.join(" | ")
        );
    }
    Ok(started.elapsed())
}
