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
//! `memmove` relies on that too). Overlapping backward copies, on a processor with AVX2,
//! load the first 64 and the last 32 bytes, then move 128 bytes at a time from the end
//! with stores aligned to 32 bytes (an unaligned store that straddles two cache lines
//! costs two), and store the first and last bytes last, as glibc's `memmove` does; without
//! AVX2 they move 64 bytes at a time with SSE, then 16, then single bytes. The loops are
//! inline assembly and volatile accesses, so that the compiler cannot turn them back into
//! a call to `memmove`, this function. Whether the processor has AVX2 is asked once, after
//! the first 4 MiB of such copies (`cpuid` is slow in virtual machines: about 3.5 µs a
//! leaf).

use core::arch::asm;
use core::arch::x86_64::{__cpuid, __cpuid_count, __m128i, _mm_loadu_si128, _mm_storeu_si128};
use core::ptr;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// C's `memmove`: copies `n` bytes from `src` to `dst`, which may overlap.
///
/// # Safety
/// `src` must be readable and `dst` writable for `n` bytes.
// Unit tests (on any x86_64 host) call it by name, without replacing the host's memmove.
#[cfg_attr(not(test), no_mangle)]
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
    // `dst` lies above `src` within `n` bytes: copy from the end.
    if use_avx2(n) {
        // SAFETY: the caller's guarantee, `n > 64`, and the processor has AVX2.
        unsafe { move_back_avx2(dst, src, n) };
    } else {
        // SAFETY: the caller's guarantee.
        unsafe { move_back_sse(dst, src, n) };
    }
    dst
}

/// Moves `n` bytes to `dst` above `src` from the end, with SSE: 64 bytes per step, then
/// 16, then single bytes. Each chunk is read whole before it is written, and every later
/// read lies below it.
///
/// # Safety
/// As for `memmove`, with `dst > src`.
unsafe fn move_back_sse(dst: *mut u8, src: *const u8, n: usize) {
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
}

/// Bytes of overlapping backward copies made with SSE before the processor is asked
/// whether it has AVX2. Asking takes three `cpuid`s, which a virtual machine traps: about
/// 10 µs, the time SSE takes to move some 600 KB. A program that makes few such copies
/// (libsodium's `crypto_secretbox_easy` makes one per message) never pays for it; one
/// that makes many pays it after 4 MiB, well under a tenth of what those cost.
const BACKWARD_BYTES_BEFORE_ASKING: usize = 4 << 20;

/// Whether to copy `n` bytes backward with AVX2: the processor has it and the kernel saves
/// its registers (asked once, after [`BACKWARD_BYTES_BEFORE_ASKING`]).
fn use_avx2(n: usize) -> bool {
    const UNKNOWN: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;
    static AVX2: AtomicU8 = AtomicU8::new(UNKNOWN);
    static BACKWARD_BYTES: AtomicUsize = AtomicUsize::new(0);
    match AVX2.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let done = BACKWARD_BYTES.fetch_add(n, Ordering::Relaxed);
            if done.saturating_add(n) < BACKWARD_BYTES_BEFORE_ASKING {
                return false;
            }
            let avx2 = detect_avx2();
            AVX2.store(if avx2 { YES } else { NO }, Ordering::Relaxed);
            avx2
        }
    }
}

fn detect_avx2() -> bool {
    const OSXSAVE_AND_AVX: u32 = (1 << 27) | (1 << 28);
    const XMM_AND_YMM_STATE: u64 = 0b110;
    // Leaves 0 and 1 exist on every x86_64 processor.
    let (max_leaf, features) = (__cpuid(0).eax, __cpuid(1).ecx);
    if max_leaf < 7 || features & OSXSAVE_AND_AVX != OSXSAVE_AND_AVX {
        return false;
    }
    // SAFETY: OSXSAVE says the kernel enabled `xgetbv`.
    let enabled = unsafe { xcr0() };
    // Leaf 7 exists (`max_leaf` above).
    let extended = __cpuid_count(7, 0).ebx;
    enabled & XMM_AND_YMM_STATE == XMM_AND_YMM_STATE && extended & (1 << 5) != 0
}

/// The XCR0 register: which register states the kernel saves.
///
/// # Safety
/// The processor must support `xgetbv` (CPUID.1:ECX.OSXSAVE).
#[target_feature(enable = "xsave")]
unsafe fn xcr0() -> u64 {
    // SAFETY: the caller's guarantee.
    unsafe { core::arch::x86_64::_xgetbv(0) }
}

