//! Locals, globals and the parametric operators (`select`).

use super::FuncTranslator;
use crate::abi;
use cranelift_codegen::ir::InstBuilder;

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_local_get(&mut self, index: u32) {
        let value = self.builder.use_var(self.locals[index as usize]);
        self.push(value);
    }

    pub(super) fn translate_local_set(&mut self, index: u32) {
        let value = self.pop();
        self.builder.def_var(self.locals[index as usize], value);
    }

    pub(super) fn translate_local_tee(&mut self, index: u32) {
        let value = *self.stack.last().expect("validated: tee has an operand");
        self.builder.def_var(self.locals[index as usize], value);
    }

    pub(super) fn translate_global_get(&mut self, index: u32) {
        let ty = self.env.info.metadata.global_types[index as usize];
        let (base, offset) = self
            .env
            .global_location(&mut self.builder, self.vmctx, index);
        let flags = if ty.mutable {
            abi::trusted()
        } else {
            abi::readonly()
        };
        let value = self
            .builder
            .ins()
            .load(abi::ir_type(ty.ty), flags, base, offset);
        self.push(value);
    }

    pub(super) fn translate_global_set(&mut self, index: u32) {
        let value = self.pop();
        let (base, offset) = self
            .env
            .global_location(&mut self.builder, self.vmctx, index);
        self.builder
            .ins()
            .store(abi::trusted(), value, base, offset);
    }

    pub(super) fn translate_select(&mut self) {
        let condition = self.pop();
        let (if_true, if_false) = self.pop2();
        let value = self.builder.ins().select(condition, if_true, if_false);
        self.push(value);
    }
}
