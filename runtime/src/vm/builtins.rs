//! The builtins compiled code calls through `vmctx.builtins`: `memory.grow`, the bulk
//! memory and table operations, the segment drops, and the exception builtins (allocation
//! here, `throw_ref` in `exceptions.rs`).
//!
//! Each receives the calling instance's context and finds the runtime's instance through
//! the header's `instance` pointer. Bounds are checked before anything is written, so an
//! out-of-bounds operation has no effect and returns status 1, on which the caller traps.
//! No panic may cross these `extern "C"` boundaries: the bodies use checked arithmetic and
//! `get`, and run inside `catch_unwind` for what remains.

use super::exceptions::kiln_throw_ref as throw_ref;
use super::instance::InstanceData;
use super::store::VMStore;
use super::table::range;
use kiln_abi::builtins::VMBuiltins;
use kiln_abi::vmctx::VMContextHeader;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Fills the table with the functions of this file named after its fields: the list is
/// kiln-abi's `foreach_builtin!`, and each function must have its field's exact type.
macro_rules! builtin_table {
    ($(
        $(#[$doc:meta])*
        $field:ident($variant:ident)($($param:ident: $ty:ident),* $(,)?)
            $(-> $result:ident)?, trap $trap:ident;
    )*) => {
        /// The table every context points to (outside executables, see [`table`]).
        #[cfg_attr(feature = "exe-main", allow(dead_code))]
        pub(crate) static BUILTINS: VMBuiltins = VMBuiltins { $($field),* };
    };
}
kiln_abi::foreach_builtin!(builtin_table);

/// The table every context points to.
#[cfg(not(feature = "exe-main"))]
pub(crate) fn table() -> Option<&'static VMBuiltins> {
    Some(&BUILTINS)
}

// In executables the table is `kiln build`'s (`vm/linked.rs`, "builtins"): the builtins
// the module's code calls, each exported as `kiln_builtin_<field>`, and
// `kiln_builtin_missing` in the other slots, so that an executable links only the
// builtins its code calls.
#[cfg(feature = "exe-main")]
super::linked::linked_part!(
    kiln_linked_builtins,
    fn linked_table() -> Option<&'static VMBuiltins>
);

/// The table every context points to: `kiln build`'s, if it linked one.
#[cfg(feature = "exe-main")]
pub(crate) fn table() -> Option<&'static VMBuiltins> {
    linked_table()
}

/// The builtin in the slots of `kiln build`'s table whose builtins the code does not call:
/// never called by code that `kiln build` compiled; it stops the process rather than jump
/// to null.
#[cfg(feature = "exe-main")]
#[export_name = "kiln_builtin_missing"]
unsafe extern "C" fn builtin_missing() {
    const MESSAGE: &[u8] =
        b"kiln: the code called a builtin that was not linked into this executable\n";
    // SAFETY: writing a static buffer to the standard error descriptor.
    unsafe { libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len()) };
    std::process::abort();
}

