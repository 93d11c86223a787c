//! The module descriptor: the one exported data symbol of a kiln object, from which the
//! runtime finds everything else (metadata, function code, trap and call-site tables,
//! trampolines).
//!
//! ```text
//!  <prefix>kiln_module ─► ModuleDescriptor
//!                           ├─ metadata ──────► postcard bytes (metadata.rs)
//!                           ├─ code ──────────► [CodeEntry; n_functions + 2 * n_types]
//!                           │                      └─ code_offset: its code, from code_base
//!                           ├─ code_base ─────► the first function in the object's `.text`
//!                           ├─ tables ────────► tables_len bytes: each code entry's trap table
//!                           │                     and call-site table (trap.rs `CodeTables`),
//!                           │                     in code-entry order
//!                           ├─ memory_image ──► the first memory's initial bytes (or null)
//!                           └─ profile ───────► [u64; n_functions] entry counters, written by
//!                                                 the code (or null: it does not count)
//! ```
//!
//! The code entries are, in order: the defined functions (by index, imported functions
//! excluded), then one entry trampoline per type ([`crate::vmctx::VMEntryTrampoline`]: the
//! host calls wasm through it), then one exit trampoline per type (wasm-call code that
//! forwards to a host function through its `VMHostContext`). Together they cover every
//! byte of code the object holds, so a faulting PC is found in exactly one entry.
//!
//! The compiler writes it as a relocated data object; the pointers are resolved by the
//! linker (or by the runtime's loader), so reading it costs nothing at start-up. The code
//! entries hold no pointers: all of an object's code is in its one `.text`, so each entry
//! holds its code's offset from `code_base`, which the compiler knows once it has placed the
//! functions. That makes an entry 8 bytes instead of 16 (its tables are found by their
//! lengths, `trap::CodeTables`), and saves the linker a relocation
//! per entry, which in a position-independent executable is a 24-byte dynamic relocation
//! that the dynamic loader applies at each start.

use core::mem::offset_of;

/// Value of [`ModuleDescriptor::magic`].
pub const DESCRIPTOR_MAGIC: [u8; 8] = *b"KILNMOD\0";

/// The root of a compiled module. All pointers are absolute addresses.
#[repr(C)]
#[derive(Debug)]
pub struct ModuleDescriptor {
    /// [`DESCRIPTOR_MAGIC`].
    pub magic: [u8; 8],
    /// The [`crate::ABI_VERSION`] the object was compiled against.
    pub abi_version: u32,
    /// Number of functions the module defines (imported functions excluded).
    pub n_functions: u32,
    /// Number of function types.
    pub n_types: u32,
    /// Padding, zero.
    pub _pad: u32,
    /// Encoded [`crate::metadata::ModuleMetadata`].
    pub metadata: *const u8,
    /// Length of the encoded metadata.
    pub metadata_len: usize,
    /// `n_functions + 2 * n_types` code entries, in the order the module documentation
    /// gives.
    pub code: *const CodeEntry,
    /// The address the code entries' [`CodeEntry::code_offset`]s count from: the first
    /// function placed in the object's `.text` (null when no entry has code).
    pub code_base: *const u8,
    /// The code tables: every code entry's trap and call-site tables, in code-entry order,
    /// encoded as `trap::CodeTables` describes.
    pub tables: *const u8,
    /// Length of the code tables in bytes.
    pub tables_len: usize,
    /// The active data segments of the module's own first memory, applied in order to
    /// zeroed pages: `memory_image_len` bytes (a multiple of the target's
    /// [`memory_image_granule`], aligned to it)
    /// for the memory at [`crate::metadata::ModuleMetadata::memory_image_offset`]; null
    /// when the module has none (its segments are then copied one by one).
    pub memory_image: *const u8,
    /// Length of the memory image.
    pub memory_image_len: usize,
    /// The entry counters of code compiled to count (`--profile-generate`, see
    /// [`crate::profile`]): `profile_len` zero-initialised words in writable data, one per
    /// defined function, that the function increments on entry; null when the code does
    /// not count.
    pub profile: *mut u64,
    /// Number of counters: `n_functions`, or 0.
    pub profile_len: usize,
}

