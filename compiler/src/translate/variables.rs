//! Locals, globals and the parametric operators (`select`).

use super::FuncTranslator;
use crate::abi;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{types, InstBuilder};
use kiln_abi::metadata::ConstOp;

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
        if self.push_constant_global(index) {
            return;
        }
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

    /// Pushes the value of global `index` as a constant when it is one: an immutable
    /// global the module defines with a single constant as its initializer never holds
    /// anything else, so kiln, which sees the whole module, need not load it (issue 18).
    /// Imported globals and computed initializers are left to the load.
    fn push_constant_global(&mut self, index: u32) -> bool {
        let env = self.env;
        let metadata = &env.info.metadata;
        let n_imported = metadata.global_types.len() - metadata.globals.len();
        let Some(defined) = (index as usize).checked_sub(n_imported) else {
            return false;
        };
        let Some(global) = metadata.globals.get(defined) else {
            return false;
        };
        if global.ty.mutable {
            return false;
        }
        match global.init.as_slice() {
            [ConstOp::I32Const(value)] => self.push_iconst(types::I32, i64::from(*value)),
            [ConstOp::I64Const(value)] => self.push_iconst(types::I64, *value),
            [ConstOp::F32Const(bits)] => {
                let value = self.builder.ins().f32const(Ieee32::with_bits(*bits));
                self.push(value);
            }
            [ConstOp::F64Const(bits)] => {
                let value = self.builder.ins().f64const(Ieee64::with_bits(*bits));
                self.push(value);
            }
            _ => return false,
        }
        true
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
