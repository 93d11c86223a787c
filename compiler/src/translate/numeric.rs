//! Numeric operators: the shapes (unary, binary, comparisons, conversions) that the
//! dispatch in `mod.rs` fills with Cranelift instructions. Cranelift's instructions have
//! the wasm semantics: trapping division and conversion, NaN-propagating min/max with
//! -0 < +0, round-to-nearest-even `nearest`, shift counts taken modulo the width.

use super::{constant, defining, FuncTranslator};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, InstBuilder, InstructionData, MemFlagsData, Opcode, Type, Value,
};
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
        let x = self.keep_counter(x);
        let flag = self.builder.ins().icmp_imm_s(IntCC::Equal, x, 0);
        self.push_bool(flag);
    }

    pub(super) fn translate_icmp(&mut self, cc: IntCC) {
        let (mut x, mut y) = self.pop2();
        if matches!(cc, IntCC::Equal | IntCC::NotEqual) {
            if self.is_constant(y) {
                x = self.keep_counter(x);
            } else if self.is_constant(x) {
                y = self.keep_counter(y);
            }
        }
        let flag = self.builder.ins().icmp(cc, x, y);
        self.push_bool(flag);
    }

    /// `value`, compared for equality with a constant, as an opaque copy when it is a
    /// counter: a sum of one variable and one constant.
    ///
    /// Compilers emit counted loops as `i = i + K1; br_if (i != K2)`. Cranelift rewrites
    /// `(i + K1) != K2` into `i != K2 - K1`, which saves nothing when the sum is used
    /// anyway (LLVM folds the constants itself when it is not, so in its output the sum is
    /// nearly always the loop's next counter) but keeps the old counter alive beside the
    /// new one: the two cannot share a register, and every iteration pays a move and a
    /// jump. A `bitcast` to the same type, which no rewrite looks through and which the
    /// backends lower to nothing between integer registers, keeps the compare on the new
    /// value. Measured in benches/README.md, "Loop counters compared after the increment".
    fn keep_counter(&mut self, value: Value) -> Value {
        let func = &*self.builder.func;
        let is_counter = match defining(func, value) {
            Some(InstructionData::Binary {
                opcode: Opcode::Iadd | Opcode::Isub,
                args: [x, y],
            }) => self.is_constant(x) != self.is_constant(y),
            _ => false,
        };
        if !is_counter {
            return value;
        }
        let ty = func.dfg.value_type(value);
        self.builder.ins().bitcast(ty, MemFlagsData::new(), value)
    }

    /// Counts a shift (about to be translated) by a constant multiple of 8 bits, for
    /// `byte_loads.rs`.
    pub(super) fn count_byte_shift(&mut self) {
        let Some(&amount) = self.stack.last() else {
            return;
        };
        if constant(self.builder.func, amount).is_some_and(|bits| bits != 0 && bits % 8 == 0) {
            self.byte_shifts = self.byte_shifts.saturating_add(1);
        }
    }

    /// Whether `value` is an `iconst`.
    fn is_constant(&self, value: Value) -> bool {
        constant(self.builder.func, value).is_some()
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
