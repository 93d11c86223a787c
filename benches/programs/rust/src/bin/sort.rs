//! Sorting: 3 million pseudo-random u64 with the standard library's sort (merge sort with
//! runs) and 3 million u32 with sort_unstable (pattern-defeating quicksort).

fn main() {
    let mut rng = kiln_bench_programs::Rng::new(42);
    let mut wide: Vec<u64> = (0..3_000_000).map(|_| rng.next_u64()).collect();
    let mut narrow: Vec<u32> = (0..3_000_000).map(|_| rng.next_u64() as u32).collect();
    kiln_bench_programs::start();
    wide.sort();
    narrow.sort_unstable();
    kiln_bench_programs::end();
    let checksum = wide
        .iter()
        .step_by(1000)
        .fold(0_u64, |acc, &value| acc.rotate_left(5) ^ value)
        ^ narrow
            .iter()
            .step_by(997)
            .fold(0_u64, |acc, &value| acc.wrapping_mul(31) + u64::from(value));
    println!(
        "sorted {} {} checksum {checksum:016x}",
        wide.len(),
        narrow.len()
    );
}
