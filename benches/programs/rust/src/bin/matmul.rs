//! Dense matrix multiply, f64, 320 x 320, i-k-j loop order, ten times. Floating-point
//! loads, multiplies and adds; no fused multiply-add, so every engine rounds alike.

const N: usize = 320;

fn main() {
    let mut rng = kiln_bench_programs::Rng::new(7);
    let a: Vec<f64> = (0..N * N)
        .map(|_| (rng.next_u64() % 1000) as f64 / 100.0)
        .collect();
    let b: Vec<f64> = (0..N * N)
        .map(|_| (rng.next_u64() % 1000) as f64 / 100.0)
        .collect();
    let mut c = vec![0.0_f64; N * N];
    kiln_bench_programs::start();
    for _ in 0..10 {
        c.iter_mut().for_each(|value| *value = 0.0);
        for i in 0..N {
            for k in 0..N {
                let a_ik = a[i * N + k];
                let row = &b[k * N..(k + 1) * N];
                for (out, &b_kj) in c[i * N..(i + 1) * N].iter_mut().zip(row) {
                    *out += a_ik * b_kj;
                }
            }
        }
    }
    kiln_bench_programs::end();
    let trace: f64 = (0..N).map(|i| c[i * N + i]).sum();
    let total: f64 = c.iter().sum();
    println!("matmul {N}x{N} trace {trace:.3} sum {total:.3}");
}
