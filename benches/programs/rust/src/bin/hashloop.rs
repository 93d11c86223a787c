//! A checksum loop: FNV-1a and a 64-bit multiply-rotate hash over a 4 MiB buffer, many
//! passes. Integer ALU work with byte loads: bounds checks dominate a naive engine.

fn main() {
    let mut rng = kiln_bench_programs::Rng::new(0x5eed);
    let buffer: Vec<u8> = (0..4 << 20).map(|_| rng.next_u64() as u8).collect();
    kiln_bench_programs::start();
    let (mut fnv, mut mix) = (0xcbf2_9ce4_8422_2325_u64, 0_u64);
    for pass in 0..24_u64 {
        for &byte in &buffer {
            fnv = (fnv ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        for chunk in buffer.chunks_exact(8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap()) ^ pass;
            mix = (mix ^ word)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(31);
        }
    }
    kiln_bench_programs::end();
    println!("fnv1a {fnv:016x} mix {mix:016x}");
}
