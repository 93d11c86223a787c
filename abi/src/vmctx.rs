//! The layout of the per-instance context (`vmctx`) that compiled code receives as its
//! first argument, and of the structures it points to.
//!
//! The layout depends on the module (how many types, functions, memories, ...), so it is
//! computed by [`VMOffsets::new`] from the counts in the module's metadata. The compiler
//! uses the offsets to emit loads and stores; the runtime uses the same function to lay the
//! context out. No offset is computed anywhere else.
//!
//! The parts compiled code reads most come first: the memories' base and length (loaded
//! by every function that touches memory), then the tables and the globals (the shadow
//! stack pointer of every clang and rustc module is global 0). On x86_64 an offset below
//! 128 fits the one-byte displacement of an instruction, three bytes shorter than the
//! four-byte one; the `func_refs` array, 32 bytes a function, goes last so that it does
//! not push the others past that (the Rust `files` test program: 1,554 loads and stores of
//! memory bases and globals, 4.7 KB of code, were at offsets past 16 KB).
//!
//! ```text
//!  vmctx ─► ┌──────────────────────────────┐ 0
//!           │ magic: u32, _pad: u32        │
//!           │ limits: *const VMLimits      │ 8   shared by every instance of a store
//!           │ builtins: *const VMBuiltins  │ 16  libcall table (see builtins.rs)
//!           │ instance: *mut c_void        │ 24  the runtime's instance, for libcalls
//!           ├──────────────────────────────┤ 32
//!           │ memories: [VMMemoryDefinition; n_defined]
//!           │ imported_memories: [*mut VMMemoryDefinition; n]
//!           │ tables: [VMTableDefinition; n_defined]
//!           │ imported_tables: [*mut VMTableDefinition; n]
//!           ├──────────────────────────────┤ (16-aligned)
//!           │ globals: [VMGlobal; n_defined]
//!           │ imported_globals: [*mut VMGlobal; n]
//!           │ tags: [*const VMTag; n_tags]        every tag, imported first
//!           │ type_ids: [u32; n_types]     │     canonical signature ids
//!           ├──────────────────────────────┤ (8-aligned)
//!           │ func_refs: [VMFuncRef; n_funcs]     every function, imported first
//!           └──────────────────────────────┘ size
//! ```

use core::mem::{offset_of, size_of};

/// Value of `VMContext::magic` for instance contexts ("kiln" in little endian).
pub const VMCTX_MAGIC: u32 = u32::from_le_bytes(*b"kiln");
/// Value of the magic of a host function's context ("host" in little endian).
pub const VMHOST_MAGIC: u32 = u32::from_le_bytes(*b"host");

/// The fixed head of every instance context. The module-specific arrays follow it.
#[repr(C)]
pub struct VMContextHeader {
    /// [`VMCTX_MAGIC`].
    pub magic: u32,
    /// Padding, zero.
    pub _pad: u32,
    /// Per-store limits; read by every function prologue (stack limit).
    pub limits: *const VMLimits,
    /// The table of runtime functions compiled code calls.
    pub builtins: *const crate::builtins::VMBuiltins,
    /// The runtime's instance object, opaque to compiled code; passed back to builtins.
    pub instance: *mut core::ffi::c_void,
}

/// Bytes of stack below [`VMLimits::stack_limit`] that compiled code may use without
/// checking the limit: the compiler leaves the prologue's check out of a function that
/// calls nothing (no wasm function, builtin or libcall) when its frame, with the return
/// address and saved frame pointer its caller pushed, fits in these bytes, and the
/// runtime keeps at least this much usable stack below the limit (its margin for host
/// functions, `runtime/src/vm/traps/stack.rs`). Such a function runs last on the stack and
/// gives the bytes back when it returns.
pub const UNCHECKED_STACK_BYTES: usize = 4096;

