//! The smallest Rust end-to-end program: one line on stdout, exit code 0.

fn main() {
    println!("Hello from Rust!");
}
