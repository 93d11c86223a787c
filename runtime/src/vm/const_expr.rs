//! Constant expressions (global initialisers, segment offsets and element items),
//! evaluated at instantiation in the context of the instance being built, to raw values:
//! an `i32` as its zero-extended bits, a reference as the bits of a table element.

use super::instance::InstanceData;
use super::store::VMStore;
use kiln_abi::metadata::ConstOp;
use kiln_abi::vmctx::ValRaw;

/// Evaluates `expression`; validation guarantees its types, so a mismatch is a corrupt
/// module and an error, never a panic.
pub(crate) fn evaluate(
    store: &mut VMStore,
    instance: &InstanceData,
    expression: &[ConstOp],
) -> Result<ValRaw, String> {
    let mut stack: Vec<ValRaw> = Vec::with_capacity(4);
    let malformed = || "malformed constant expression".to_string();
    for op in expression {
        let value = match *op {
            ConstOp::I32Const(v) => i32_raw(v),
            ConstOp::I64Const(v) => ValRaw::from_u64(v as u64),
            ConstOp::F32Const(bits) => ValRaw::from_u64(u64::from(bits)),
            ConstOp::F64Const(bits) => ValRaw::from_u64(bits),
            ConstOp::V128Const(bits) => ValRaw::from_u128(bits),
            ConstOp::RefNull => ValRaw::from_u64(0),
            ConstOp::RefFunc(index) => {
                let func = *instance.funcs.get(index as usize).ok_or_else(malformed)?;
                ValRaw::from_u64(store.func_ref_address(func) as u64)
            }
            ConstOp::GlobalGet(index) => {
                let global = *instance.globals.get(index as usize).ok_or_else(malformed)?;
                store.global_value(global)
            }
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = pop_two(&mut stack).ok_or_else(malformed)?;
                let (a, b) = (a.u32() as i32, b.u32() as i32);
                i32_raw(match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = pop_two(&mut stack).ok_or_else(malformed)?;
                let (a, b) = (a.u64(), b.u64());
                ValRaw::from_u64(match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
        };
        stack.push(value);
    }
    match (stack.pop(), stack.is_empty()) {
        (Some(value), true) => Ok(value),
        _ => Err(malformed()),
    }
}

/// An `i32` as raw bits: zero-extended, so that it reads back as the same offset.
fn i32_raw(value: i32) -> ValRaw {
    ValRaw::from_u64(u64::from(value as u32))
}

fn pop_two(stack: &mut Vec<ValRaw>) -> Option<(ValRaw, ValRaw)> {
    Some((stack.pop()?, stack.pop()?))
}
