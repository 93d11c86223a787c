//! The heap of a `kiln build` executable (feature `exe-main`): the first
//! [`ARENA_SIZE`] bytes of allocations are carved from a zero-initialised static arena,
//! everything after comes from the size classes of `class_heap.rs` (not the C library's
//! `malloc`, which executables then do not link).
//!
//! Start-up allocates a few kilobytes (the module's metadata, the store, the linker, the
//! WASI context) in objects of many sizes. musl's allocator gives each size class a page
//! of its own, each mapped with a system call and faulted in on first use: about eight
//! system calls and five page faults, a tenth of a static hello's start-up. Carved from
//! one arena in `.bss`, they share a page or two that the kernel maps without a system
//! call. Memory freed in the arena is reused only when it was the last allocation (a bump
//! allocator): the arena is small and start-up's objects mostly live until exit, so at
//! most [`ARENA_SIZE`] bytes go unused.

use crate::class_heap;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes served from the arena before falling back to the size classes.
const ARENA_SIZE: usize = 32 * 1024;

/// Size of the executable's alternate signal stack (see [`signal_stack`]).
const SIGNAL_STACK_SIZE: usize = 64 * 1024;

/// The executable's zero-initialised start-up memory in `.bss`: the arena, then the
/// alternate signal stack. One object, so that the small statics the linker places around
/// it share pages with its ends instead of getting pages of their own (a page fault each):
/// the arena begins on the page of the C library's statics, and the signal stack, touched
/// only when a signal arrives, ends where the next statics begin. Not page aligned for the
/// same reason.
#[repr(C, align(16))]
struct StartupMemory {
    arena: UnsafeCell<[u8; ARENA_SIZE]>,
    signal_stack: UnsafeCell<[u8; SIGNAL_STACK_SIZE]>,
}

// SAFETY: the arena's bytes are handed out in disjoint ranges (see `StartupHeap::alloc`);
// whoever receives a range owns it, as with any allocator. The signal stack's bytes are
// written only by the kernel, delivering a signal on it.
unsafe impl Sync for StartupMemory {}

static MEMORY: StartupMemory = StartupMemory {
    arena: UnsafeCell::new([0; ARENA_SIZE]),
    signal_stack: UnsafeCell::new([0; SIGNAL_STACK_SIZE]),
};

/// The executable's alternate signal stack: its address and size.
#[cfg(feature = "exe-main")]
pub(crate) fn signal_stack() -> (*mut u8, usize) {
    (MEMORY.signal_stack.get().cast(), SIGNAL_STACK_SIZE)
}

/// Offset of the first free byte of the arena.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The global allocator of executables: the arena first, then `class_heap`.
pub struct StartupHeap;

#[cfg(feature = "exe-main")]
#[global_allocator]
static HEAP: StartupHeap = StartupHeap;

impl StartupHeap {
    fn base() -> usize {
        MEMORY.arena.get() as usize
    }

    /// The offset of `ptr` in the arena, if it points into it.
    fn offset(ptr: *mut u8) -> Option<usize> {
        (ptr as usize)
            .checked_sub(Self::base())
            .filter(|&offset| offset < ARENA_SIZE)
    }

    /// Carves `layout` from the arena, or returns null when it does not fit.
    fn carve(layout: Layout) -> *mut u8 {
        let base = Self::base();
        let mut next = NEXT.load(Ordering::Relaxed);
        loop {
            // `base + next` and the rounding cannot overflow: the arena is mapped, so
            // `base + ARENA_SIZE` is an address, and alignments are below a page here or
            // the check fails.
            let Some(start) = (base + next)
                .checked_next_multiple_of(layout.align())
                .map(|address| address - base)
            else {
                return std::ptr::null_mut();
            };
            let end = match start.checked_add(layout.size()) {
                Some(end) if end <= ARENA_SIZE => end,
                _ => return std::ptr::null_mut(),
            };
            match NEXT.compare_exchange_weak(next, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return (base + start) as *mut u8,
                Err(current) => next = current,
            }
        }
    }
}

