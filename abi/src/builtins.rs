//! Builtins: runtime functions that compiled code calls through the table at
//! `vmctx.builtins`, for the operations too large to inline (growing, bulk copies).
//!
//! Builtins that can fail return a status (0 = success); the compiled caller traps with
//! the code given by [`Builtin::trap_code`] when it is not 0, so every trap happens at an
//! instruction of compiled code and goes through one mechanism.

use crate::TrapCode;

type Vmctx = *mut u8;

/// The builtin table. Field order is the ABI: field `i` is at `i * size_of::<usize>()` and
/// corresponds to `Builtin::ALL[i]`.
#[repr(C)]
pub struct VMBuiltins {
    /// `memory.grow`: returns the old size in pages, or `u64::MAX` on failure.
    pub memory_grow: unsafe extern "C" fn(Vmctx, memory: u32, delta_pages: u64) -> u64,
    /// `memory.copy` between two different memories (within one memory, compiled code
    /// checks the ranges itself and calls the C library's `memmove`).
    pub memory_copy: unsafe extern "C" fn(
        Vmctx,
        dst_memory: u32,
        src_memory: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> u32,
    /// `memory.fill`: no longer called by newly compiled code, which checks the range itself
    /// and calls the C library's `memset`; kept because objects of this ABI version
    /// compiled before that still call it.
    pub memory_fill:
        unsafe extern "C" fn(Vmctx, memory: u32, dst: u64, value: u32, len: u64) -> u32,
    /// `memory.init`.
    pub memory_init:
        unsafe extern "C" fn(Vmctx, memory: u32, data: u32, dst: u64, src: u32, len: u32) -> u32,
    /// `data.drop`.
    pub data_drop: unsafe extern "C" fn(Vmctx, data: u32),
    /// `table.grow`: returns the old size, or `u64::MAX` on failure.
    pub table_grow: unsafe extern "C" fn(Vmctx, table: u32, delta: u64, init: usize) -> u64,
    /// `table.fill`.
    pub table_fill:
        unsafe extern "C" fn(Vmctx, table: u32, dst: u64, value: usize, len: u64) -> u32,
    /// `table.copy`.
    pub table_copy: unsafe extern "C" fn(
        Vmctx,
        dst_table: u32,
        src_table: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> u32,
    /// `table.init`.
    pub table_init:
        unsafe extern "C" fn(Vmctx, table: u32, elem: u32, dst: u64, src: u32, len: u32) -> u32,
    /// `elem.drop`.
    pub elem_drop: unsafe extern "C" fn(Vmctx, elem: u32),
}

/// A parameter or result type of a builtin, as the compiler must declare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiType {
    /// A pointer-sized integer.
    Pointer,
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
}

/// Names the builtins, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// See [`VMBuiltins::memory_grow`].
    MemoryGrow,
    /// See [`VMBuiltins::memory_copy`].
    MemoryCopy,
    /// See [`VMBuiltins::memory_fill`].
    MemoryFill,
    /// See [`VMBuiltins::memory_init`].
    MemoryInit,
    /// See [`VMBuiltins::data_drop`].
    DataDrop,
    /// See [`VMBuiltins::table_grow`].
    TableGrow,
    /// See [`VMBuiltins::table_fill`].
    TableFill,
    /// See [`VMBuiltins::table_copy`].
    TableCopy,
    /// See [`VMBuiltins::table_init`].
    TableInit,
    /// See [`VMBuiltins::elem_drop`].
    ElemDrop,
}

impl Builtin {
    /// Every builtin in table order.
    pub const ALL: [Builtin; 10] = [
        Builtin::MemoryGrow,
        Builtin::MemoryCopy,
        Builtin::MemoryFill,
        Builtin::MemoryInit,
        Builtin::DataDrop,
        Builtin::TableGrow,
        Builtin::TableFill,
        Builtin::TableCopy,
        Builtin::TableInit,
        Builtin::ElemDrop,
    ];

    /// Offset of this builtin's pointer in [`VMBuiltins`].
    pub fn offset(self) -> u32 {
        self as u32 * core::mem::size_of::<usize>() as u32
    }

    /// Parameters (the caller's vmctx first) and result, as declared in [`VMBuiltins`].
    pub fn signature(self) -> (&'static [AbiType], Option<AbiType>) {
        use AbiType::*;
        match self {
            Builtin::MemoryGrow => (&[Pointer, I32, I64], Some(I64)),
            Builtin::MemoryCopy => (&[Pointer, I32, I32, I64, I64, I64], Some(I32)),
            Builtin::MemoryFill => (&[Pointer, I32, I64, I32, I64], Some(I32)),
            Builtin::MemoryInit => (&[Pointer, I32, I32, I64, I32, I32], Some(I32)),
            Builtin::DataDrop => (&[Pointer, I32], None),
            Builtin::TableGrow => (&[Pointer, I32, I64, Pointer], Some(I64)),
            Builtin::TableFill => (&[Pointer, I32, I64, Pointer, I64], Some(I32)),
            Builtin::TableCopy => (&[Pointer, I32, I32, I64, I64, I64], Some(I32)),
            Builtin::TableInit => (&[Pointer, I32, I32, I64, I32, I32], Some(I32)),
            Builtin::ElemDrop => (&[Pointer, I32], None),
        }
    }

    /// The trap a non-zero status from this builtin stands for, if it can fail.
    pub fn trap_code(self) -> Option<TrapCode> {
        match self {
            Builtin::MemoryCopy | Builtin::MemoryFill | Builtin::MemoryInit => {
                Some(TrapCode::MemoryOutOfBounds)
            }
            Builtin::TableFill | Builtin::TableCopy | Builtin::TableInit => {
                Some(TrapCode::TableOutOfBounds)
            }
            Builtin::MemoryGrow | Builtin::DataDrop | Builtin::TableGrow | Builtin::ElemDrop => {
                None
            }
        }
    }
}

const _: () = assert!(
    core::mem::size_of::<VMBuiltins>() == Builtin::ALL.len() * core::mem::size_of::<usize>()
);
