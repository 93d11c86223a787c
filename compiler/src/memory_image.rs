//! The memory image: the module's first memory's active data segments applied, in order,
//! to zeroed pages at compile time, so that the runtime can map those pages from the
//! executable file (copy-on-write) instead of copying the segments into fresh pages.
//!
//! Measured here (a C model of both ways), copying into fresh pages costs about 1.8 µs per
//! 4 KiB page in zero-fill faults (128 KiB: 60 µs, 1 MiB: 420 µs) where a private file
//! mapping read once costs 11 µs and 42 µs; measured on whole executables, copying was the
//! cheaper up to about 48 KiB (see [`MIN_DATA_BYTES`]). An image also costs the file its
//! alignment and rounding to the target's granule, up to two granules (the Rust WASI
//! `files` program's 17.7 KB of data: 6.4 KB on x86_64, 30 KB on aarch64), so one is made
//! only from [`MIN_DATA_BYTES`] and [`MIN_DATA_GRANULES`] granules of data on; and only
//! where it is the same as copying the segments:
//! the memory is the module's own (not imported), every segment's offset is a constant and
//! every segment lies within the memory's initial size (so none traps).

use kiln_abi::metadata::{ConstOp, DataMode, ExternKind, ModuleMetadata};
use kiln_abi::WASM_PAGE_SIZE;

/// Data below this many bytes is copied at instantiation: mapping it gains nothing.
/// Measured with static x86_64 musl executables of a module that reads a byte of each page
/// of its data (alternating spawns, `benches/coldstart/alternate.c`, medians of 2,000
/// pairs), mapped over copied: 17 KiB of data 1.09× (and 14 KB larger), 32 KiB 1.04×,
/// 64 KiB 0.97×, 128 KiB 0.85×.
pub const MIN_DATA_BYTES: u64 = 64 * 1024;

/// Data below this many granules is copied at instantiation too, so that the image's
/// padding and rounding (up to two granules) cost the file at most half as much as the data.
pub const MIN_DATA_GRANULES: u64 = 4;

/// The image of `metadata`'s first memory and its offset in that memory, when the module
/// should have one (see the module documentation). The image's start and length are
/// multiples of `granule` (the target's `memory_image_granule`); it is at most twice the
/// data plus one granule, so sparse segments do not bloat the file.
pub fn build(metadata: &ModuleMetadata<'_>, granule: u64) -> Option<(u64, Vec<u8>)> {
    let memory = metadata.memories.first()?;
    if metadata.imported_count(ExternKind::Memory) > 0 || memory.shared {
        return None;
    }
    let initial_bytes = memory.min_pages.checked_mul(WASM_PAGE_SIZE)?;
    let mut segments = Vec::new();
    for segment in &metadata.data {
        let DataMode::Active { memory: 0, offset } = &segment.mode else {
            continue;
        };
        let start = match offset.as_slice() {
            [ConstOp::I32Const(value)] => u64::from(*value as u32),
            [ConstOp::I64Const(value)] => *value as u64,
            _ => return None,
        };
        let end = start.checked_add(segment.bytes.len() as u64)?;
        if end > initial_bytes {
            return None;
        }
        // The module pass's segments are plain; the writer compresses them only later.
        segments.push((start, segment.bytes.as_plain()?));
    }
    let data_bytes: u64 = segments.iter().map(|(_, bytes)| bytes.len() as u64).sum();
    if data_bytes < MIN_DATA_BYTES.max(MIN_DATA_GRANULES.saturating_mul(granule)) {
        return None;
    }
    let align = granule;
    let first = segments.iter().map(|&(start, _)| start).min()? / align * align;
    let last = segments
        .iter()
        .map(|&(start, bytes)| start + bytes.len() as u64)
        .max()?
        .next_multiple_of(align);
    if last - first > 2 * data_bytes + align {
        return None;
    }
    let mut image = vec![0u8; usize::try_from(last - first).ok()?];
    for (start, bytes) in segments {
        let at = (start - first) as usize;
        image[at..at + bytes.len()].copy_from_slice(bytes);
    }
    Some((first, image))
}

