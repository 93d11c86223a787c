//! The heap of a `kiln build` executable after its start-up arena (`startup_heap.rs`):
//! power-of-two size classes over anonymous mappings, instead of the C library's
//! `malloc`.
//!
//! musl's allocator (mallocng) was about 8.7 KB of every static executable, a seventh of
//! a static hello's runtime, for the few allocations the runtime makes after start-up.
//! Here:
//!
//! ```text
//!   size (or alignment, if larger) ≤ 32 KiB:  a block of the next power of two ≥ 16,
//!       taken from its class's free list, else carved from the current 256 KiB chunk
//!       (a mapping) at a multiple of its size; given back to the free list, never to
//!       the system
//!   larger:  a mapping of its own (its length rounded up to pages), unmapped when freed
//! ```
//!
//! Blocks carry no header: `dealloc` gets the layout, and the layout gives the class.
//! One lock guards the free lists and the chunk; the runtime allocates little after
//! start-up (WASI I/O goes straight between guest memory and the system), so it is not
//! contended. Neither is ever called from a signal handler, which allocates nothing.

use crate::vm::mmap::{page_size, Mmap};
use std::alloc::Layout;
use std::sync::Mutex;

/// log2 of the smallest block: room for a free list's link, 16-byte aligned as `malloc`.
const MIN_SHIFT: u32 = 4;
/// log2 of the largest block; larger allocations are mappings of their own.
const MAX_SHIFT: u32 = 15;
const N_CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
/// Bytes mapped at a time for blocks.
const CHUNK_SIZE: usize = 256 * 1024;

/// A free block: the next free block of its class.
struct FreeBlock {
    next: *mut FreeBlock,
}

struct Classes {
    /// The first free block of each class (null: none).
    free: [*mut FreeBlock; N_CLASSES],
    /// The current chunk's unused bytes: `[chunk_next, chunk_end)`.
    chunk_next: usize,
    chunk_end: usize,
}

// SAFETY: the free blocks and the chunk are memory only this heap uses, and only under the
// lock.
unsafe impl Send for Classes {}

static CLASSES: Mutex<Classes> = Mutex::new(Classes {
    free: [std::ptr::null_mut(); N_CLASSES],
    chunk_next: 0,
    chunk_end: 0,
});

/// The size class (log2 of the block size) of `layout`, or `None` for a mapping of its own.
fn class(layout: Layout) -> Option<u32> {
    let size = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    (size <= 1 << MAX_SHIFT).then(|| size.next_power_of_two().trailing_zeros())
}

fn lock() -> std::sync::MutexGuard<'static, Classes> {
    // Nothing panics while holding the lock (executables abort on a panic).
    CLASSES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A block for `layout` (whose size is not zero), or null when the system has no memory.
pub(crate) fn alloc(layout: Layout) -> *mut u8 {
    match class(layout) {
        Some(shift) => alloc_block(shift),
        None => alloc_mapping(layout),
    }
}

fn alloc_block(shift: u32) -> *mut u8 {
    let mut classes = lock();
    let index = (shift - MIN_SHIFT) as usize;
    let head = classes.free[index];
    if !head.is_null() {
        // SAFETY: a free block of this class, put on the list by `dealloc`.
        classes.free[index] = unsafe { (*head).next };
        return head.cast();
    }
    let size = 1usize << shift;
    let fits = |classes: &Classes| {
        let start = classes.chunk_next.checked_next_multiple_of(size)?;
        start
            .checked_add(size)
            .filter(|&end| end <= classes.chunk_end)
            .map(|end| (start, end))
    };
    let (start, end) = match fits(&classes) {
        Some(range) => range,
        None => {
            // The rest of the old chunk (less than a block of this class) stays unused.
            let Ok(chunk) = Mmap::accessible(CHUNK_SIZE) else {
                return std::ptr::null_mut();
            };
            let (base, len) = chunk.into_raw();
            classes.chunk_next = base as usize;
            classes.chunk_end = base as usize + len;
            match fits(&classes) {
                Some(range) => range,
                None => return std::ptr::null_mut(),
            }
        }
    };
    classes.chunk_next = end;
    start as *mut u8
}

/// The length of the mapping of a large `layout`: its size in whole pages.
fn mapping_len(layout: Layout) -> Option<usize> {
    layout.size().checked_next_multiple_of(page_size())
}

fn alloc_mapping(layout: Layout) -> *mut u8 {
    let Some(len) = mapping_len(layout) else {
        return std::ptr::null_mut();
    };
    if layout.align() <= page_size() {
        return Mmap::accessible(len).map_or(std::ptr::null_mut(), |map| map.into_raw().0);
    }
    // Stricter than a page: map enough to find an aligned start, then unmap the rest.
    let Some(over) = len.checked_add(layout.align()) else {
        return std::ptr::null_mut();
    };
    let Ok(map) = Mmap::accessible(over) else {
        return std::ptr::null_mut();
    };
    let (base, _) = map.into_raw();
    let start = (base as usize).next_multiple_of(layout.align());
    let head = start - base as usize;
    // SAFETY: the parts before and after `[start, start + len)` are ours, page-aligned
    // (the alignment is a multiple of the page size), and used by nothing.
    unsafe {
        drop(Mmap::from_raw(base, head));
        drop(Mmap::from_raw((start + len) as *mut u8, over - head - len));
    }
    start as *mut u8
}

