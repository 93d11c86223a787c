//! Builtins: runtime functions that compiled code calls through the table at
//! `vmctx.builtins`, for the operations too large to inline (growing, bulk copies).
//!
//! Builtins that can fail return a status (0 = success); the compiled caller traps with
//! the code given by [`Builtin::trap_code`] when it is not 0, so every trap happens at an
//! instruction of compiled code and goes through one mechanism.
//!
//! The list is written once, in [`foreach_builtin!`]: the table's layout
//! ([`VMBuiltins`]), the names ([`Builtin`]), the signatures the compiler declares and the
//! trap codes all come from it, and the runtime fills its table with the same macro, so a
//! builtin whose Rust function disagrees with its entry does not compile.

use crate::TrapCode;

/// Calls `$callback!` with every builtin, in table order, as
/// `field(Variant) (param: Type, ...) -> Result, trap Code;` where the first parameter
/// (the caller's vmctx) is implicit, types are [`AbiType`] names, a missing `-> Result`
/// means no result, and `trap None` a builtin that cannot fail.
#[macro_export]
macro_rules! foreach_builtin {
    ($callback:ident) => {
        $callback! {
            /// `memory.grow`: returns the old size in pages, or `u64::MAX` on failure.
            memory_grow(MemoryGrow)(memory: I32, delta_pages: I64) -> I64, trap None;
            /// `memory.copy` between two different memories (within one memory, compiled
            /// code checks the ranges itself and calls the C library's `memmove`).
            memory_copy(MemoryCopy)(
                dst_memory: I32, src_memory: I32, dst: I64, src: I64, len: I64
            ) -> I32, trap MemoryOutOfBounds;
            /// `memory.fill`: no longer called by newly compiled code, which checks the range
            /// itself and calls the C library's `memset`; kept because objects of this ABI
            /// version compiled before that still call it.
            memory_fill(MemoryFill)(memory: I32, dst: I64, value: I32, len: I64) -> I32,
                trap MemoryOutOfBounds;
            /// `memory.init`.
            memory_init(MemoryInit)(memory: I32, data: I32, dst: I64, src: I32, len: I32) -> I32,
                trap MemoryOutOfBounds;
            /// `data.drop`.
            data_drop(DataDrop)(data: I32), trap None;
            /// `table.grow`: returns the old size, or `u64::MAX` on failure.
            table_grow(TableGrow)(table: I32, delta: I64, init: Pointer) -> I64, trap None;
            /// `table.fill`.
            table_fill(TableFill)(table: I32, dst: I64, value: Pointer, len: I64) -> I32,
                trap TableOutOfBounds;
            /// `table.copy`.
            table_copy(TableCopy)(dst_table: I32, src_table: I32, dst: I64, src: I64, len: I64)
                -> I32, trap TableOutOfBounds;
            /// `table.init`.
            table_init(TableInit)(table: I32, elem: I32, dst: I64, src: I32, len: I32) -> I32,
                trap TableOutOfBounds;
            /// `elem.drop`.
            elem_drop(ElemDrop)(elem: I32), trap None;
            /// `call_indirect`'s type check when the expected type is not final and the
            /// ids differ: 0 when type `actual` declares `expected` among its supertypes.
            func_type_check(FuncTypeCheck)(actual: I32, expected: I32) -> I32,
                trap BadSignature;
            /// `throw`'s first half: a new exception object of tag `tag` (the caller's tag
            /// index), owned by the store, whose payload the caller then writes.
            exception_new(ExceptionNew)(tag: I32) -> Pointer, trap None;
            /// `throw_ref` (and `throw` and `rethrow`, after `exception_new`): unwinds to the
            /// innermost handler of a wasm frame that covers the call and resumes there
            /// with the exception (never returning); returns 1 when no wasm frame before
            /// the host has one, and the caller traps. The exception must not be null.
            throw_ref(ThrowRef)(exception: Pointer) -> I32, trap UncaughtException;
            /// Releases `VMLimits::caught_exception` (unless an `exnref` of it was made):
            /// called by a handler that finds one there before it catches another.
            exception_release_caught(ExceptionReleaseCaught)(), trap None;
        }
    };
}

