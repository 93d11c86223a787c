//! Figures from samples: median and min–max per metric, ratios to the baseline taken pair
//! by pair (run i of an engine against run i of Wasmtime, in the same round), and
//! geometric means.

use std::time::Duration;

/// A run time ratio to Wasmtime JIT above this is reported as slow (the bound).
pub const SLOW_RATIO: f64 = 1.15;

/// One measured run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Compile time in-process (kiln: `kiln_compiler::compile`; Wasmtime: `Module::new`).
    pub compile: Option<Duration>,
    /// Compile time as a process, spawn to exit (`kiln compile`, `wasmtime compile`).
    pub compile_process: Option<Duration>,
    pub region: Option<Duration>,
    pub wall: Duration,
    pub peak_rss_kib: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Compile,
    CompileProcess,
    Region,
    Wall,
}

impl Metric {
    pub fn of(self, sample: &Sample) -> Option<f64> {
        match self {
            Metric::Compile => sample.compile.map(|value| value.as_secs_f64()),
            Metric::CompileProcess => sample.compile_process.map(|value| value.as_secs_f64()),
            Metric::Region => sample.region.map(|value| value.as_secs_f64()),
            Metric::Wall => Some(sample.wall.as_secs_f64()),
        }
    }
}

/// Median, minimum and maximum.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    };
    Some(Spread {
        median,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
    })
}

/// The metric over all samples that have it (all or nothing: a partial set is none).
pub fn values(samples: &[Sample], metric: Metric) -> Vec<f64> {
    let values: Vec<f64> = samples
        .iter()
        .filter_map(|sample| metric.of(sample))
        .collect();
    if values.len() == samples.len() {
        values
    } else {
        Vec::new()
    }
}

/// Ratios `engine[i] / baseline[i]` for the rounds both completed.
pub fn paired_ratios(engine: &[Sample], baseline: &[Sample], metric: Metric) -> Vec<f64> {
    engine
        .iter()
        .zip(baseline)
        .filter_map(
            |(sample, base)| match (metric.of(sample), metric.of(base)) {
                (Some(value), Some(base)) if base > 0.0 && value > 0.0 => Some(value / base),
                _ => None,
            },
        )
        .collect()
}

pub fn geometric_mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some((values.iter().map(|value| value.ln()).sum::<f64>() / values.len() as f64).exp())
}