/// Leaves the bytes of the segments an image holds (the first memory's active ones) out of
/// `metadata`: with an image, the runtime applies the image in their place and drops them
/// (an active segment is dropped once instantiation applied it, so `memory.init` finds it
/// empty), so their bytes would be a second copy of the data in the file (a Rust WASI
/// program: 14 KB of its 43 KB of metadata).
pub fn leave_out_imaged_segments(metadata: &mut ModuleMetadata<'_>) {
    for segment in &mut metadata.data {
        if let DataMode::Active { memory: 0, .. } = segment.mode {
            segment.bytes = kiln_abi::packed::Packed::plain(&[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_info;
    use kiln_abi::metadata::MemorySettings;

    const SETTINGS: MemorySettings = MemorySettings {
        reservation: 4 << 30,
        guard_size: 2 << 30,
        bounds_checks: false,
    };

    /// The image of the module `wat`, whose data strings may use `{big}` for 70,000 bytes
    /// of 0x01 (more than [`MIN_DATA_BYTES`]) and `{small}` for 60,000 (fewer), for a target
    /// whose granule is `granule`.
    fn image_for(wat: &str, granule: u64) -> Option<(u64, Vec<u8>)> {
        let big = "\\01".repeat(70_000);
        let wat = wat.replace("{small}", &"\\01".repeat(60_000));
        let wasm = wat::parse_str(wat.replace("{big}", &big)).unwrap();
        let info = module_info::parse(&wasm, SETTINGS).unwrap();
        build(&info.metadata, granule)
    }

    /// [`image_for`] with 8 KiB granules.
    fn image(wat: &str) -> Option<(u64, Vec<u8>)> {
        image_for(wat, 8192)
    }

    #[test]
    fn segments_are_applied_in_order_on_aligned_zeroed_pages() {
        let (offset, image) = image(
            r#"(module (memory 4)
                 (data (i32.const 70000) "{big}")
                 (data (i32.const 70005) "\02\02\02\02\02\02\02\02\02\02"))"#,
        )
        .expect("an image");
        // From the granule the data starts in to the end of the one it ends in.
        assert_eq!(offset, 65_536);
        assert_eq!(image.len(), 147_456 - 65_536);
        let at = 70_000 - 65_536;
        assert!(image[..at].iter().all(|&b| b == 0));
        assert_eq!(&image[at..at + 5], &[1; 5]);
        assert_eq!(&image[at + 5..at + 15], &[2; 10], "the later segment wins");
        assert!(image[at + 15..at + 70_000].iter().all(|&b| b == 1));
        assert!(image[at + 70_000..].iter().all(|&b| b == 0));
    }

    #[test]
    fn no_image_where_copying_differs_or_gains_nothing() {
        // Small data: one byte, and 60,000 bytes (below 64 KiB).
        assert!(image(r#"(module (memory 4) (data (i32.const 0) "\01"))"#).is_none());
        assert!(image(r#"(module (memory 4) (data (i32.const 0) "{small}"))"#).is_none());
        // 70,000 bytes are fewer than four granules of 32 KiB.
        assert!(image_for(r#"(module (memory 4) (data (i32.const 0) "{big}"))"#, 32768).is_none());
        // Beyond the initial size: the segment traps at instantiation.
        assert!(image(r#"(module (memory 1) (data (i32.const 60000) "{big}"))"#).is_none());
        // An offset that is not a constant.
        assert!(image(
            r#"(module (global i32 (i32.const 0)) (memory 4) (data (global.get 0) "{big}"))"#
        )
        .is_none());
        // An imported memory.
        assert!(
            image(r#"(module (import "m" "m" (memory 4)) (data (i32.const 0) "{big}"))"#).is_none()
        );
        // Sparse: 140 KB of data spread over 40 pages.
        assert!(image(
            r#"(module (memory 64) (data (i32.const 0) "{big}") (data (i32.const 2621440) "{big}"))"#
        )
        .is_none());
        // The control: the same data together makes an image.
        assert!(image(r#"(module (memory 4) (data (i32.const 0) "{big}{big}"))"#).is_some());
    }

    #[test]
    fn the_metadata_leaves_out_the_bytes_an_image_holds() {
        let big = "\\01".repeat(70_000);
        let wat = r#"(module (memory 4) (memory 1)
                       (data (i32.const 0) "{big}")
                       (data "passive")
                       (data (memory 1) (i32.const 0) "second"))"#;
        let wasm = wat::parse_str(wat.replace("{big}", &big)).unwrap();
        let mut info = module_info::parse(&wasm, SETTINGS).unwrap();
        assert!(build(&info.metadata, 4096).is_some());
        leave_out_imaged_segments(&mut info.metadata);
        let lengths: Vec<usize> = info.metadata.data.iter().map(|s| s.bytes.len()).collect();
        // The passive segment and the second memory's keep theirs.
        assert_eq!(lengths, [0, 7, 6]);
    }
}