/// Moves `n > 64` bytes to `dst` above `src` (overlapping or not) from the end, with AVX2:
/// the first 64 and the last 32 bytes are loaded before any store; then 128 bytes per
/// step, 32 per step, and one last unaligned 32-byte move cover everything between, with
/// destination blocks aligned to 32 bytes; the first and last bytes are stored last.
/// Every load of a step lies below the stores before it (`dst > src`), so nothing is read
/// after it was overwritten.
///
/// # Safety
/// As for `memmove`, with `dst > src`, `n > 64`; the processor must have AVX2.
#[target_feature(enable = "avx,avx2")]
unsafe fn move_back_avx2(dst: *mut u8, src: *const u8, n: usize) {
    // The destination offset where the aligned blocks end: in (n - 32, n].
    let left = ((dst as usize + n) & !31) - dst as usize;
    // SAFETY: every access lies within the first `n` bytes of its range: the blocks of
    // the loops end at `left <= n` and start at 64 or above (the loop bounds); the last
    // move starts at `left - 32 > 32` when `left > 64`. The aligned stores (`vmovdqa`) go
    // to `dst + left - k * 32`, 32-byte aligned by the choice of `left`. Only the registers
    // named are clobbered; `vzeroupper` leaves the upper halves clean for SSE code.
    unsafe {
        asm!(
            "vmovdqu {head0}, ymmword ptr [{src}]",
            "vmovdqu {head1}, ymmword ptr [{src} + 32]",
            "vmovdqu {tail}, ymmword ptr [{src} + {n} - 32]",
            "2:",
            "cmp {left}, 192",
            "jb 3f",
            "sub {left}, 128",
            "vmovdqu {a}, ymmword ptr [{src} + {left}]",
            "vmovdqu {b}, ymmword ptr [{src} + {left} + 32]",
            "vmovdqu {c}, ymmword ptr [{src} + {left} + 64]",
            "vmovdqu {d}, ymmword ptr [{src} + {left} + 96]",
            "vmovdqa ymmword ptr [{dst} + {left}], {a}",
            "vmovdqa ymmword ptr [{dst} + {left} + 32], {b}",
            "vmovdqa ymmword ptr [{dst} + {left} + 64], {c}",
            "vmovdqa ymmword ptr [{dst} + {left} + 96], {d}",
            "jmp 2b",
            "3:",
            "cmp {left}, 96",
            "jb 4f",
            "sub {left}, 32",
            "vmovdqu {a}, ymmword ptr [{src} + {left}]",
            "vmovdqa ymmword ptr [{dst} + {left}], {a}",
            "jmp 3b",
            "4:",
            "cmp {left}, 64",
            "jbe 5f",
            "vmovdqu {a}, ymmword ptr [{src} + {left} - 32]",
            "vmovdqu ymmword ptr [{dst} + {left} - 32], {a}",
            "5:",
            "vmovdqu ymmword ptr [{dst} + {n} - 32], {tail}",
            "vmovdqu ymmword ptr [{dst}], {head0}",
            "vmovdqu ymmword ptr [{dst} + 32], {head1}",
            "vzeroupper",
            src = in(reg) src,
            dst = in(reg) dst,
            n = in(reg) n,
            left = inout(reg) left => _,
            head0 = out(ymm_reg) _,
            head1 = out(ymm_reg) _,
            tail = out(ymm_reg) _,
            a = out(ymm_reg) _,
            b = out(ymm_reg) _,
            c = out(ymm_reg) _,
            d = out(ymm_reg) _,
            options(nostack),
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    type Move = unsafe fn(*mut u8, *const u8, usize);

    /// `memmove` as a move function.
    unsafe fn move_any(dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the caller's guarantee.
        unsafe { memmove(dst, src, n) };
    }

    /// Checks `moves` against a byte-by-byte copy, for lengths 0..=600 and distances -130
    /// to 130 from every source alignment in a 32-byte line.
    fn check(name: &str, moves: Move, backward_only: bool, min_len: usize) {
        let pattern: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in min_len..=600 {
            for distance in -130isize..=130 {
                if backward_only && distance <= 0 {
                    continue;
                }
                for align in 0..32usize {
                    let from = 160 + align;
                    let to = from.wrapping_add_signed(distance);
                    let mut buffer = pattern.clone();
                    let mut expected = pattern.clone();
                    expected.copy_within(from..from + len, to);
                    // SAFETY: both ranges lie within `buffer` (1024 bytes).
                    unsafe {
                        let base = buffer.as_mut_ptr();
                        moves(base.add(to), base.add(from), len);
                    }
                    assert!(
                        buffer == expected,
                        "{name}: {len} bytes by {distance} from offset {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn memmove_is_a_byte_copy_in_the_safe_direction() {
        check("memmove", move_any, false, 0);
    }

    #[test]
    fn backward_moves_with_sse() {
        check("move_back_sse", move_back_sse, true, 0);
    }

    #[test]
    fn backward_moves_with_avx2() {
        if !detect_avx2() {
            eprintln!("no AVX2 on this processor: move_back_avx2 not tested");
            return;
        }
        check("move_back_avx2", move_back_avx2, true, 65);
    }
}
