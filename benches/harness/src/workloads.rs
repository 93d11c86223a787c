//! The workloads: the sightglass corpus, the compute programs of wasm3-wasi and kiln's own
//! programs, each with how to run it (working directory, arguments, stdin, preopen) and
//! how to check its output, so a fast wrong answer is a failure.

use crate::programs::BuiltPrograms;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `--quick` set: one of kiln's own programs (so the native engine runs too) and one
/// small sightglass benchmark (its bench imports, its preopen and its expected output).
pub const QUICK: &[&str] = &["own/c-crc32", "sightglass/shootout-fib2"];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Suite {
    Sightglass,
    Wasm3,
    Own,
}

impl Suite {
    pub fn id(self) -> &'static str {
        match self {
            Suite::Sightglass => "sightglass",
            Suite::Wasm3 => "wasm3-wasi",
            Suite::Own => "own",
        }
    }
}

/// How a run's output is judged.
#[derive(Clone, Debug)]
pub enum Check {
    /// stdout (and stderr where given) equal these, line by line.
    Exact {
        stdout: String,
        stderr: Option<String>,
    },
    /// The SHA-1 of stdout (wasm3-wasi `expect_sha1`).
    Sha1(String),
    /// A glob over stdout (wasm3-wasi `expect_pattern`).
    Pattern(String),
    /// No expected output exists: exit status 0 only (reported as unchecked).
    ExitOnly,
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub suite: Suite,
    pub name: String,
    pub wasm: PathBuf,
    /// The working directory of the run.
    pub cwd: PathBuf,
    /// Guest names under which the working directory is preopened.
    pub preopens: Vec<&'static str>,
    pub args: Vec<String>,
    pub stdin: Option<PathBuf>,
    pub check: Check,
    /// The same program built natively (kiln's own programs only).
    pub native: Option<PathBuf>,
    /// For a program that times itself and has no `bench` imports: reads its measured
    /// region from its stdout.
    pub region_from_stdout: Option<fn(&str) -> Option<Duration>>,
    /// Its work depends on random numbers: every engine gives it deterministic clocks and
    /// randomness (`kiln build --deterministic`, `kiln-bench exec --deterministic`), so
    /// that all of them do the same work.
    pub deterministic: bool,
}

impl Workload {
    pub fn id(&self) -> String {
        format!("{}/{}", self.suite.id(), self.name)
    }

