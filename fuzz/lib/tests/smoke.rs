//! A bounded smoke run of the fuzz targets from a fixed seed (issue 17): a regression in
//! the compiler or a miscompilation that wasm-smith finds shows up with the change that
//! caused it. Long runs use the cargo-fuzz targets in `fuzz/`.

use kiln_fuzz::{compile_never_panics, differential, wasi, Outcome};
use std::time::Instant;

/// Compile cases and differential cases; the whole test takes well under a minute in
/// release on two cores.
const COMPILE_CASES: u64 = 2000;
const DIFFERENTIAL_CASES: u64 = 3000;
const WASI_CASES: u64 = 500;

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

#[test]
fn compile_smoke() {
    let start = Instant::now();
    let mut rng = XorShift(0x6b69_6c6e_2d63_6f6d);
    for case in 0..COMPILE_CASES {
        let bytes = rng.buffer();
        if let Err(e) = compile_never_panics(&bytes) {
            panic!("compile case {case}: {e}");
        }
    }
    println!("compile: {COMPILE_CASES} cases in {:.1?}", start.elapsed());
}

#[test]
fn differential_smoke() {
    let start = Instant::now();
    let mut rng = XorShift(0x6b69_6c6e_2d64_6966);
    let (mut agreed, mut calls, mut skipped) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for case in 0..DIFFERENTIAL_CASES {
        let bytes = rng.buffer();
        match differential(&bytes) {
            Ok(Outcome::Agreed(n)) => {
                agreed += 1;
                calls += n;
            }
            Ok(Outcome::Skipped(why)) => skipped.push((case, why)),
            Err(e) => failures.push(format!("differential case {case}: {e}")),
        }
    }
    println!(
        "differential: {DIFFERENTIAL_CASES} cases in {:.1?}: {agreed} agreed ({calls} calls), \
         {} skipped {skipped:?}",
        start.elapsed(),
        skipped.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn wasi_smoke() {
    let start = Instant::now();
    let mut rng = XorShift(0x6b69_6c6e_2d77_6173);
    let (mut calls, mut succeeded) = (0, 0);
    let mut ended = std::collections::BTreeMap::new();
    for case in 0..WASI_CASES {
        let bytes = rng.buffer();
        match wasi(&bytes) {
            Ok(run) => {
                calls += run.calls;
                succeeded += run.succeeded;
                *ended.entry(run.ended).or_insert(0) += 1;
            }
            Err(e) => panic!("wasi case {case}: {e}"),
        }
    }
    println!(
        "wasi: {WASI_CASES} cases in {:.1?}: {calls} calls, {succeeded} returned 0; ended {ended:?}",
        start.elapsed()
    );
}
