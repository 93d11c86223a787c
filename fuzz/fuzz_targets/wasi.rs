//! `wasi`: a random sequence of WASI calls with hostile pointers, descriptors and paths,
//! run against a scratch preopen; a host crash, a file changed outside the scratch
//! directory or a secret read from outside it is a crash.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(failure) = kiln_fuzz::wasi(data) {
        panic!("{failure}");
    }
});