/// Limits shared by every instance of a store; compiled code reads them.
#[repr(C)]
#[derive(Debug)]
pub struct VMLimits {
    /// The lowest stack address a wasm function may use; prologues compare the stack
    /// pointer against it and trap with `StackOverflow` below it.
    pub stack_limit: usize,
    /// Fuel left (`i64::MAX` until the host sets some), read and written by code compiled
    /// with fuel metering
    /// (`ModuleMetadata::fuel`): it subtracts each operator's cost and traps with
    /// `OutOfFuel` at a function entry or loop header that finds it negative.
    pub fuel: i64,
    /// The store's epoch counter, never null: code compiled with interruption checks
    /// (`ModuleMetadata::interruptible`) loads it at every function entry and loop header
    /// and traps with `Interrupt` when it is not zero. Another thread (a timer, an
    /// interrupt handle) makes it non-zero; it is an `AtomicU64` on the runtime's side.
    pub epoch: *const u64,
    /// The last exception object a clause caught without a reference and is done with
    /// (`catch`, `catch_all`, the end of a legacy clause), or 0: compiled code stores it
    /// here (one store, no call on the catch path) and the runtime releases it at the next
    /// throw unless an `exnref` of it was made by then (`EXCEPTION_ESCAPED`).
    pub caught_exception: usize,
}

impl Default for VMLimits {
    fn default() -> VMLimits {
        VMLimits {
            stack_limit: 0,
            // Unmetered: code compiled with fuel metering runs as if it had no limit.
            fuel: i64::MAX,
            epoch: &NEVER_INTERRUPTED,
            caught_exception: 0,
        }
    }
}

/// What `VMLimits::epoch` points to until a store installs its own counter.
static NEVER_INTERRUPTED: u64 = 0;

/// A function reference: what `ref.func`, tables and imports hold. 32 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Native code with the wasm calling convention: `(callee_vmctx, params...,
    /// caller_vmctx) -> results`.
    pub wasm_call: *const u8,
    /// For host functions, the [`VMArrayCallFn`] to run; null for wasm functions.
    pub array_call: *const u8,
    /// The callee's context: an instance's `vmctx`, or a [`VMHostContext`].
    pub vmctx: *mut u8,
    /// Canonical signature id, compared by `call_indirect`.
    pub type_id: u32,
    /// Padding, zero.
    pub _pad: u32,
}

/// The calling convention of host functions: arguments and results pass through a slice
/// of [`ValRaw`] (results overwrite arguments from index 0). Returns 0 on success; any
/// other value makes the calling trampoline trap with `HostUnwind`, and the runtime keeps
/// the reason (an error or an exit code) on the side.
pub type VMArrayCallFn = unsafe extern "C" fn(
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    args_and_results: *mut ValRaw,
    len: usize,
) -> u32;

/// The per-type entry trampoline compiled into each object, through which the host calls a
/// wasm function: it loads the arguments from the array, calls `wasm_call` with the wasm
/// calling convention and stores the results back into the array.
pub type VMEntryTrampoline = unsafe extern "C" fn(
    wasm_call: *const u8,
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    args_and_results: *mut ValRaw,
);

/// The head of a host function's context, which stands where an instance's `vmctx` would.
/// The exit trampoline reads `array_call` from it.
#[repr(C)]
pub struct VMHostContext {
    /// [`VMHOST_MAGIC`].
    pub magic: u32,
    /// Padding, zero.
    pub _pad: u32,
    /// The host function, a [`VMArrayCallFn`].
    pub array_call: *const u8,
}

/// Offset of [`VMHostContext::array_call`].
pub const VMHOST_ARRAY_CALL: u32 = offset_of!(VMHostContext, array_call) as u32;

/// One value crossing between host and wasm: 16 bytes, little endian, the value in the
/// low bytes (i32/f32 in 4, i64/f64/references in 8, v128 in 16).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValRaw(pub [u8; 16]);

impl ValRaw {
    /// A value from its low 64 bits (upper bytes zero).
    pub fn from_u64(bits: u64) -> ValRaw {
        ValRaw::from_u128(bits as u128)
    }
    /// A value from all 128 bits.
    pub fn from_u128(bits: u128) -> ValRaw {
        ValRaw(bits.to_le_bytes())
    }
    /// The low 32 bits.
    pub fn u32(self) -> u32 {
        self.u128() as u32
    }
    /// The low 64 bits.
    pub fn u64(self) -> u64 {
        self.u128() as u64
    }
    /// All 128 bits.
    pub fn u128(self) -> u128 {
        u128::from_le_bytes(self.0)
    }
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory's bytes.
    pub base: *mut u8,
    /// Accessible bytes (pages times page size); changes on grow.
    pub current_length: usize,
}