    /// Checks one run's output; `Err` says what differed.
    pub fn check(&self, stdout: &[u8], stderr: &[u8]) -> Result<(), String> {
        match &self.check {
            Check::Exact {
                stdout: expected,
                stderr: expected_err,
            } => {
                // Line by line, as sightglass's expected files are written: some lack the
                // final newline the programs print (libsodium's `0`).
                let same = |actual: &[u8], expected: &str| {
                    String::from_utf8_lossy(actual).lines().eq(expected.lines())
                };
                if !same(stdout, expected) {
                    return Err(format!("stdout differs: {:?}", excerpt(stdout)));
                }
                if let Some(expected_err) = expected_err {
                    if !same(stderr, expected_err) {
                        return Err(format!("stderr differs: {:?}", excerpt(stderr)));
                    }
                }
                Ok(())
            }
            Check::Sha1(expected) => {
                let actual = sha1_smol::Sha1::from(stdout).digest().to_string();
                if &actual == expected {
                    Ok(())
                } else {
                    Err(format!("stdout sha1 {actual}, expected {expected}"))
                }
            }
            Check::Pattern(pattern) => {
                let options = glob::MatchOptions {
                    require_literal_separator: false,
                    ..Default::default()
                };
                let text = String::from_utf8_lossy(stdout);
                match glob::Pattern::new(pattern) {
                    Ok(glob) if glob.matches_with(&text, options) => Ok(()),
                    Ok(_) => Err(format!(
                        "stdout does not match {pattern:?}: {:?}",
                        excerpt(stdout)
                    )),
                    Err(error) => Err(format!("bad pattern {pattern:?}: {error}")),
                }
            }
            Check::ExitOnly => Ok(()),
        }
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(120).collect()
}

pub fn shared_corpora(root: &Path) -> PathBuf {
    root.join("../shared/corpora")
}

/// Every workload, in a stable order.
pub fn discover(root: &Path, built: &BuiltPrograms) -> Result<Vec<Workload>> {
    let corpora = shared_corpora(root);
    let mut workloads = built.workloads();
    workloads.extend(sightglass(&corpora.join("sightglass"))?);
    workloads.extend(wasm3(&corpora.join("wasm3-wasi/test"))?);
    Ok(workloads)
}

/// `BENCHMARKS.tsv` lists the benchmarks whose files are all present.
fn sightglass(dir: &Path) -> Result<Vec<Workload>> {
    let tsv = dir.join("BENCHMARKS.tsv");
    let text =
        std::fs::read_to_string(&tsv).with_context(|| format!("reading {}", tsv.display()))?;
    let mut workloads = Vec::new();
    for line in text.lines().skip(1) {
        let Some(relative) = line.split('\t').next() else {
            continue;
        };
        let wasm = dir.join("benchmarks").join(relative);
        let cwd = wasm.parent().context("benchmark path")?.to_path_buf();
        let stem = wasm
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .to_string();
        let expected = ["", "default"].iter().find_map(|prefix| {
            let base = if prefix.is_empty() {
                stem.as_str()
            } else {
                prefix
            };
            let stdout =
                std::fs::read_to_string(cwd.join(format!("{base}.stdout.expected"))).ok()?;
            let stderr = std::fs::read_to_string(cwd.join(format!("{base}.stderr.expected"))).ok();
            Some(Check::Exact { stdout, stderr })
        });
        let name = if stem == "benchmark" {
            cwd.file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default()
                .to_string()
        } else {
            stem.clone()
        };
        let deterministic = name.starts_with("libsodium-");
        workloads.push(Workload {
            suite: Suite::Sightglass,
            name,
            wasm,
            cwd,
            preopens: vec!["."],
            args: Vec::new(),
            stdin: None,
            check: expected.unwrap_or(Check::ExitOnly),
            native: None,
            region_from_stdout: None,
            // libsodium's tests draw keys, nonces and some message lengths (`*_easy2`:
            // up to 10,000 bytes, the work varying 50x from run to run) from its own
            // generator, seeded from `random_get` and the clock.
            deterministic,
        });
    }
    Ok(workloads)
}

/// The compute programs of `EXPECTATIONS.json` (`commands_full`); the "Simple WASI test"
/// entries are WASI feature tests, not compute, and are left out.
fn wasm3(dir: &Path) -> Result<Vec<Workload>> {
    let path = dir.join("EXPECTATIONS.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).context("parsing EXPECTATIONS.json")?;
    let commands = json["commands_full"].as_array().context("commands_full")?;
    let mut workloads = Vec::new();
    for command in commands {
        let name = command["name"].as_str().unwrap_or_default();
        if name.starts_with("Simple WASI") || command["skip"].as_bool() == Some(true) {
            continue;
        }
        let wasm = dir.join(command["wasm"].as_str().context("wasm")?);
        let args = command["args"]
            .as_array()
            .map(|args| {
                args.iter()
                    .filter_map(|arg| arg.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let check = if let Some(sha1) = command["expect_sha1"].as_str() {
            Check::Sha1(sha1.to_string())
        } else if let Some(pattern) = command["expect_pattern"].as_str() {
            Check::Pattern(pattern.to_string())
        } else {
            Check::ExitOnly
        };
        workloads.push(Workload {
            suite: Suite::Wasm3,
            name: slug(name),
            wasm,
            cwd: dir.to_path_buf(),
            // What wasm3 grants: `/` and `./`, both the test folder. `mal` strips a matching
            // preopen name off its path, so `./wasi/mal/...` needs the `./` preopen.
            preopens: vec!["/", "./"],
            args,
            stdin: command["stdin"].as_str().map(|stdin| dir.join(stdin)),
            // CoreMark runs for a fixed time (about 10 s after calibrating), so its
            // process time says nothing; its score does.
            region_from_stdout: (name == "CoreMark").then_some(coremark_iteration as _),
            check,
            native: None,
            deterministic: false,
        });
    }
    Ok(workloads)
}

/// CoreMark's measured region, per iteration: its `Total time (secs)` over its
/// `Iterations` (the inverse of its score), each engine having chosen its own count.
fn coremark_iteration(stdout: &str) -> Option<Duration> {
    let field = |label: &str| {
        stdout.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == label).then(|| value.trim().parse::<f64>().ok())?
        })
    };
    let seconds = field("Total time (secs)")?;
    let iterations = field("Iterations")?;
    (seconds > 0.0 && iterations >= 1.0).then(|| Duration::from_secs_f64(seconds / iterations))
}

/// `"smallpt (explicit light sampling)"` → `smallpt-explicit-light-sampling`.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for character in name.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::coremark_iteration;
    use std::time::Duration;

    #[test]
    fn coremark_region_is_its_time_per_iteration() {
        let stdout = "CoreMark Size    : 666\nTotal ticks      : 1162260927\n\
                      Total time (secs): 14.0\nIterations/Sec   : 28571.4\n\
                      Iterations       : 400000\n";
        assert_eq!(
            coremark_iteration(stdout),
            Some(Duration::from_nanos(35_000))
        );
        assert_eq!(coremark_iteration("Total time (secs): 14.0\n"), None);
        assert_eq!(
            coremark_iteration("Total time (secs): 0\nIterations : 10\n"),
            None
        );
    }
}
