//! A compute workload whose output must match a native build exactly: collections
//! (`Vec`, `BTreeMap`, `HashMap`, `BinaryHeap`), string formatting, `u64`/`i128` math,
//! floats (only exactly specified operations), trait objects (indirect calls), and checks
//! that WASI clocks and randomness (through `HashMap`'s random keys) answer.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn collections(rng: &mut XorShift) {
    let mut values: Vec<u64> = (0..20_000).map(|_| rng.next() % 1_000_000_007).collect();
    values.sort_unstable();
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    println!(
        "sorted: first {}, median {}, last {}, fnv1a {:016x}",
        values[0],
        values[values.len() / 2],
        values[values.len() - 1],
        fnv1a(&bytes)
    );

    let text = "the quick brown fox jumps over the lazy dog the fox the end";
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    let ordered: BTreeMap<&str, u32> = counts.into_iter().collect();
    let mut line = String::new();
    for (word, count) in &ordered {
        write!(line, "{word}={count} ").unwrap();
    }
    println!("words: {}", line.trim_end());

    let mut heap: BinaryHeap<(u32, String)> = (0..50)
        .map(|i| ((rng.next() % 1000) as u32, format!("item{i:02}")))
        .collect();
    let top: Vec<String> = (0..5)
        .map(|_| {
            let (priority, name) = heap.pop().unwrap();
            format!("{name}@{priority}")
        })
        .collect();
    println!("heap top: {}", top.join(", "));
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String;
}

struct Circle(f64);
struct Rect(f64, f64);

impl Shape for Circle {
    fn area(&self) -> f64 {
        3.141592653589793 * self.0 * self.0
    }
    fn name(&self) -> String {
        format!("circle(r={})", self.0)
    }
}

impl Shape for Rect {
    fn area(&self) -> f64 {
        self.0 * self.1
    }
    fn name(&self) -> String {
        format!("rect({}x{})", self.0, self.1)
    }
}

fn floats() {
    let shapes: Vec<Box<dyn Shape>> = vec![
        Box::new(Circle(1.5)),
        Box::new(Rect(2.0, 3.25)),
        Box::new(Circle(0.1)),
    ];
    for shape in &shapes {
        println!(
            "{} area {:.6} {:e}",
            shape.name(),
            shape.area(),
            shape.area()
        );
    }
    let mut pi = 0.0f64;
    for k in 0..1_000_000 {
        let term = 4.0 / (2.0 * k as f64 + 1.0);
        pi += if k % 2 == 0 { term } else { -term };
    }
    let sum_sqrt: f64 = (1..=10_000).map(|i| (i as f64).sqrt()).sum();
    let harmonic: f32 = (1..=10_000).map(|i| 1.0 / i as f32).sum();
    println!("leibniz pi {pi:.12}, sum sqrt {sum_sqrt}, harmonic f32 {harmonic}");
    let specials = [
        0.1 + 0.2,
        1.0 / 3.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        -0.0,
        f64::INFINITY,
    ];
    println!("specials {specials:?}");
    println!(
        "conversions {} {} {} {}",
        (pi * 1e15) as i64,
        f64::NAN as i32,
        1e20f64 as u32,
        -1.5f32 as u8
    );
}

fn integers(rng: &mut XorShift) {
    let mut product: u128 = 1;
    let mut signed: i128 = -1;
    for _ in 0..100 {
        product = product.wrapping_mul(u128::from(rng.next() | 1));
        product ^= product >> 71;
        signed = signed
            .wrapping_mul(3)
            .wrapping_sub(i128::from(rng.next() as i64));
    }
    println!("u128 {product:032x}");
    println!("i128 {signed} / 7 = {} rem {}", signed / 7, signed % 7);
    let mut folded = 0u64;
    for i in 1..=1000u64 {
        folded = folded.rotate_left(7) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        folded = folded.wrapping_add(folded.count_ones() as u64 + folded.leading_zeros() as u64);
    }
    println!(
        "u64 {folded} checked {:?} {:?} saturating {}",
        u64::MAX.checked_add(1),
        1234u64.checked_mul(5678),
        u64::MAX.saturating_add(folded)
    );
    println!("i64 div {} rem {}", i64::MIN / 3, (-17i64).rem_euclid(5));
}

fn system_interfaces() {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let start = Instant::now();
    let clocks_ok = since_epoch.as_secs() > 1_600_000_000 && start.elapsed().as_secs() < 3600;
    println!("clocks: {}", if clocks_ok { "ok" } else { "FAILED" });
}

fn main() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    collections(&mut rng);
    floats();
    integers(&mut rng);
    system_interfaces();
}