/// A table as compiled code sees it. Elements are pointer-sized: a `*const VMFuncRef`
/// for funcref tables, an opaque host handle for externref tables; 0 is null in both.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// Start of the elements; moves when the table grows.
    pub base: *mut usize,
    /// Number of elements.
    pub current_elements: usize,
}

/// Storage for one global: 16 bytes, the value in the low bytes, little endian.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, Default)]
pub struct VMGlobal(pub [u8; 16]);

/// A tag instance. Compiled code only compares tag pointers: a tag's identity is its
/// address, shared by every instance that imports it.
#[repr(C)]
#[derive(Debug)]
pub struct VMTag {
    /// The tag's index in its store, for the runtime.
    pub store_index: u32,
    /// Padding, zero.
    pub _pad: u32,
}

/// The head of an exception object (what an `exnref` points to). The runtime allocates it
/// (the `exception_new` builtin) and the store owns it; the tag's payload values follow
/// the head as one [`ValRaw`] each.
///
/// ```text
///  exnref ─► ┌───────────────────────────┐ 0
///            │ tag: *const VMTag         │
///            │ n_values: u32, flags: u32 │ 8
///            ├───────────────────────────┤ 16
///            │ values: [ValRaw; n_values]│
///            └───────────────────────────┘
/// ```
#[repr(C, align(16))]
#[derive(Debug)]
pub struct VMExceptionHeader {
    /// The tag the exception was thrown with.
    pub tag: *const VMTag,
    /// Number of payload values.
    pub n_values: u32,
    /// [`EXCEPTION_THROWN`] and [`EXCEPTION_ESCAPED`]; 0 when made.
    pub flags: u32,
}

/// [`VMExceptionHeader::flags`]: the exception has been thrown (its origin is recorded).
pub const EXCEPTION_THROWN: u32 = 1;
/// [`VMExceptionHeader::flags`]: compiled code made an `exnref` of it (`catch_ref`,
/// `catch_all_ref`), which wasm may keep anywhere: the store keeps it as long as it lives.
/// An exception without it is released once a clause caught it without a reference
/// (see [`VMLimits::caught_exception`]), and its memory serves the next one.
pub const EXCEPTION_ESCAPED: u32 = 2;
/// Offset of [`VMExceptionHeader::flags`].
pub const VMEXCEPTION_FLAGS: u32 = offset_of!(VMExceptionHeader, flags) as u32;

/// Offset of [`VMExceptionHeader::tag`].
pub const VMEXCEPTION_TAG: u32 = offset_of!(VMExceptionHeader, tag) as u32;
/// Offset of payload value `index` of an exception object.
pub fn vmexception_value(index: u32) -> u32 {
    size_of::<VMExceptionHeader>() as u32 + VALRAW_SIZE * index
}

