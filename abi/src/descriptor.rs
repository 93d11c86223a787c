//! The module descriptor: the one exported data symbol of a kiln object, from which the
//! runtime finds everything else (metadata, function code, trap table, trampolines).
//!
//! ```text
//!  <prefix>kiln_module ─► ModuleDescriptor
//!                           ├─ metadata ──────► postcard bytes (metadata.rs)
//!                           ├─ functions ─────► [FunctionEntry; n_defined_functions]
//!                           │                      └─ traps: range of the trap table
//!                           ├─ traps ─────────► [TrapEntry; n_traps], grouped by function
//!                           ├─ entry_trampolines ─► [VMEntryTrampoline; n_types]
//!                           └─ exit_trampolines ──► [wasm-call code; n_types]
//! ```
//!
//! The compiler writes it as a relocated data object; the pointers are resolved by the
//! linker (or by the runtime's loader), so reading it costs nothing at start-up.

use crate::trap::TrapEntry;
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
    /// One entry per defined function, in index order.
    pub functions: *const FunctionEntry,
    /// The trap table.
    pub traps: *const TrapEntry,
    /// Number of trap-table entries.
    pub n_traps: usize,
    /// Per type: a [`crate::vmctx::VMEntryTrampoline`] for calling wasm from the host.
    pub entry_trampolines: *const *const u8,
    /// Per type: wasm-call code that forwards to a host function (`VMHostContext`).
    pub exit_trampolines: *const *const u8,
}

/// A defined function's code and its part of the trap table.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FunctionEntry {
    /// First byte of the function's code.
    pub code: *const u8,
    /// Length of the code in bytes.
    pub code_len: u32,
    /// Index of the function's first entry in the trap table.
    pub traps_start: u32,
    /// Number of the function's trap-table entries (sorted by offset).
    pub traps_len: u32,
    /// Padding, zero.
    pub _pad: u32,
}

/// Offset of [`ModuleDescriptor::metadata`].
pub const DESCRIPTOR_METADATA: usize = offset_of!(ModuleDescriptor, metadata);
/// Offset of [`ModuleDescriptor::functions`].
pub const DESCRIPTOR_FUNCTIONS: usize = offset_of!(ModuleDescriptor, functions);
/// Offset of [`ModuleDescriptor::traps`].
pub const DESCRIPTOR_TRAPS: usize = offset_of!(ModuleDescriptor, traps);
/// Offset of [`ModuleDescriptor::entry_trampolines`].
pub const DESCRIPTOR_ENTRY_TRAMPOLINES: usize = offset_of!(ModuleDescriptor, entry_trampolines);
/// Offset of [`ModuleDescriptor::exit_trampolines`].
pub const DESCRIPTOR_EXIT_TRAMPOLINES: usize = offset_of!(ModuleDescriptor, exit_trampolines);
/// Size of a descriptor.
pub const DESCRIPTOR_SIZE: usize = core::mem::size_of::<ModuleDescriptor>();
/// Size of a function entry.
pub const FUNCTION_ENTRY_SIZE: usize = core::mem::size_of::<FunctionEntry>();
/// Size of a trap entry.
pub const TRAP_ENTRY_SIZE: usize = core::mem::size_of::<TrapEntry>();

impl ModuleDescriptor {
    /// The fields a descriptor starts with, in the byte order of the target (little
    /// endian on every supported target): magic, ABI version and counts.
    pub fn header_bytes(n_functions: u32, n_types: u32) -> [u8; 24] {
        let mut bytes = [0u8; 24];
        bytes[..8].copy_from_slice(&DESCRIPTOR_MAGIC);
        bytes[8..12].copy_from_slice(&crate::ABI_VERSION.to_le_bytes());
        bytes[12..16].copy_from_slice(&n_functions.to_le_bytes());
        bytes[16..20].copy_from_slice(&n_types.to_le_bytes());
        bytes
    }

    /// The function entries.
    ///
    /// # Safety
    /// `self` must be a descriptor written by the kiln compiler whose pointers were
    /// relocated (linked or loaded), with the current ABI version.
    pub unsafe fn function_entries(&self) -> &[FunctionEntry] {
        // SAFETY: the compiler writes `n_functions` entries at `functions` (caller's contract).
        unsafe { slice_or_empty(self.functions, self.n_functions as usize) }
    }

    /// The trap table.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::function_entries`].
    pub unsafe fn trap_entries(&self) -> &[TrapEntry] {
        // SAFETY: the compiler writes `n_traps` entries at `traps` (caller's contract).
        unsafe { slice_or_empty(self.traps, self.n_traps) }
    }

    /// The encoded metadata.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::function_entries`].
    pub unsafe fn metadata_bytes(&self) -> &[u8] {
        // SAFETY: the compiler writes `metadata_len` bytes at `metadata` (caller's contract).
        unsafe { slice_or_empty(self.metadata, self.metadata_len) }
    }

    /// The entry trampoline of each type.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::function_entries`].
    pub unsafe fn entry_trampolines(&self) -> &[*const u8] {
        // SAFETY: the compiler writes `n_types` pointers (caller's contract).
        unsafe { slice_or_empty(self.entry_trampolines, self.n_types as usize) }
    }

    /// The exit trampoline of each type.
    ///
    /// # Safety
    /// As for [`ModuleDescriptor::function_entries`].
    pub unsafe fn exit_trampolines(&self) -> &[*const u8] {
        // SAFETY: the compiler writes `n_types` pointers (caller's contract).
        unsafe { slice_or_empty(self.exit_trampolines, self.n_types as usize) }
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