// SAFETY: `carve` hands out disjoint, suitably aligned ranges of the arena (the
// compare-exchange claims each range once); everything else goes to `class_heap` with the
// same layout, and a pointer is given back to whichever of the two it came from.
unsafe impl GlobalAlloc for StartupHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = Self::carve(layout);
        if ptr.is_null() {
            class_heap::alloc(layout)
        } else {
            ptr
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match Self::offset(ptr) {
            // The last allocation gives its bytes back; any other stays carved.
            Some(offset) => {
                let _ = NEXT.compare_exchange(
                    offset + layout.size(),
                    offset,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            // SAFETY: `ptr` came from `class_heap::alloc` with this layout.
            None => unsafe { class_heap::dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(offset) = Self::offset(ptr) else {
            // SAFETY: `GlobalAlloc::realloc`'s contract makes this layout valid.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            if class_heap::fits_in_place(layout, new_layout) {
                return ptr;
            }
            let new = class_heap::alloc(new_layout);
            if !new.is_null() {
                // SAFETY: both blocks are ours and disjoint, each at least as long as
                // what is copied; `ptr` came from `class_heap::alloc` with `layout`.
                unsafe {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    class_heap::dealloc(ptr, layout);
                }
            }
            return new;
        };
        if new_size <= layout.size() {
            return ptr;
        }
        // The last allocation grows in place while the arena has room.
        if let Some(end) = offset
            .checked_add(new_size)
            .filter(|&end| end <= ARENA_SIZE)
        {
            if NEXT
                .compare_exchange(
                    offset + layout.size(),
                    end,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return ptr;
            }
        }
        // SAFETY: `GlobalAlloc::realloc`'s contract makes this layout valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both ranges are ours, at least `layout.size()` long, and disjoint.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, because the arena is one per process: carving, giving back the last
    /// allocation, growing in place, moving on growth, and falling back to the size classes.
    #[test]
    fn the_arena_serves_first_then_the_size_classes() {
        let heap = StartupHeap;
        let small = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: every pointer below is used within its layout and given back once.
        unsafe {
            let a = heap.alloc(small);
            assert!(
                StartupHeap::offset(a).is_some(),
                "the first allocation is carved"
            );
            assert_eq!(a as usize % 8, 0);
            a.write_bytes(0xab, 24);
            // The last allocation grows in place, keeping its contents.
            let grown = heap.realloc(a, small, 100);
            assert_eq!(grown, a);
            assert_eq!(*grown.add(23), 0xab);
            let grown_layout = Layout::from_size_align(100, 8).unwrap();
            // Another allocation after it: growing again must move and copy.
            let b = heap.alloc(Layout::from_size_align(16, 16).unwrap());
            assert_eq!(b as usize % 16, 0);
            assert!(b as usize >= a as usize + 100, "ranges are disjoint");
            let moved = heap.realloc(grown, grown_layout, 200);
            assert_ne!(moved, grown);
            assert_eq!(*moved.add(23), 0xab);
            // Giving back the last allocation lets the next one reuse its bytes.
            let moved_layout = Layout::from_size_align(200, 8).unwrap();
            heap.dealloc(moved, moved_layout);
            let again = heap.alloc(moved_layout);
            assert_eq!(again, moved);
            heap.dealloc(again, moved_layout);
            // What does not fit comes from the size classes, and goes back there.
            let big = Layout::from_size_align(ARENA_SIZE + 1, 8).unwrap();
            let outside = heap.alloc(big);
            assert!(!outside.is_null());
            assert!(StartupHeap::offset(outside).is_none());
            outside.write_bytes(1, big.size());
            let outside = heap.realloc(outside, big, 2 * big.size());
            assert!(StartupHeap::offset(outside).is_none());
            assert_eq!(*outside.add(ARENA_SIZE), 1);
            heap.dealloc(outside, Layout::from_size_align(2 * big.size(), 8).unwrap());
            // Threads carving at once get disjoint ranges.
            let starts: Vec<usize> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..4)
                    .map(|_| {
                        scope.spawn(|| {
                            (0..32)
                                .map(|_| {
                                    StartupHeap.alloc(Layout::from_size_align(8, 8).unwrap())
                                        as usize
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|handle| handle.join().unwrap())
                    .collect()
            });
            let mut sorted = starts.clone();
            sorted.sort_unstable();
            assert!(sorted.windows(2).all(|pair| pair[1] - pair[0] >= 8));
            // Exhausting the arena falls back to the size classes for small layouts too.
            let filler = Layout::from_size_align(1024, 8).unwrap();
            let mut last = std::ptr::null_mut();
            for _ in 0..=ARENA_SIZE / 1024 {
                last = heap.alloc(filler);
            }
            assert!(StartupHeap::offset(last).is_none());
            heap.dealloc(last, filler);
        }
    }
}