/// Offset of [`VMContextHeader::magic`].
pub const VMCTX_MAGIC_OFFSET: u32 = offset_of!(VMContextHeader, magic) as u32;
/// Offset of [`VMContextHeader::limits`].
pub const VMCTX_LIMITS: u32 = offset_of!(VMContextHeader, limits) as u32;
/// Offset of [`VMContextHeader::builtins`].
pub const VMCTX_BUILTINS: u32 = offset_of!(VMContextHeader, builtins) as u32;
/// Offset of [`VMContextHeader::instance`].
pub const VMCTX_INSTANCE: u32 = offset_of!(VMContextHeader, instance) as u32;
/// Offset of [`VMLimits::stack_limit`].
pub const VMLIMITS_STACK_LIMIT: u32 = offset_of!(VMLimits, stack_limit) as u32;
/// Offset of [`VMLimits::fuel`].
pub const VMLIMITS_FUEL: u32 = offset_of!(VMLimits, fuel) as u32;
/// Offset of [`VMLimits::epoch`].
pub const VMLIMITS_EPOCH: u32 = offset_of!(VMLimits, epoch) as u32;
/// Offset of [`VMLimits::caught_exception`].
pub const VMLIMITS_CAUGHT_EXCEPTION: u32 = offset_of!(VMLimits, caught_exception) as u32;
/// Offset of [`VMFuncRef::wasm_call`].
pub const VMFUNCREF_WASM_CALL: u32 = offset_of!(VMFuncRef, wasm_call) as u32;
/// Offset of [`VMFuncRef::array_call`].
pub const VMFUNCREF_ARRAY_CALL: u32 = offset_of!(VMFuncRef, array_call) as u32;
/// Offset of [`VMFuncRef::vmctx`].
pub const VMFUNCREF_VMCTX: u32 = offset_of!(VMFuncRef, vmctx) as u32;
/// Offset of [`VMFuncRef::type_id`].
pub const VMFUNCREF_TYPE_ID: u32 = offset_of!(VMFuncRef, type_id) as u32;
/// Offset of [`VMMemoryDefinition::base`].
pub const VMMEMORY_BASE: u32 = offset_of!(VMMemoryDefinition, base) as u32;
/// Offset of [`VMMemoryDefinition::current_length`].
pub const VMMEMORY_LENGTH: u32 = offset_of!(VMMemoryDefinition, current_length) as u32;
/// Offset of [`VMTableDefinition::base`].
pub const VMTABLE_BASE: u32 = offset_of!(VMTableDefinition, base) as u32;
/// Offset of [`VMTableDefinition::current_elements`].
pub const VMTABLE_LENGTH: u32 = offset_of!(VMTableDefinition, current_elements) as u32;
/// Size of one [`ValRaw`].
pub const VALRAW_SIZE: u32 = size_of::<ValRaw>() as u32;
/// Size of a table element.
pub const TABLE_ELEMENT_SIZE: u32 = size_of::<usize>() as u32;

/// How many of each entity a module has: all a context's layout depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VMCounts {
    /// Function types.
    pub types: u32,
    /// Functions, imported and defined.
    pub functions: u32,
    /// Imported memories.
    pub imported_memories: u32,
    /// Imported tables.
    pub imported_tables: u32,
    /// Imported globals.
    pub imported_globals: u32,
    /// Tags, imported and defined.
    pub tags: u32,
    /// Memories the module defines.
    pub defined_memories: u32,
    /// Tables the module defines.
    pub defined_tables: u32,
    /// Globals the module defines.
    pub defined_globals: u32,
}

/// Offsets of the module-specific parts of a context; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    /// The counts this layout was made from.
    pub counts: VMCounts,
    /// Start of `type_ids`.
    pub type_ids: u32,
    /// Start of `func_refs`.
    pub func_refs: u32,
    /// Start of `imported_memories`.
    pub imported_memories: u32,
    /// Start of `imported_tables`.
    pub imported_tables: u32,
    /// Start of `imported_globals`.
    pub imported_globals: u32,
    /// Start of `tags`.
    pub tags: u32,
    /// Start of `memories`.
    pub memories: u32,
    /// Start of `tables`.
    pub tables: u32,
    /// Start of `globals`.
    pub globals: u32,
    /// Total size of the context in bytes.
    pub size: u32,
}

fn align(offset: u32, to: u32) -> u32 {
    offset.next_multiple_of(to)
}

impl VMOffsets {
    /// Lays out a context for a module with these counts.
    pub fn new(counts: VMCounts) -> VMOffsets {
        let pointer = size_of::<usize>() as u32;
        let memories = size_of::<VMContextHeader>() as u32;
        let imported_memories =
            memories + size_of::<VMMemoryDefinition>() as u32 * counts.defined_memories;
        let tables = imported_memories + pointer * counts.imported_memories;
        let imported_tables =
            tables + size_of::<VMTableDefinition>() as u32 * counts.defined_tables;
        let globals = align(imported_tables + pointer * counts.imported_tables, 16);
        let imported_globals = globals + size_of::<VMGlobal>() as u32 * counts.defined_globals;
        let tags = imported_globals + pointer * counts.imported_globals;
        let type_ids = tags + pointer * counts.tags;
        let func_refs = align(type_ids + 4 * counts.types, 8);
        let size = func_refs + size_of::<VMFuncRef>() as u32 * counts.functions;
        VMOffsets {
            counts,
            type_ids,
            func_refs,
            imported_memories,
            imported_tables,
            imported_globals,
            tags,
            memories,
            tables,
            globals,
            size,
        }
    }