/// Alignment and length granule of [`ModuleDescriptor::memory_image`] on a target: a page
/// size of the target's Linux kernels, so the image can be mapped from the file: 4 KiB on
/// x86_64; 16 KiB on aarch64, whose kernels use 4 KiB pages (most devices), 16 KiB (Apple
/// silicon, some phones) or 64 KiB (some servers). A host whose pages are larger than the
/// granule copies the image instead, which is correct and costs start-up time only; 64 KiB
/// everywhere cost the file up to 60 KiB of padding and image per module (a Rust WASI
/// program's static executable: 783,728 B with it, 652,048 B with 4 KiB).
pub fn memory_image_granule(x86_64: bool) -> usize {
    if x86_64 {
        4 * 1024
    } else {
        16 * 1024
    }
}

/// A function's or trampoline's code and its part of the code tables.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CodeEntry {
    /// Offset of the function's first byte of code from [`ModuleDescriptor::code_base`];
    /// 0, with `code_len` 0, for a function the compiler left out because nothing can run
    /// it (`compiler/src/reachability.rs`).
    pub code_offset: u32,
    /// Length of the code in bytes, 0 for a function without code; with [`SHARED_CODE`]
    /// set in an entry whose code is an earlier entry's.
    pub code_len: u32,
}

/// The bit of [`CodeEntry::code_len`] that marks code shared with an earlier entry: a
/// function folded into an earlier one with the same type and body
/// (`compiler/src/fold.rs`), whose entry repeats that one's offset and length and has
/// empty code tables. The runtime registers the code once, as the earlier function's.
pub const SHARED_CODE: u32 = 1 << 31;

/// Offset of [`ModuleDescriptor::metadata`].
pub const DESCRIPTOR_METADATA: usize = offset_of!(ModuleDescriptor, metadata);
/// Offset of [`ModuleDescriptor::metadata_len`].
pub const DESCRIPTOR_METADATA_LEN: usize = offset_of!(ModuleDescriptor, metadata_len);
/// Offset of [`ModuleDescriptor::code`].
pub const DESCRIPTOR_CODE: usize = offset_of!(ModuleDescriptor, code);
/// Offset of [`ModuleDescriptor::code_base`].
pub const DESCRIPTOR_CODE_BASE: usize = offset_of!(ModuleDescriptor, code_base);
/// Offset of [`ModuleDescriptor::tables`].
pub const DESCRIPTOR_TABLES: usize = offset_of!(ModuleDescriptor, tables);
/// Offset of [`ModuleDescriptor::tables_len`].
pub const DESCRIPTOR_TABLES_LEN: usize = offset_of!(ModuleDescriptor, tables_len);
/// Offset of [`ModuleDescriptor::memory_image`].
pub const DESCRIPTOR_MEMORY_IMAGE: usize = offset_of!(ModuleDescriptor, memory_image);
/// Offset of [`ModuleDescriptor::memory_image_len`].
pub const DESCRIPTOR_MEMORY_IMAGE_LEN: usize = offset_of!(ModuleDescriptor, memory_image_len);
/// Offset of [`ModuleDescriptor::profile`].
pub const DESCRIPTOR_PROFILE: usize = offset_of!(ModuleDescriptor, profile);
/// Offset of [`ModuleDescriptor::profile_len`].
pub const DESCRIPTOR_PROFILE_LEN: usize = offset_of!(ModuleDescriptor, profile_len);
/// Size of a descriptor.
pub const DESCRIPTOR_SIZE: usize = core::mem::size_of::<ModuleDescriptor>();
/// Size of a code entry.
pub const CODE_ENTRY_SIZE: usize = core::mem::size_of::<CodeEntry>();

