//! `call_indirect` through a fixed table (see `crate::devirt` for the analysis).
//!
//! - A constant index whose slot holds a function of the expected type's class becomes the
//!   call `call` would make: a direct call to a defined function (which `--inline` may then
//!   inline), through its `VMFuncRef` to an import.
//! - A variable index whose type's class has one defined function in the table (besides
//!   imports) becomes a guarded direct call: `index == slot`, or the code table's class
//!   of the slot, then a direct call; a cold block makes the checked call otherwise.
//! - Any other variable index keeps the bounds check, against the table's fixed length (a
//!   constant: no load), then reads the slot's entry of the table's code table in
//!   read-only data. When the entry's class is the expected type's, the call goes straight
//!   to the entry's code with the caller's own `vmctx`; otherwise a cold block runs the
//!   checked sequence on the runtime's table, which traps as it always did (`uninitialized
//!   element`, `indirect call type mismatch`) or finds the callee the code table does not
//!   hold (an import, a function of a subtype). Both paths meet at one call.
//!
//! Every instruction keeps the operator's source location, so traps and backtraces are
//! those of the checked call.

use super::{constant, FuncTranslator};
use crate::abi;
use crate::devirt::CodeTableLayout;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, types, InstBuilder, Value};
use kiln_abi::TrapCode;

impl FuncTranslator<'_, '_> {
    /// The function a `call_indirect` of type `type_index` through `table` certainly
    /// calls, when the index on top of the stack is a constant and the analysis knows the
    /// slot (see `Devirt::constant_target`).
    pub(super) fn constant_indirect_target(&self, type_index: u32, table: u32) -> Option<u32> {
        let operand = *self.stack.last()?;
        let bits = constant(self.builder.func, operand)?;
        // An `i32` constant's immediate may hold its sign extended.
        let index = if self.builder.func.dfg.value_type(operand) == types::I32 {
            bits as u64 & u64::from(u32::MAX)
        } else {
            bits as u64
        };
        self.env.devirt.constant_target(table, type_index, index)
    }

