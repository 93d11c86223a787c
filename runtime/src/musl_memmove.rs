//! `memmove` for static executables on x86_64 musl, in place of musl's.
//!
//! musl's x86_64 `memmove` copies a range whose destination overlaps it from above one
//! byte at a time, backwards (`std; rep movsb`, which gets none of the processor's
//! fast-string microcode). Compiled code calls `memmove` for every `memory.copy`
//! within one memory, so shootout-memmove's measured region took 114 ms on
//! `x86_64-unknown-linux-musl` against 11 ms with glibc's `memmove`.
//!
//! The runtime archive for that target defines `memmove` itself, and the static link
//! takes this definition before libc.a's (musl keeps one function per object file, so
//! nothing else drags musl's in). Up to 64 bytes move with at most four loads, all before
//! any store (musl's `memcpy` starts `rep movsq` even for a few bytes, which made the
//! Rust programs, full of small `memory.copy`s, about 6% slower than with glibc). Longer
//! forward copies go to musl's `memcpy`, which copies forward (`rep movsq`; musl's own
//! `memmove` relies on that too). Overlapping backward copies move 64 bytes at a time
//! from the end (four SSE loads, then four stores), then 16, then single bytes; those
//! loops are inline assembly and volatile accesses, so that the compiler cannot turn
//! them back into a call to `memmove`, this function.

use core::arch::asm;
use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_storeu_si128};
use core::ptr;

/// C's `memmove`: copies `n` bytes from `src` to `dst`, which may overlap.
///
/// # Safety
/// `src` must be readable and `dst` writable for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if n <= 64 {
        // SAFETY: the caller's guarantee.
        unsafe { move_small(dst, src, n) };
        return dst;
    }
    // Wraps when `dst` is below `src`: then, as when the ranges are disjoint, copying
    // forward is right.
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: the caller's guarantee; musl's memcpy copies from the first byte to
        // the last, so a destination below an overlapping source is read before written.
        return unsafe { libc::memcpy(dst.cast(), src.cast(), n).cast() };
    }
    // `dst` lies above `src` within `n` bytes: copy from the end. Each chunk is read
    // whole before it is written, and every later read lies below it.
    let mut left = n;
    while left >= 64 {
        left -= 64;
        // SAFETY: `left + 64 <= n`: every access lies within the caller's ranges (`movdqu`
        // takes any alignment); the four loads come before the four stores. Only the four
        // SSE registers named are clobbered.
        unsafe {
            asm!(
                "movdqu xmm0, xmmword ptr [{src}]",
                "movdqu xmm1, xmmword ptr [{src} + 16]",
                "movdqu xmm2, xmmword ptr [{src} + 32]",
                "movdqu xmm3, xmmword ptr [{src} + 48]",
                "movdqu xmmword ptr [{dst}], xmm0",
                "movdqu xmmword ptr [{dst} + 16], xmm1",
                "movdqu xmmword ptr [{dst} + 32], xmm2",
                "movdqu xmmword ptr [{dst} + 48], xmm3",
                src = in(reg) src.add(left),
                dst = in(reg) dst.add(left),
                out("xmm0") _,
                out("xmm1") _,
                out("xmm2") _,
                out("xmm3") _,
                options(nostack, preserves_flags),
            );
        }
    }
    while left >= 16 {
        left -= 16;
        // SAFETY: `left + 16 <= n`, as above.
        unsafe {
            asm!(
                "movdqu {chunk}, xmmword ptr [{src}]",
                "movdqu xmmword ptr [{dst}], {chunk}",
                src = in(reg) src.add(left),
                dst = in(reg) dst.add(left),
                chunk = out(xmm_reg) _,
                options(nostack, preserves_flags),
            );
        }
    }
    while left > 0 {
        left -= 1;
        // SAFETY: `left < n`.
        unsafe { ptr::write_volatile(dst.add(left), ptr::read_volatile(src.add(left))) };
    }
    dst
}

/// Moves `n <= 64` bytes with at most four loads, all before any store (so the ranges may
/// overlap either way): the first and last 32, 16, 8 or 4 bytes, which cover the range
/// between them; below 4 bytes the first, middle and last.
///
/// # Safety
/// As for `memmove`.
unsafe fn move_small(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: each access lies within the first `n` bytes of its range, by
    // the bounds on `n` in its branch; unaligned accesses are allowed for these types.
    unsafe {
        if n >= 32 {
            let a = _mm_loadu_si128(src.cast::<__m128i>());
            let b = _mm_loadu_si128(src.add(16).cast::<__m128i>());
            let c = _mm_loadu_si128(src.add(n - 32).cast::<__m128i>());
            let d = _mm_loadu_si128(src.add(n - 16).cast::<__m128i>());
            _mm_storeu_si128(dst.cast::<__m128i>(), a);
            _mm_storeu_si128(dst.add(16).cast::<__m128i>(), b);
            _mm_storeu_si128(dst.add(n - 32).cast::<__m128i>(), c);
            _mm_storeu_si128(dst.add(n - 16).cast::<__m128i>(), d);
        } else if n >= 16 {
            let a = _mm_loadu_si128(src.cast::<__m128i>());
            let b = _mm_loadu_si128(src.add(n - 16).cast::<__m128i>());
            _mm_storeu_si128(dst.cast::<__m128i>(), a);
            _mm_storeu_si128(dst.add(n - 16).cast::<__m128i>(), b);
        } else if n >= 8 {
            let a = ptr::read_unaligned(src.cast::<u64>());
            let b = ptr::read_unaligned(src.add(n - 8).cast::<u64>());
            ptr::write_unaligned(dst.cast::<u64>(), a);
            ptr::write_unaligned(dst.add(n - 8).cast::<u64>(), b);
        } else if n >= 4 {
            let a = ptr::read_unaligned(src.cast::<u32>());
            let b = ptr::read_unaligned(src.add(n - 4).cast::<u32>());
            ptr::write_unaligned(dst.cast::<u32>(), a);
            ptr::write_unaligned(dst.add(n - 4).cast::<u32>(), b);
        } else if n > 0 {
            let (a, b, c) = (*src, *src.add(n / 2), *src.add(n - 1));
            *dst = a;
            *dst.add(n / 2) = b;
            *dst.add(n - 1) = c;
        }
    }
}