impl ModuleDescriptor {
    /// The bytes of a descriptor as the compiler writes it (little endian, as on every
    /// supported target), with the pointers left zero for relocations at
    /// [`DESCRIPTOR_METADATA`], [`DESCRIPTOR_CODE`], (with code) [`DESCRIPTOR_CODE_BASE`],
    /// [`DESCRIPTOR_TABLES`], (with an image)
    /// [`DESCRIPTOR_MEMORY_IMAGE`] and (with counters) [`DESCRIPTOR_PROFILE`] to fill.
    pub fn encode(
        n_functions: u32,
        n_types: u32,
        metadata_len: usize,
        tables_len: usize,
        memory_image_len: usize,
        profile_len: usize,
    ) -> [u8; DESCRIPTOR_SIZE] {
        let mut bytes = [0u8; DESCRIPTOR_SIZE];
        bytes[..8].copy_from_slice(&DESCRIPTOR_MAGIC);
        bytes[offset_of!(ModuleDescriptor, abi_version)..][..4]
            .copy_from_slice(&crate::ABI_VERSION.to_le_bytes());
        bytes[offset_of!(ModuleDescriptor, n_functions)..][..4]
            .copy_from_slice(&n_functions.to_le_bytes());
        bytes[offset_of!(ModuleDescriptor, n_types)..][..4].copy_from_slice(&n_types.to_le_bytes());
        bytes[DESCRIPTOR_METADATA_LEN..][..8].copy_from_slice(&(metadata_len as u64).to_le_bytes());
        bytes[DESCRIPTOR_TABLES_LEN..][..8].copy_from_slice(&(tables_len as u64).to_le_bytes());
        bytes[DESCRIPTOR_MEMORY_IMAGE_LEN..][..8]
            .copy_from_slice(&(memory_image_len as u64).to_le_bytes());
        bytes[DESCRIPTOR_PROFILE_LEN..][..8].copy_from_slice(&(profile_len as u64).to_le_bytes());
        bytes
    }

    /// Number of code entries.
    pub fn n_code_entries(&self) -> usize {
        self.n_functions as usize + 2 * self.n_types as usize
    }

    /// Every code entry: functions, then entry trampolines, then exit trampolines.
    ///
    /// # Safety
    /// `self` must be a descriptor written by the kiln compiler whose pointers were
    /// relocated (linked or loaded), with the current ABI version.
    pub unsafe fn code_entries(&self) -> &[CodeEntry] {
        // SAFETY: the compiler writes `n_code_entries()` entries at `code` (caller's contract).
        unsafe { slice_or_empty(self.code, self.n_code_entries()) }
    }

    /// The address of `entry`'s code: null for an entry without code. An address, not a
    /// pointer into `code_base`'s object as far as Rust knows (wrapping arithmetic), so a
    /// corrupt offset gives a wrong address, which the runtime checks for overlap, never
    /// undefined behaviour here.
    pub fn code_address(&self, entry: &CodeEntry) -> *const u8 {
        if entry.code_len == 0 {
            core::ptr::null()
        } else {
            self.code_base.wrapping_add(entry.code_offset as usize)
        }
    }

    /// The code of code entry `index`.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::code_entries`]; `index < n_code_entries()`.
    pub unsafe fn code(&self, index: usize) -> *const u8 {
        // SAFETY: caller's contract.
        self.code_address(unsafe { &self.code_entries()[index] })
    }

    /// The entry trampoline of type `type_index`.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::code_entries`]; `type_index < n_types`.
    pub unsafe fn entry_trampoline(&self, type_index: u32) -> *const u8 {
        // SAFETY: caller's contract.
        unsafe { self.code(self.n_functions as usize + type_index as usize) }
    }

    /// The exit trampoline of type `type_index`.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::code_entries`]; `type_index < n_types`.
    pub unsafe fn exit_trampoline(&self, type_index: u32) -> *const u8 {
        let index = self.n_functions as usize + self.n_types as usize + type_index as usize;
        // SAFETY: caller's contract.
        unsafe { self.code(index) }
    }

    /// The code tables' bytes.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::code_entries`].
    pub unsafe fn code_tables(&self) -> &[u8] {
        // SAFETY: the compiler writes `tables_len` bytes at `tables` (caller's contract).
        unsafe { slice_or_empty(self.tables, self.tables_len) }
    }