/// Gives back a block that [`alloc`] returned for `layout`.
///
/// # Safety
/// `ptr` came from [`alloc`] with this `layout` and is not used after.
pub(crate) unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
    match class(layout) {
        Some(shift) => {
            let mut classes = lock();
            let index = (shift - MIN_SHIFT) as usize;
            let block = ptr.cast::<FreeBlock>();
            // SAFETY: a block of at least 16 bytes, aligned to its size, that nothing uses
            // (caller's contract).
            unsafe {
                block.write(FreeBlock {
                    next: classes.free[index],
                })
            };
            classes.free[index] = block;
        }
        None => {
            let len = mapping_len(layout).unwrap_or(0);
            // SAFETY: the mapping `alloc_mapping` made for this layout, unused from now
            // on (caller's contract).
            drop(unsafe { Mmap::from_raw(ptr, len) });
        }
    }
}

/// Whether a block for `old` serves `new` (of the same alignment) as it is.
pub(crate) fn fits_in_place(old: Layout, new: Layout) -> bool {
    match (class(old), class(new)) {
        (Some(old), Some(new)) => old == new,
        (None, None) => mapping_len(old) == mapping_len(new),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_take_the_class_of_their_size_or_alignment() {
        let class_of = |size, align| class(Layout::from_size_align(size, align).unwrap());
        assert_eq!(class_of(1, 1), Some(4));
        assert_eq!(class_of(16, 8), Some(4));
        assert_eq!(class_of(17, 8), Some(5));
        assert_eq!(class_of(8, 64), Some(6));
        assert_eq!(class_of(32 * 1024, 8), Some(15));
        assert_eq!(class_of(32 * 1024 + 1, 8), None);
        assert_eq!(class_of(8, 64 * 1024), None);
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_reused() {
        let mut blocks = Vec::new();
        for shift in MIN_SHIFT..=MAX_SHIFT + 1 {
            for size in [1usize << shift, (1 << shift) - 3] {
                let layout = Layout::from_size_align(size, 8).unwrap();
                let block = alloc(layout);
                assert!(!block.is_null());
                assert_eq!(block as usize % size.next_power_of_two().min(4096), 0);
                // SAFETY: the block is `size` bytes, ours.
                unsafe { block.write_bytes(shift as u8, size) };
                blocks.push((block, layout));
            }
        }
        let aligned = Layout::from_size_align(100, 256).unwrap();
        let block = alloc(aligned);
        assert_eq!(block as usize % 256, 0);
        blocks.push((block, aligned));
        let huge_alignment = Layout::from_size_align(10, 1 << 20).unwrap();
        let block = alloc(huge_alignment);
        assert_eq!(block as usize % (1 << 20), 0);
        // SAFETY: ours, 10 bytes.
        unsafe { block.write_bytes(1, 10) };
        blocks.push((block, huge_alignment));
        let mut ranges: Vec<(usize, usize)> = blocks
            .iter()
            .map(|(block, layout)| (*block as usize, *block as usize + layout.size()))
            .collect();
        ranges.sort_unstable();
        assert!(ranges.windows(2).all(|pair| pair[0].1 <= pair[1].0));
        for (block, layout) in blocks {
            // SAFETY: from `alloc` with this layout, not used after.
            unsafe { dealloc(block, layout) };
        }
        // A freed block of a class is handed out again (the list's first, here or by a
        // test thread in between: either way a block of the class).
        let layout = Layout::from_size_align(3000, 8).unwrap();
        let first = alloc(layout);
        // SAFETY: from `alloc` with this layout, not used after.
        unsafe { dealloc(first, layout) };
        let again = alloc(layout);
        assert_eq!(again as usize % 4096, 0);
        // SAFETY: as above.
        unsafe { dealloc(again, layout) };
    }

    #[test]
    fn threads_get_disjoint_blocks() {
        let layout = Layout::from_size_align(48, 8).unwrap();
        let blocks: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope
                        .spawn(move || (0..200).map(|_| alloc(layout) as usize).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().unwrap())
                .collect()
        });
        let mut sorted = blocks.clone();
        sorted.sort_unstable();
        assert!(sorted.windows(2).all(|pair| pair[1] - pair[0] >= 64));
        for block in blocks {
            // SAFETY: from `alloc` with this layout, not used after.
            unsafe { dealloc(block as *mut u8, layout) };
        }
    }

    #[test]
    fn growth_within_a_class_or_mapping_stays_in_place() {
        let layout = |size| Layout::from_size_align(size, 8).unwrap();
        assert!(fits_in_place(layout(20), layout(32)));
        assert!(!fits_in_place(layout(20), layout(33)));
        assert!(fits_in_place(layout(40_000), layout(40_960)));
        assert!(!fits_in_place(layout(40_000), layout(50_000)));
        assert!(!fits_in_place(layout(30_000), layout(40_000)));
    }
}