/// Runs a builtin's body with the caller's instance and store; `failure` if it panics.
///
/// # Safety
/// `vmctx` must be an instance context made by this runtime, whose store is not borrowed.
unsafe fn with_instance<T>(
    vmctx: *mut u8,
    failure: T,
    body: impl FnOnce(&mut InstanceData, &mut VMStore) -> T,
) -> T {
    // SAFETY: compiled code passes its own context, whose header we wrote.
    let instance = unsafe {
        (*vmctx.cast::<VMContextHeader>())
            .instance
            .cast::<InstanceData>()
    };
    // SAFETY: the instance and its store are live separate allocations; compiled code is
    // suspended in this call and the host holds no borrow of either.
    let (instance, store) = unsafe { (&mut *instance, &mut *(*instance).store) };
    catch_unwind(AssertUnwindSafe(|| body(instance, store))).unwrap_or(failure)
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_memory_grow")]
unsafe extern "C" fn memory_grow(vmctx: *mut u8, memory: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, u64::MAX, |instance, store| {
            let Some(&index) = instance.memories.get(memory as usize) else {
                return u64::MAX;
            };
            store.grow_memory(index, delta).unwrap_or(u64::MAX)
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_memory_copy")]
unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dst_memory: u32,
    src_memory: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, 1, |instance, _| {
            let (Some((dst_base, dst_len)), Some((src_base, src_len))) = (
                instance.memory_view(dst_memory),
                instance.memory_view(src_memory),
            ) else {
                return 1;
            };
            let (Some(dst), Some(src)) = (range(dst, len, dst_len), range(src, len, src_len))
            else {
                return 1;
            };
            // SAFETY: both ranges are within accessible memory; `copy` allows overlap.
            std::ptr::copy(src_base.add(src.start), dst_base.add(dst.start), dst.len());
            0
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_memory_fill")]
unsafe extern "C" fn memory_fill(
    vmctx: *mut u8,
    memory: u32,
    dst: u64,
    value: u32,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, 1, |instance, _| {
            let Some((base, length)) = instance.memory_view(memory) else {
                return 1;
            };
            let Some(dst) = range(dst, len, length) else {
                return 1;
            };
            // SAFETY: the range is within accessible memory.
            std::ptr::write_bytes(base.add(dst.start), value as u8, dst.len());
            0
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_memory_init")]
unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, 1, |instance, _| {
            let Some((base, length)) = instance.memory_view(memory) else {
                return 1;
            };
            let Some(segment) = instance.module.metadata().data.get(data as usize) else {
                return 1;
            };
            // The compiler compresses only active segments, which instantiation dropped; a
            // compressed passive one (a corrupt object) reads as empty.
            let bytes = match segment.bytes.as_plain() {
                Some(bytes) if !instance.data_dropped[data as usize] => bytes,
                _ => &[][..],
            };
            let (Some(dst), Some(src)) = (
                range(dst, len.into(), length),
                range(src.into(), len.into(), bytes.len()),
            ) else {
                return 1;
            };
            // SAFETY: the destination is within accessible memory, the source within the
            // segment, which lives in the module's (never unmapped) metadata.
            std::ptr::copy_nonoverlapping(bytes[src].as_ptr(), base.add(dst.start), dst.len());
            0
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_data_drop")]
unsafe extern "C" fn data_drop(vmctx: *mut u8, data: u32) {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, (), |instance, _| {
            if let Some(dropped) = instance.data_dropped.get_mut(data as usize) {
                *dropped = true;
            }
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_table_grow")]
unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u32, delta: u64, init: usize) -> u64 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, u64::MAX, |instance, store| {
            let Some(&index) = instance.tables.get(table as usize) else {
                return u64::MAX;
            };
            store.grow_table(index, delta, init).unwrap_or(u64::MAX)
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_table_fill")]
unsafe extern "C" fn table_fill(
    vmctx: *mut u8,
    table: u32,
    dst: u64,
    value: usize,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, 1, |instance, store| {
            let Some(&index) = instance.tables.get(table as usize) else {
                return 1;
            };
            let storage = &mut store.tables[index as usize].storage;
            u32::from(!storage.fill(dst, value, len))
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_table_copy")]
unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, 1, |instance, store| {
            let (Some(&dst_index), Some(&src_index)) = (
                instance.tables.get(dst_table as usize),
                instance.tables.get(src_table as usize),
            ) else {
                return 1;
            };
            let src_len = store.tables[src_index as usize].storage.elements().len();
            let dst_len = store.tables[dst_index as usize].storage.elements().len();
            let (Some(dst), Some(src)) = (range(dst, len, dst_len), range(src, len, src_len))
            else {
                return 1;
            };
            if dst_index == src_index {
                store.tables[dst_index as usize]
                    .storage
                    .elements_mut()
                    .copy_within(src, dst.start);
            } else {
                let values = store.tables[src_index as usize].storage.elements()[src].to_vec();
                store.tables[dst_index as usize].storage.elements_mut()[dst]
                    .copy_from_slice(&values);
            }
            0
        })
    }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_table_init")]
unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, 1, |instance, store| {
            let (Some(&index), Some(segment)) = (
                instance.tables.get(table as usize),
                instance.elements.get(elem as usize),
            ) else {
                return 1;
            };
            let elements = store.tables[index as usize].storage.elements_mut();
            let (Some(dst), Some(src)) = (
                range(dst, len.into(), elements.len()),
                range(src.into(), len.into(), segment.len()),
            ) else {
                return 1;
            };
            elements[dst].copy_from_slice(&segment[src]);
            0
        })
    }
}

/// `call_indirect`'s type check for a type that is not final, when the ids differ: 0 if
/// `actual` declares `expected` among its supertypes, else 1 (`indirect call type
/// mismatch`).
#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_func_type_check")]
unsafe extern "C" fn func_type_check(_vmctx: *mut u8, actual: u32, expected: u32) -> u32 {
    u32::from(!super::module::is_subtype(actual, expected))
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_elem_drop")]
unsafe extern "C" fn elem_drop(vmctx: *mut u8, elem: u32) {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, (), |instance, _| {
            if let Some(segment) = instance.elements.get_mut(elem as usize) {
                *segment = Vec::new();
            }
        })
    }
}

#[cfg_attr(
    feature = "exe-main",
    export_name = "kiln_builtin_exception_release_caught"
)]
unsafe extern "C" fn exception_release_caught(vmctx: *mut u8) {
    // SAFETY: called by compiled code with its context.
    unsafe { with_instance(vmctx, (), |_, store| store.release_caught_exception()) }
}

#[cfg_attr(feature = "exe-main", export_name = "kiln_builtin_exception_new")]
unsafe extern "C" fn exception_new(vmctx: *mut u8, tag: u32) -> usize {
    // SAFETY: called by compiled code with its context.
    unsafe {
        with_instance(vmctx, 0, |instance, store| {
            match instance.tags.get(tag as usize) {
                Some(&tag) => {
                    store.release_caught_exception();
                    store.new_exception(tag)
                }
                None => 0,
            }
        })
    }
}
