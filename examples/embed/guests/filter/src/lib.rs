//! A small text filter compiled to WebAssembly: the Rust guest that `examples/embed`
//! embeds. It imports two host functions (`env::log_value`, `env::threshold`) and exports
//! arithmetic, a byte buffer in its memory for the host to fill, and a global.

#![no_std]

#[link(wasm_import_module = "env")]
extern "C" {
    /// Reports a labelled value to the host.
    fn log_value(label: i32, value: i64);
    /// The byte value below which `filter` drops bytes, chosen by the host.
    fn threshold() -> i32;
}

/// Where the host writes input and reads output.
static mut BUFFER: [u8; 4096] = [0; 4096];

/// The version of the filter, exported as a global holding its address.
#[no_mangle]
pub static FILTER_VERSION: u32 = 3;

#[no_mangle]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// Integer division; dividing by zero panics, which traps (`unreachable`).
#[no_mangle]
pub extern "C" fn divide(a: i32, b: i32) -> i32 {
    if b == 0 {
        panic!("division by zero");
    }
    a.wrapping_div(b)
}

/// The address of the 4096-byte buffer.
#[no_mangle]
pub extern "C" fn buffer() -> *mut u8 {
    core::ptr::addr_of_mut!(BUFFER).cast()
}

/// Keeps the bytes of `BUFFER[..len]` at or above the host's threshold, in place; returns
/// how many were kept and logs the sum of what was dropped.
#[no_mangle]
pub extern "C" fn filter(len: i32) -> i32 {
    // SAFETY: wasm is single-threaded; the host does not touch the buffer during the call.
    let buffer = unsafe { &mut *core::ptr::addr_of_mut!(BUFFER) };
    let len = (len.max(0) as usize).min(buffer.len());
    // SAFETY: an import without preconditions.
    let threshold = unsafe { threshold() };
    let (mut kept, mut dropped) = (0, 0i64);
    for index in 0..len {
        let byte = buffer[index];
        if i32::from(byte) >= threshold {
            buffer[kept] = byte;
            kept += 1;
        } else {
            dropped += i64::from(byte);
        }
    }
    // SAFETY: an import without preconditions.
    unsafe { log_value(1, dropped) };
    kept as i32
}

/// The sum of the first `n` integers, slowly (for the threads of the example).
#[no_mangle]
pub extern "C" fn triangle(n: i64) -> i64 {
    let mut sum = 0i64;
    let mut i = 0;
    while i <= n {
        sum = sum.wrapping_add(core::hint::black_box(i));
        i += 1;
    }
    sum
}

/// Scales `x` by a factor, in floating point.
#[no_mangle]
pub extern "C" fn scale(x: f64, factor: f32) -> f64 {
    x * f64::from(factor)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