    /// The encoded metadata.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::code_entries`].
    pub unsafe fn metadata_bytes(&self) -> &[u8] {
        // SAFETY: the compiler writes `metadata_len` bytes at `metadata` (caller's contract).
        unsafe { slice_or_empty(self.metadata, self.metadata_len) }
    }

    /// The memory image (empty when there is none).
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::code_entries`].
    pub unsafe fn memory_image(&self) -> &[u8] {
        // SAFETY: the compiler writes `memory_image_len` bytes at `memory_image`.
        unsafe { slice_or_empty(self.memory_image, self.memory_image_len) }
    }
}

impl ModuleDescriptor {
    /// The entry counters (`profile_len` words; empty when the code does not count), read
    /// now. The code increments them with plain loads and stores, so the values are exact
    /// when no wasm of the module runs on another thread meanwhile.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::code_entries`].
    pub unsafe fn profile_counts(&self) -> Vec<u64> {
        if self.profile.is_null() {
            return Vec::new();
        }
        (0..self.profile_len)
            // SAFETY: the compiler writes `profile_len` aligned words at `profile`, in
            // writable data that lives as long as the code (caller's contract); a volatile
            // read, as compiled code writes them behind Rust's back.
            .map(|index| unsafe { self.profile.add(index).read_volatile() })
            .collect()
    }
}

impl CodeEntry {
    /// Length of the code in bytes (0 for a function without code).
    pub fn length(&self) -> u32 {
        self.code_len & !SHARED_CODE
    }

    /// Whether the code is an earlier entry's ([`SHARED_CODE`]).
    pub fn shares_code(&self) -> bool {
        self.code_len & SHARED_CODE != 0
    }

    /// The bytes of an entry as the compiler writes it: `code_offset` from the descriptor's
    /// `code_base`.
    pub fn encode(code_offset: u32, code_len: u32) -> [u8; CODE_ENTRY_SIZE] {
        let mut bytes = [0u8; CODE_ENTRY_SIZE];
        bytes[offset_of!(CodeEntry, code_offset)..][..4]
            .copy_from_slice(&code_offset.to_le_bytes());
        bytes[offset_of!(CodeEntry, code_len)..][..4].copy_from_slice(&code_len.to_le_bytes());
        bytes
    }
}

/// A slice from a pointer that may be null (or dangling) when the length is 0.
///
/// # Safety
/// When `len > 0`, `ptr` must point to `len` initialised values that outlive `'a`.
unsafe fn slice_or_empty<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: non-empty, so the caller guarantees `ptr` is valid for `len` values.
        unsafe { core::slice::from_raw_parts(ptr, len) }
    }
}

const _: () = assert!(offset_of!(ModuleDescriptor, metadata) == 24);
const _: () = assert!(CODE_ENTRY_SIZE == 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_entries_are_offsets_from_the_code_base() {
        let bytes = CodeEntry::encode(0x0102_0304, 0x20);
        assert_eq!(bytes, [4, 3, 2, 1, 0x20, 0, 0, 0]);
        let code = [0u8; 64];
        let entries = [
            CodeEntry {
                code_offset: 16,
                code_len: 8,
            },
            // A function without code: offset 0 would be the base itself.
            CodeEntry {
                code_offset: 0,
                code_len: 0,
            },
        ];
        let descriptor = ModuleDescriptor {
            magic: DESCRIPTOR_MAGIC,
            abi_version: crate::ABI_VERSION,
            n_functions: 2,
            n_types: 0,
            _pad: 0,
            metadata: core::ptr::null(),
            metadata_len: 0,
            code: entries.as_ptr(),
            code_base: code.as_ptr(),
            tables: core::ptr::null(),
            tables_len: 0,
            memory_image: core::ptr::null(),
            memory_image_len: 0,
            profile: core::ptr::null_mut(),
            profile_len: 0,
        };
        // SAFETY: two entries at `code`, each within `code` or without code.
        let (first, second) = unsafe { (descriptor.code(0), descriptor.code(1)) };
        assert_eq!(first, code[16..].as_ptr());
        assert!(second.is_null());
    }
}
