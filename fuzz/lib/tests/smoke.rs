//! A bounded smoke run of the fuzz targets from a fixed seed (issue 17): a regression in
//! the compiler, a miscompilation that wasm-smith finds or a WASI escape shows up with the
//! change that caused it. Each target prints the inputs it ran, how many agreed (or ran
//! clean), how many were skipped and why, and what it found; any finding fails the test.
//! Long runs use the cargo-fuzz targets in `fuzz/`.

use kiln_fuzz::{compile_never_panics, differential, wasi, Outcome};
use std::collections::BTreeMap;
use std::time::Instant;

/// Inputs per target: about 40 s in all in release on two shared cores (compile ~10 s,
/// differential ~20 s, wasi ~10 s, the last mostly waiting for `fd_sync`).
const COMPILE_CASES: u64 = 30_000;
const DIFFERENTIAL_CASES: u64 = 6_000;
const WASI_CASES: u64 = 700;

/// A xorshift64 stream, so the inputs are the same on every run and every machine.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A buffer of 256 to 8 KiB bytes.
    fn buffer(&mut self) -> Vec<u8> {
        let len = 256 + (self.next() % (8 << 10)) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Fails the test with every finding, after the summary line was printed.
fn report(target: &str, found: Vec<String>) {
    assert!(
        found.is_empty(),
        "{target} found {}:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn compile_smoke() {
    let start = Instant::now();
    let mut rng = XorShift(0x6b69_6c6e_2d63_6f6d);
    let mut found = Vec::new();
    for case in 0..COMPILE_CASES {
        let bytes = rng.buffer();
        if let Err(e) = compile_never_panics(&bytes) {
            found.push(format!("compile case {case}: {e}"));
        }
    }
    println!(
        "compile: {COMPILE_CASES} inputs in {:.1?}: {} clean, 0 skipped, {} found",
        start.elapsed(),
        COMPILE_CASES - found.len() as u64,
        found.len()
    );
    report("compile", found);
}

#[test]
fn differential_smoke() {
    let start = Instant::now();
    let mut rng = XorShift(0x6b69_6c6e_2d64_6966);
    let (mut agreed, mut calls) = (0, 0);
    let mut skipped: BTreeMap<&str, u64> = BTreeMap::new();
    let mut found = Vec::new();
    for case in 0..DIFFERENTIAL_CASES {
        let bytes = rng.buffer();
        match differential(&bytes) {
            Ok(Outcome::Agreed(n)) => {
                agreed += 1;
                calls += n;
            }
            Ok(Outcome::Skipped(why)) => *skipped.entry(why).or_default() += 1,
            Err(e) => found.push(format!("differential case {case}: {e}")),
        }
    }
    println!(
        "differential: {DIFFERENTIAL_CASES} inputs in {:.1?}: {agreed} agreed ({calls} calls), \
         {} skipped {skipped:?}, {} found",
        start.elapsed(),
        skipped.values().sum::<u64>(),
        found.len()
    );
    report("differential", found);
}

#[test]
fn wasi_smoke() {
    let start = Instant::now();
    let mut rng = XorShift(0x6b69_6c6e_2d77_6173);
    let (mut calls, mut succeeded) = (0, 0);
    let mut ended: BTreeMap<&str, u64> = BTreeMap::new();
    let mut found = Vec::new();
    for case in 0..WASI_CASES {
        let bytes = rng.buffer();
        match wasi(&bytes) {
            Ok(run) => {
                calls += run.calls;
                succeeded += run.succeeded;
                *ended.entry(run.ended).or_default() += 1;
            }
            Err(e) => found.push(format!("wasi case {case}: {e}")),
        }
    }
    println!(
        "wasi: {WASI_CASES} inputs in {:.1?}: {} clean ({calls} WASI calls, {succeeded} \
         returned 0; runs ended {ended:?}), 0 skipped, {} found",
        start.elapsed(),
        WASI_CASES - found.len() as u64,
        found.len()
    );
    report("wasi", found);
}
