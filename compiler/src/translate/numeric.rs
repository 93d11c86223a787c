//! Numeric operators: the shapes (unary, binary, comparisons, conversions) that the
//! dispatch in `mod.rs` fills with Cranelift instructions. Cranelift's instructions have
//! the wasm semantics: trapping division and conversion, NaN-propagating min/max with
//! -0 < +0, round-to-nearest-even `nearest`, shift counts taken modulo the width.

use super::FuncTranslator;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

impl FuncTranslator<'_, '_> {
    pub(super) fn push_iconst(&mut self, ty: Type, value: i64) {
        let value = self.builder.ins().iconst(ty, value);
        self.push(value);
    }

    pub(super) fn unary(&mut self, f: impl FnOnce(&mut FunctionBuilder, Value) -> Value) {
        let x = self.pop();
        let value = f(&mut self.builder, x);
        self.push(value);
    }

    pub(super) fn binary(&mut self, f: impl FnOnce(&mut FunctionBuilder, Value, Value) -> Value) {
        let (x, y) = self.pop2();
        let value = f(&mut self.builder, x, y);
        self.push(value);
    }

    /// Wasm comparisons produce an i32 0 or 1.
    fn push_bool(&mut self, flag: Value) {
        let value = self.builder.ins().uextend(types::I32, flag);
        self.push(value);
    }

    pub(super) fn translate_eqz(&mut self) {
        let x = self.pop();
        let flag = self.builder.ins().icmp_imm_s(IntCC::Equal, x, 0);
        self.push_bool(flag);
    }

    pub(super) fn translate_icmp(&mut self, cc: IntCC) {
        let (x, y) = self.pop2();
        let flag = self.builder.ins().icmp(cc, x, y);
        self.push_bool(flag);
    }

    pub(super) fn translate_fcmp(&mut self, cc: FloatCC) {
        let (x, y) = self.pop2();
        let flag = self.builder.ins().fcmp(cc, x, y);
        self.push_bool(flag);
    }

    pub(super) fn translate_reinterpret(&mut self, to: Type) {
        self.unary(|b, x| b.ins().bitcast(to, MemFlagsData::new(), x));
    }

    pub(super) fn translate_sign_extend(&mut self, from: Type, to: Type) {
        self.unary(|b, x| {
            let narrow = b.ins().ireduce(from, x);
            b.ins().sextend(to, narrow)
        });
    }
}
