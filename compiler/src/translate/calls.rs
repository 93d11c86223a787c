//! Calls: direct calls to defined functions, calls to imports through their `VMFuncRef`,
//! and `call_indirect` with its bounds, null and signature checks.

use super::FuncTranslator;
use crate::abi;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, Value};
use kiln_abi::TrapCode;

impl FuncTranslator<'_, '_> {
    fn push_call_results(&mut self, call: ir::Inst) {
        let results = self.builder.inst_results(call).to_vec();
        self.stack.extend(results);
    }

    pub(super) fn translate_call(&mut self, func_index: u32) {
        let ty = self.env.info.func_type(func_index);
        let args = self.pop_n(ty.params.len());
        let n_imported = self.env.n_imported_funcs();
        self.save_fuel();
        let call = if func_index < n_imported {
            let (code, callee_vmctx) =
                self.env
                    .imported_callee(&mut self.builder, self.vmctx, func_index);
            let signature = self.builder.import_signature(abi::wasm_signature(ty));
            let mut call_args = vec![callee_vmctx, self.vmctx];
            call_args.extend(args);
            self.builder
                .ins()
                .call_indirect(signature, code, &call_args)
        } else {
            let callee = self.direct_callee(func_index);
            let mut call_args = vec![self.vmctx, self.vmctx];
            call_args.extend(args);
            self.builder.ins().call(callee, &call_args)
        };
        self.reload_fuel();
        self.push_call_results(call);
    }

    /// The function reference for a direct call to defined function `func_index`.
    fn direct_callee(&mut self, func_index: u32) -> ir::FuncRef {
        if let Some(callee) = self.direct_callees.get(&func_index) {
            return *callee;
        }
        let defined = (func_index - self.env.n_imported_funcs()) as usize;
        let name = self
            .builder
            .func
            .declare_imported_user_function(ir::UserExternalName {
                namespace: 0,
                index: self.env.func_ids[defined].as_u32(),
            });
        let signature = self
            .builder
            .import_signature(abi::wasm_signature(self.env.info.func_type(func_index)));
        let callee = self.builder.import_function(ir::ExtFuncData {
            name: ir::ExternalName::user(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.direct_callees.insert(func_index, callee);
        callee
    }

    pub(super) fn translate_call_indirect(&mut self, type_index: u32, table_index: u32) {
        let index = self.pop();
        let ty = &self.env.info.metadata.types[type_index as usize];
        let args = self.pop_n(ty.params.len());
        let func_ref = self.load_func_ref_for_call(table_index, index);
        let actual = abi::func_ref_type_id(&mut self.builder, func_ref);
        let expected = self.env.type_id(&mut self.builder, self.vmctx, type_index);
        let mismatch = self.builder.ins().icmp(IntCC::NotEqual, actual, expected);
        self.builder
            .ins()
            .trapnz(mismatch, crate::traps::ir_trap_code(TrapCode::BadSignature));
        let (code, callee_vmctx) = abi::func_ref_callee(&mut self.builder, func_ref);
        let signature = self.builder.import_signature(abi::wasm_signature(ty));
        let mut call_args = vec![callee_vmctx, self.vmctx];
        call_args.extend(args);
        self.save_fuel();
        let call = self
            .builder
            .ins()
            .call_indirect(signature, code, &call_args);
        self.reload_fuel();
        self.push_call_results(call);
    }

    /// Loads table element `index` for `call_indirect`: traps with `undefined element` past
    /// the end and `uninitialized element` on null.
    fn load_func_ref_for_call(&mut self, table_index: u32, index: Value) -> Value {
        let address = self.table_element_address(table_index, index, TrapCode::UndefinedElement);
        let func_ref = self
            .builder
            .ins()
            .load(abi::POINTER, abi::trusted(), address, 0);
        self.builder.ins().trapz(
            func_ref,
            crate::traps::ir_trap_code(TrapCode::IndirectCallToNull),
        );
        func_ref
    }
}