    /// `(wasm_call, callee_vmctx)` of slot `index` of `table` for a `call_indirect` of type
    /// `type_index`, through the table's code table, when it has one; the checked path
    /// (`checked_indirect_callee`) in a cold block for the slots it does not cover.
    pub(super) fn fixed_table_callee(
        &mut self,
        type_index: u32,
        table: u32,
        index: Value,
    ) -> Option<(Value, Value)> {
        let (entry_class, code) = self.code_table_entry(table, index)?;
        let class = self.env.devirt.class(type_index);
        let matches = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::Equal, entry_class, i64::from(class));
        let checked = self.builder.create_block();
        self.builder.set_cold_block(checked);
        let call = self.builder.create_block();
        let callee_code = self.builder.append_block_param(call, abi::POINTER);
        let callee_vmctx = self.builder.append_block_param(call, abi::POINTER);
        let vmctx = self.vmctx;
        self.builder.ins().brif(
            matches,
            call,
            &[ir::BlockArg::Value(code), ir::BlockArg::Value(vmctx)],
            checked,
            &[],
        );
        self.builder.switch_to_block(checked);
        self.builder.seal_block(checked);
        let (code, other_vmctx) = self.checked_indirect_callee(type_index, table, index);
        self.builder.ins().jump(
            call,
            &[ir::BlockArg::Value(code), ir::BlockArg::Value(other_vmctx)],
        );
        self.builder.switch_to_block(call);
        self.builder.seal_block(call);
        Some((callee_code, callee_vmctx))
    }

    /// A `call_indirect` (a `return_call_indirect` when `tail`) of type `type_index`
    /// through a fixed table in which one defined function of the type's class can be
    /// called without the checked path (`Devirt::sole_target`): a guarded direct call. The
    /// guard is `index == slot` when one slot holds it, else the code table's class of the
    /// slot (after the bounds check); when it fails, a cold block makes the checked call.
    /// Returns the call's results (none for a tail call), or `None`, having emitted
    /// nothing, when the table has no such function.
    pub(super) fn guarded_direct_call(
        &mut self,
        type_index: u32,
        table: u32,
        index: Value,
        args: &[Value],
        tail: bool,
    ) -> Option<Vec<Value>> {
        let target = self.env.devirt.sole_target(table, type_index)?;
        let guard = match target.slot {
            Some(slot) => {
                let index64 = self.extend_to_i64(index);
                self.builder
                    .ins()
                    .icmp_imm_u(IntCC::Equal, index64, slot as i64)
            }
            None => {
                let (entry_class, _) = self.code_table_entry(table, index)?;
                let class = self.env.devirt.class(type_index);
                self.builder
                    .ins()
                    .icmp_imm_u(IntCC::Equal, entry_class, i64::from(class))
            }
        };
        // Both paths call: the fuel spent so far is subtracted once, before they part (and
        // stored by each call, so that a trap before it leaves the store's count as the
        // checked call does).
        self.consume_pending_fuel();
        let location = self.builder.srcloc();
        let ty = &self.env.info.metadata.types[type_index as usize];
        let direct = self.builder.create_block();
        let checked = self.builder.create_block();
        self.builder.set_cold_block(checked);
        self.builder.ins().brif(guard, direct, &[], checked, &[]);

        self.builder.switch_to_block(direct);
        self.builder.seal_block(direct);
        let callee = self.direct_callee(target.func);
        let callee_type = self.env.info.func_type(target.func);
        let call_args = abi::direct_call_args(callee_type, self.vmctx, args);
        let merge = self.builder.create_block();
        if tail {
            self.mark_tail_call();
            self.builder.ins().return_call(callee, &call_args);
        } else {
            let may_throw = self.env.throws.function(target.func);
            let results = self.emit_call(callee, &call_args, may_throw);
            for result in &ty.results {
                self.builder
                    .append_block_param(merge, abi::ir_type(*result));
            }
            let results: Vec<ir::BlockArg> = results.into_iter().map(ir::BlockArg::Value).collect();
            self.builder.ins().jump(merge, &results);
        }

        self.builder.set_srcloc(location);
        self.builder.switch_to_block(checked);
        self.builder.seal_block(checked);
        let (code, callee_vmctx) = self.checked_indirect_callee(type_index, table, index);
        if tail {
            self.return_call_indirect(ty, code, callee_vmctx, args.to_vec());
            return Some(Vec::new());
        }
        let signature = self.builder.import_signature(abi::wasm_signature(ty));
        let call_args = abi::wasm_call_args(callee_vmctx, args, self.vmctx);
        let may_throw = self.env.throws.indirect(type_index);
        let results = self.emit_call_indirect(signature, code, &call_args, may_throw);
        let results: Vec<ir::BlockArg> = results.into_iter().map(ir::BlockArg::Value).collect();
        self.builder.ins().jump(merge, &results);
        self.builder.switch_to_block(merge);
        self.builder.seal_block(merge);
        Some(self.builder.block_params(merge).to_vec())
    }

    /// The class and code address of slot `index` in the code table of fixed table
    /// `table`, after the bounds check against its fixed length (`undefined element`);
    /// `None`, having emitted nothing, when the table has no code table.
    fn code_table_entry(&mut self, table: u32, index: Value) -> Option<(Value, Value)> {
        let fixed = self.env.devirt.fixed_table(table)?;
        let code_table = fixed.code_table?;
        let length = fixed.slots.len() as i64;
        let index64 = self.extend_to_i64(index);
        let beyond =
            self.builder
                .ins()
                .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, index64, length);
        self.builder.ins().trapnz(
            beyond,
            crate::traps::ir_trap_code(TrapCode::UndefinedElement),
        );
        let base = self.code_table_address(code_table);
        // Read-only data that is always mapped: the loads cannot trap and see no store.
        let flags = ir::MemFlagsData::trusted()
            .with_readonly()
            .with_endianness(ir::Endianness::Little);
        let class_offset = self
            .builder
            .ins()
            .ishl_imm_u(index64, CodeTableLayout::CLASS_SIZE_LOG2);
        let class_address = self.builder.ins().iadd(base, class_offset);
        let classes = CodeTableLayout::classes_offset(fixed.slots.len()) as i32;
        let class = self
            .builder
            .ins()
            .load(types::I32, flags, class_address, classes);
        let code_offset = self
            .builder
            .ins()
            .ishl_imm_u(index64, CodeTableLayout::CODE_SIZE_LOG2);
        let code_address = self.builder.ins().iadd(base, code_offset);
        let code = self
            .builder
            .ins()
            .load(abi::POINTER, flags, code_address, 0);
        Some((class, code))
    }

    /// The address of a code table (a local symbol of this object).
    fn code_table_address(&mut self, code_table: cranelift_module::DataId) -> Value {
        let name = self
            .builder
            .func
            .declare_imported_user_function(ir::UserExternalName {
                namespace: 1,
                index: code_table.as_u32(),
            });
        let global = self
            .builder
            .func
            .create_global_value(ir::GlobalValueData::Symbol {
                name: ir::ExternalName::user(name),
                offset: ir::immediates::Imm64::new(0),
                colocated: true,
                tls: false,
            });
        self.builder.ins().symbol_value(abi::POINTER, global)
    }
}
