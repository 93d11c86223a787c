//! Calls: direct calls to defined functions, calls to imports through their `VMFuncRef`,
//! `call_indirect` with its bounds, null and signature checks (through a table fixed after
//! instantiation, `devirt.rs` drops what it can of them), and `call_ref` with its null
//! check. Each has a tail-call form (`return_call`, `return_call_indirect`,
//! `return_call_ref`), lowered to Cranelift's `return_call` / `return_call_indirect`: the
//! caller's frame is gone before the callee runs (every wasm function uses the `tail`
//! convention), so an endless chain of tail calls runs in constant stack. Each call
//! that is not a tail call is emitted by `exceptions.rs` (`emit_call`, `emit_call_indirect`),
//! which makes it a `try_call` when a handler scope covers it; a tail call leaves the
//! caller's handlers.

use super::FuncTranslator;
use crate::abi;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, InstBuilder, Value};
use kiln_abi::builtins::Builtin;
use kiln_abi::metadata::FuncType;
use kiln_abi::TrapCode;

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_call(&mut self, func_index: u32) {
        let ty = self.env.info.func_type(func_index);
        let args = self.pop_n(ty.params.len());
        let may_throw = self.env.throws.function(func_index);
        let n_imported = self.env.n_imported_funcs();
        let results = if func_index < n_imported {
            let (code, callee_vmctx) =
                self.env
                    .imported_callee(&mut self.builder, self.vmctx, func_index);
            let signature = self.builder.import_signature(abi::wasm_signature(ty));
            let call_args = abi::wasm_call_args(callee_vmctx, &args, self.vmctx);
            self.emit_call_indirect(signature, code, &call_args, may_throw)
        } else {
            let callee = self.direct_callee(func_index);
            let call_args = abi::direct_call_args(ty, self.vmctx, &args);
            self.emit_call(callee, &call_args, may_throw)
        };
        self.stack.extend(results);
    }

    /// The function reference for a direct call to defined function `func_index`.
    pub(super) fn direct_callee(&mut self, func_index: u32) -> ir::FuncRef {
        if let Some(callee) = self.direct_callees.get(&func_index) {
            return *callee;
        }
        let defined = (func_index - self.env.n_imported_funcs()) as usize;
        let name = self
            .builder
            .func
            .declare_imported_user_function(ir::UserExternalName {
                namespace: 0,
                index: self.env.func_id(defined).as_u32(),
            });
        let signature = self
            .builder
            .import_signature(abi::defined_signature(self.env.info.func_type(func_index)));
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
        if let Some(func_index) = self.constant_indirect_target(type_index, table_index) {
            self.pop();
            return self.translate_call(func_index);
        }
        let index = self.pop();
        let ty = &self.env.info.metadata.types[type_index as usize];
        let args = self.pop_n(ty.params.len());
        if let Some(results) =
            self.guarded_direct_call(type_index, table_index, index, &args, false)
        {
            self.stack.extend(results);
            return;
        }
        let (code, callee_vmctx) = self.indirect_callee(type_index, table_index, index);
        let signature = self.builder.import_signature(abi::wasm_signature(ty));
        let call_args = abi::wasm_call_args(callee_vmctx, &args, self.vmctx);
        let may_throw = self.env.throws.indirect(type_index);
        let results = self.emit_call_indirect(signature, code, &call_args, may_throw);
        self.stack.extend(results);
    }

    /// `(wasm_call, callee_vmctx)` of table element `index` for `call_indirect`: through
    /// the code table of a fixed table (`devirt.rs`), else after the bounds, null and
    /// signature checks.
    fn indirect_callee(
        &mut self,
        type_index: u32,
        table_index: u32,
        index: Value,
    ) -> (Value, Value) {
        self.fixed_table_callee(type_index, table_index, index)
            .unwrap_or_else(|| self.checked_indirect_callee(type_index, table_index, index))
    }

    /// `(wasm_call, callee_vmctx)` of table element `index` for `call_indirect`, after the
    /// bounds, null and signature checks.
    pub(super) fn checked_indirect_callee(
        &mut self,
        type_index: u32,
        table_index: u32,
        index: Value,
    ) -> (Value, Value) {
        let func_ref = self.load_func_ref_for_call(table_index, index);
        let actual = abi::func_ref_type_id(&mut self.builder, func_ref);
        let expected = self.env.type_id(&mut self.builder, self.vmctx, type_index);
        let mismatch = self.builder.ins().icmp(IntCC::NotEqual, actual, expected);
        if self.env.info.type_is_final(type_index) {
            self.builder
                .ins()
                .trapnz(mismatch, crate::traps::ir_trap_code(TrapCode::BadSignature));
        } else {
            // A function of a declared subtype matches too: when the ids differ, the
            // runtime walks the actual type's supertypes (trapping if none is expected).
            let check = self.builder.create_block();
            let matched = self.builder.create_block();
            self.builder.set_cold_block(check);
            self.builder.ins().brif(mismatch, check, &[], matched, &[]);
            self.builder.switch_to_block(check);
            self.builder.seal_block(check);
            self.env.call_builtin(
                &mut self.builder,
                self.vmctx,
                Builtin::FuncTypeCheck,
                &[actual, expected],
            );
            self.builder.ins().jump(matched, &[]);
            self.builder.switch_to_block(matched);
            self.builder.seal_block(matched);
        }
        abi::func_ref_callee(&mut self.builder, func_ref)
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

    /// `(wasm_call, callee_vmctx)` of the function reference on top of the stack
    /// (`call_ref`): traps with `null function reference` on null. Validation has checked
    /// its type, so no signature check is needed.
    fn ref_callee(&mut self) -> (Value, Value) {
        let func_ref = self.pop();
        self.builder.ins().trapz(
            func_ref,
            crate::traps::ir_trap_code(TrapCode::NullFunctionReference),
        );
        abi::func_ref_callee(&mut self.builder, func_ref)
    }

    pub(super) fn translate_call_ref(&mut self, type_index: u32) {
        let (code, callee_vmctx) = self.ref_callee();
        let ty = &self.env.info.metadata.types[type_index as usize];
        let args = self.pop_n(ty.params.len());
        let signature = self.builder.import_signature(abi::wasm_signature(ty));
        let call_args = abi::wasm_call_args(callee_vmctx, &args, self.vmctx);
        let may_throw = self.env.throws.indirect(type_index);
        let results = self.emit_call_indirect(signature, code, &call_args, may_throw);
        self.stack.extend(results);
    }

    /// `return_call`: a direct jump to a defined function, through the `VMFuncRef` to an
    /// import.
    pub(super) fn translate_return_call(&mut self, func_index: u32) {
        let ty = self.env.info.func_type(func_index);
        let args = self.pop_n(ty.params.len());
        if func_index < self.env.n_imported_funcs() {
            let (code, callee_vmctx) =
                self.env
                    .imported_callee(&mut self.builder, self.vmctx, func_index);
            self.return_call_indirect(ty, code, callee_vmctx, args);
        } else {
            let callee = self.direct_callee(func_index);
            let call_args = abi::direct_call_args(ty, self.vmctx, &args);
            self.mark_tail_call();
            self.builder.ins().return_call(callee, &call_args);
            self.reachable = false;
        }
    }

    pub(super) fn translate_return_call_indirect(&mut self, type_index: u32, table_index: u32) {
        if let Some(func_index) = self.constant_indirect_target(type_index, table_index) {
            self.pop();
            return self.translate_return_call(func_index);
        }
        let index = self.pop();
        let ty = &self.env.info.metadata.types[type_index as usize];
        let args = self.pop_n(ty.params.len());
        if self
            .guarded_direct_call(type_index, table_index, index, &args, true)
            .is_some()
        {
            return;
        }
        let (code, callee_vmctx) = self.indirect_callee(type_index, table_index, index);
        self.return_call_indirect(ty, code, callee_vmctx, args);
    }

    pub(super) fn translate_return_call_ref(&mut self, type_index: u32) {
        let (code, callee_vmctx) = self.ref_callee();
        let ty = &self.env.info.metadata.types[type_index as usize];
        let args = self.pop_n(ty.params.len());
        self.return_call_indirect(ty, code, callee_vmctx, args);
    }

    /// Tail-calls `code` of type `ty`; what follows is unreachable.
    pub(super) fn return_call_indirect(
        &mut self,
        ty: &FuncType,
        code: Value,
        callee_vmctx: Value,
        args: Vec<Value>,
    ) {
        let signature = self.builder.import_signature(abi::wasm_signature(ty));
        let call_args = abi::wasm_call_args(callee_vmctx, &args, self.vmctx);
        self.mark_tail_call();
        self.builder
            .ins()
            .return_call_indirect(signature, code, &call_args);
        self.reachable = false;
    }

    /// Gives the tail call about to be emitted its mark (see [`super::TAIL_CALL_LOCATION`]);
    /// the next operator sets its own location again.
    /// The fuel spent so far goes to the store first: the callee reads it from there.
    pub(super) fn mark_tail_call(&mut self) {
        self.save_fuel();
        self.builder
            .set_srcloc(ir::SourceLoc::new(super::TAIL_CALL_LOCATION));
    }
}
