//! `compile`: arbitrary bytes, and a wasm-smith module made of them, compiled by kiln with
//! settings drawn from them; an error is fine, a panic is a crash.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(failure) = kiln_fuzz::compile_never_panics(data) {
        panic!("{failure}");
    }
});
