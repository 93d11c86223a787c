//! The measured-region markers of kiln's own benchmark programs, the sightglass contract:
//! on wasm the imports `bench.start` and `bench.end`; natively, the elapsed monotonic
//! region's length in nanoseconds appended as one line to the file named by
//! `KILN_BENCH_TIMES`, the format kiln executables and every engine of the harness write.

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "bench")]
    extern "C" {
        #[link_name = "start"]
        fn bench_start();
        #[link_name = "end"]
        fn bench_end();
    }

    pub fn start() {
        // SAFETY: the host function takes and returns nothing.
        unsafe { bench_start() }
    }

    pub fn end() {
        // SAFETY: as above.
        unsafe { bench_end() }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::sync::OnceLock;
    use std::time::Instant;

    static STARTED: OnceLock<Instant> = OnceLock::new();

    pub fn start() {
        STARTED.get_or_init(Instant::now);
    }

    pub fn end() {
        let elapsed = STARTED
            .get()
            .map_or(0, |started| started.elapsed().as_nanos());
        if let Some(path) = std::env::var_os("KILN_BENCH_TIMES") {
            use std::io::Write;
            if let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(file, "{elapsed}");
            }
        }
    }
}

pub use imp::{end, start};

/// A deterministic xorshift64* generator, so every engine sees the same input.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
