//! Values crossing between the host and wasm: [`Val`], and its conversions to the raw
//! forms compiled code uses (`ValRaw` in trampolines, `VMGlobal` in globals, `usize` table
//! elements).
//!
//! References: a `FuncRef(Some(func))` is the address of the function's `VMFuncRef`, and
//! the store maps every such address back to its `Func`. An `ExternRef(Some(value))` is
//! stored as `value + 1`, so that 0 stays null (`ExternRef(Some(u64::MAX))` therefore
//! cannot be represented and reads back as null).

use super::func::Func;
use crate::vm::store::VMStore;
use kiln_abi::metadata::{HeapType, ValType};
use kiln_abi::vmctx::ValRaw;

/// A WebAssembly value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    I32(i32),
    I64(i64),
    /// An f32 by its bits.
    F32(u32),
    /// An f64 by its bits.
    F64(u64),
    V128(u128),
    FuncRef(Option<Func>),
    /// An opaque host value.
    ExternRef(Option<u64>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
        }
    }

    /// The null reference (or zero) of a type (null even where the type is not nullable).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(ty) if ty.top() == HeapType::Func => Val::FuncRef(None),
            ValType::Ref(_) => Val::ExternRef(None),
        }
    }
}

/// A value as the bits of a table element or reference (references only).
pub(crate) fn reference_bits(store: &mut VMStore, value: Val) -> usize {
    match value {
        Val::FuncRef(Some(func)) => store.func_ref_address(func.index),
        Val::ExternRef(Some(value)) => (value as usize).wrapping_add(1),
        _ => 0,
    }
}

/// A table element or reference back to a value of type `ty`.
pub(crate) fn reference_from_bits(store: &VMStore, bits: usize, ty: ValType) -> Val {
    match ty {
        ValType::Ref(ty) if ty.top() == HeapType::Func => {
            Val::FuncRef(store.func_of_ref(bits).map(|index| Func {
                store: store.id,
                index,
            }))
        }
        _ => Val::ExternRef(if bits == 0 {
            None
        } else {
            Some((bits - 1) as u64)
        }),
    }
}

/// A value in its raw 16-byte form.
pub(crate) fn raw_from_val(store: &mut VMStore, value: Val) -> ValRaw {
    match value {
        Val::I32(v) => ValRaw::from_u64(u64::from(v as u32)),
        Val::I64(v) => ValRaw::from_u64(v as u64),
        Val::F32(bits) => ValRaw::from_u64(u64::from(bits)),
        Val::F64(bits) => ValRaw::from_u64(bits),
        Val::V128(bits) => ValRaw::from_u128(bits),
        Val::FuncRef(_) | Val::ExternRef(_) => {
            ValRaw::from_u64(reference_bits(store, value) as u64)
        }
    }
}

/// A raw value of type `ty` back to a value.
pub(crate) fn val_from_raw(store: &VMStore, raw: ValRaw, ty: ValType) -> Val {
    match ty {
        ValType::I32 => Val::I32(raw.u32() as i32),
        ValType::I64 => Val::I64(raw.u64() as i64),
        ValType::F32 => Val::F32(raw.u32()),
        ValType::F64 => Val::F64(raw.u64()),
        ValType::V128 => Val::V128(raw.u128()),
        ValType::Ref(_) => reference_from_bits(store, raw.u64() as usize, ty),
    }
}

/// Checks that `value` has type `ty` (a concrete type in `ty` is a type id) and, for a
/// function reference, belongs to `store`.
pub(crate) fn check_value(store: &VMStore, value: &Val, ty: ValType) -> Result<(), String> {
    if let Val::FuncRef(Some(func)) = value {
        if func.store != store.id {
            return Err("function reference from another store".into());
        }
    }
    let matches = match (value, ty) {
        (Val::FuncRef(func), ValType::Ref(ty)) if ty.top() == HeapType::Func => match func {
            None => ty.nullable,
            Some(func) => match ty.heap {
                HeapType::Func => true,
                HeapType::Concrete(type_id) => {
                    crate::vm::module::is_subtype(store.funcs[func.index as usize].type_id, type_id)
                }
                _ => false,
            },
        },
        (Val::ExternRef(value), ValType::Ref(ty)) if ty.top() == HeapType::Extern => match value {
            None => ty.nullable,
            Some(_) => ty.heap == HeapType::Extern,
        },
        (value, ty) => value.ty() == ty,
    };
    if !matches {
        return Err(format!(
            "expected a value of type {ty}, got {}",
            describe(value)
        ));
    }
    Ok(())
}

/// What a value is, for messages: its kind without its bits. (Printing the value with
/// `Debug` linked the formatting of every payload, 128-bit integers and structs, about
/// 3 KB, into every executable for a message that needs none of it.)
fn describe(value: &Val) -> &'static str {
    match value {
        Val::I32(_) => "an i32",
        Val::I64(_) => "an i64",
        Val::F32(_) => "an f32",
        Val::F64(_) => "an f64",
        Val::V128(_) => "a v128",
        Val::FuncRef(None) => "a null funcref",
        Val::FuncRef(Some(_)) => "a funcref",
        Val::ExternRef(None) => "a null externref",
        Val::ExternRef(Some(_)) => "an externref",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use kiln_abi::metadata::RefType;

    #[test]
    fn numbers_and_externrefs_round_trip() {
        let mut store = Store::new();
        let inner = &mut *store.inner;
        let values = [
            (Val::I32(-1), ValType::I32),
            (Val::I64(i64::MIN), ValType::I64),
            (Val::F32(0x7fc0_0001), ValType::F32),
            (Val::F64(0x7ff8_0000_0000_0001), ValType::F64),
            (Val::V128(u128::MAX - 5), ValType::V128),
            (Val::ExternRef(None), ValType::EXTERNREF),
            (Val::ExternRef(Some(0)), ValType::EXTERNREF),
            (Val::ExternRef(Some(42)), ValType::EXTERNREF),
            (Val::FuncRef(None), ValType::FUNCREF),
        ];
        for (value, ty) in values {
            let raw = raw_from_val(inner, value);
            assert_eq!(val_from_raw(inner, raw, ty), value);
        }
        assert_eq!(
            raw_from_val(inner, Val::I32(-1)).u128(),
            0xffff_ffff,
            "upper bytes are zero"
        );
        assert_eq!(reference_bits(inner, Val::ExternRef(None)), 0);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_kind() {
        let store = Store::new();
        let check = |value, ty| check_value(&store.inner, &value, ty).unwrap_err();
        assert_eq!(
            check(Val::I64(5), ValType::I32),
            "expected a value of type i32, got an i64"
        );
        assert_eq!(
            check(Val::ExternRef(None), ValType::FUNCREF),
            "expected a value of type funcref, got a null externref"
        );
        let non_null = ValType::Ref(RefType {
            nullable: false,
            heap: HeapType::Func,
        });
        assert_eq!(
            check(Val::FuncRef(None), non_null),
            "expected a value of type (ref func), got a null funcref"
        );
    }
}