    /// Offset of the canonical id of type `index`.
    pub fn type_id(&self, index: u32) -> u32 {
        self.type_ids + 4 * index
    }
    /// Offset of the [`VMFuncRef`] of function `index` (imported functions first).
    pub fn func_ref(&self, index: u32) -> u32 {
        self.func_refs + size_of::<VMFuncRef>() as u32 * index
    }
    /// Offset of the pointer to imported memory `index`.
    pub fn imported_memory(&self, index: u32) -> u32 {
        self.imported_memories + size_of::<usize>() as u32 * index
    }
    /// Offset of the pointer to imported table `index`.
    pub fn imported_table(&self, index: u32) -> u32 {
        self.imported_tables + size_of::<usize>() as u32 * index
    }
    /// Offset of the pointer to imported global `index`.
    pub fn imported_global(&self, index: u32) -> u32 {
        self.imported_globals + size_of::<usize>() as u32 * index
    }
    /// Offset of the pointer to tag `index` (imported tags first).
    pub fn tag(&self, index: u32) -> u32 {
        self.tags + size_of::<usize>() as u32 * index
    }
    /// Offset of defined memory `index` (counting defined memories only).
    pub fn memory(&self, index: u32) -> u32 {
        self.memories + size_of::<VMMemoryDefinition>() as u32 * index
    }
    /// Offset of defined table `index` (counting defined tables only).
    pub fn table(&self, index: u32) -> u32 {
        self.tables + size_of::<VMTableDefinition>() as u32 * index
    }
    /// Offset of defined global `index` (counting defined globals only).
    pub fn global(&self, index: u32) -> u32 {
        self.globals + size_of::<VMGlobal>() as u32 * index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_aligned_and_ordered() {
        let offsets = VMOffsets::new(VMCounts {
            types: 3,
            functions: 5,
            imported_memories: 1,
            imported_tables: 1,
            imported_globals: 2,
            tags: 2,
            defined_memories: 1,
            defined_tables: 2,
            defined_globals: 3,
        });
        // The memories first, right after the header; every part after the one before it.
        assert_eq!(offsets.memory(0), 32);
        assert_eq!(offsets.imported_memory(0), offsets.memory(1));
        assert_eq!(offsets.table(0), offsets.imported_memory(1));
        assert_eq!(offsets.imported_table(0), offsets.table(2));
        assert_eq!(offsets.globals % 16, 0);
        assert!(offsets.global(0) >= offsets.imported_table(1));
        assert_eq!(offsets.imported_global(0), offsets.global(3));
        assert_eq!(offsets.tag(0), offsets.imported_global(2));
        assert_eq!(offsets.tag(1) - offsets.tag(0), 8);
        assert_eq!(offsets.type_id(0), offsets.tag(2));
        assert_eq!(offsets.func_refs % 8, 0);
        assert!(offsets.func_refs >= offsets.type_id(3));
        assert_eq!(offsets.func_ref(1) - offsets.func_ref(0), 32);
        assert_eq!(offsets.size, offsets.func_ref(5));
        assert_eq!(size_of::<VMFuncRef>(), 32);
        assert_eq!(size_of::<ValRaw>(), 16);
        // A module with one memory, one table and a few globals reaches all of them with
        // one-byte displacements.
        let small = VMOffsets::new(VMCounts {
            types: 40,
            functions: 500,
            defined_memories: 1,
            defined_tables: 1,
            defined_globals: 4,
            ..VMCounts::default()
        });
        assert!(small.global(3) + 16 <= 128, "{small:?}");
        assert_eq!(vmexception_value(0), 16);
        assert_eq!(vmexception_value(2), 48);
    }
}