/// The Rust type of a builtin parameter or result of [`AbiType`] `$ty`.
#[doc(hidden)]
#[macro_export]
macro_rules! builtin_rust_type {
    (Pointer) => {
        usize
    };
    (I32) => {
        u32
    };
    (I64) => {
        u64
    };
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

macro_rules! declare_builtins {
    ($(
        $(#[$doc:meta])*
        $field:ident($variant:ident)($($param:ident: $ty:ident),* $(,)?)
            $(-> $result:ident)?, trap $trap:ident;
    )*) => {
        /// The builtin table. Field order is the ABI: field `i` is at
        /// `i * size_of::<usize>()` and corresponds to `Builtin::ALL[i]`.
        #[repr(C)]
        pub struct VMBuiltins {
            $(
                $(#[$doc])*
                pub $field: unsafe extern "C" fn(
                    vmctx: *mut u8,
                    $($param: $crate::builtin_rust_type!($ty)),*
                ) $(-> $crate::builtin_rust_type!($result))?,
            )*
        }

        /// Names the builtins, in table order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Builtin {
            $(
                $(#[$doc])*
                $variant,
            )*
        }

        impl Builtin {
            /// Every builtin in table order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$variant),*];

            /// Parameters (the caller's vmctx first) and result, as declared in
            /// [`VMBuiltins`].
            pub fn signature(self) -> (&'static [AbiType], Option<AbiType>) {
                match self {
                    $(Builtin::$variant => (
                        &[AbiType::Pointer, $(AbiType::$ty),*],
                        None$(.or(Some(AbiType::$result)))?,
                    ),)*
                }
            }

            /// The trap a non-zero status from this builtin stands for, if it can fail.
            pub fn trap_code(self) -> Option<TrapCode> {
                match self {
                    $(Builtin::$variant => declare_builtins!(@trap $trap),)*
                }
            }

            /// The name of the table's field, for messages.
            pub fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => stringify!($field),)*
                }
            }
        }
    };
    (@trap None) => {
        None
    };
    (@trap $code:ident) => {
        Some(TrapCode::$code)
    };
}

foreach_builtin!(declare_builtins);

impl Builtin {
    /// Offset of this builtin's pointer in [`VMBuiltins`].
    pub fn offset(self) -> u32 {
        self as u32 * core::mem::size_of::<usize>() as u32
    }
}

const _: () = assert!(
    core::mem::size_of::<VMBuiltins>() == Builtin::ALL.len() * core::mem::size_of::<usize>()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_gives_offsets_signatures_and_traps() {
        assert_eq!(Builtin::ALL.len(), 14);
        for (index, builtin) in Builtin::ALL.iter().enumerate() {
            assert_eq!(builtin.offset() as usize, index * 8);
        }
        assert_eq!(
            Builtin::MemoryGrow.signature(),
            (
                &[AbiType::Pointer, AbiType::I32, AbiType::I64][..],
                Some(AbiType::I64)
            )
        );
        assert_eq!(
            Builtin::TableFill.signature(),
            (
                &[
                    AbiType::Pointer,
                    AbiType::I32,
                    AbiType::I64,
                    AbiType::Pointer,
                    AbiType::I64
                ][..],
                Some(AbiType::I32)
            )
        );
        assert_eq!(Builtin::ElemDrop.signature().1, None);
        assert_eq!(
            Builtin::MemoryInit.trap_code(),
            Some(TrapCode::MemoryOutOfBounds)
        );
        assert_eq!(Builtin::TableGrow.trap_code(), None);
        assert_eq!(Builtin::TableCopy.name(), "table_copy");
        assert_eq!(
            Builtin::FuncTypeCheck.trap_code(),
            Some(TrapCode::BadSignature)
        );
    }
}
