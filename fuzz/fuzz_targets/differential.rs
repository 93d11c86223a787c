//! `differential`: a wasm-smith module run by kiln and by wasmi; any disagreement in
//! results, traps, memories or globals is a crash (stack exhaustion and fuel running out
//! are skipped: where they happen differs by design).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(failure) = kiln_fuzz::differential(data) {
        panic!("{failure}");
    }
});
