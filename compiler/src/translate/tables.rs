//! Reference types and tables: `ref.null`, `ref.is_null`, `ref.as_non_null`, `ref.func`,
//! `table.get/set/size` inline, and the growing and bulk table operations through builtins;
//! and the bulk memory operations (`memory.copy` and `memory.fill` within one memory inline,
//! checked by `memory.rs`, then libc's `memmove` / `memset`).
//!
//! Indices, lengths and sizes are i64 for 64-bit tables and memories (table64, memory64)
//! and i32 otherwise; the builtins take them all as zero-extended 64-bit values, and
//! `memory.copy` / `table.copy` between a 32- and a 64-bit one get a length of the
//! narrower type, as validation guarantees.

use super::FuncTranslator;
use crate::abi;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use kiln_abi::builtins::Builtin;
use kiln_abi::TrapCode;

impl FuncTranslator<'_, '_> {
    pub(super) fn translate_ref_null(&mut self) {
        self.push_iconst(abi::POINTER, 0);
    }

    pub(super) fn translate_ref_is_null(&mut self) {
        self.translate_eqz();
    }

    /// `ref.as_non_null`: traps with `null reference` on null.
    pub(super) fn translate_ref_as_non_null(&mut self) {
        let reference = *self.stack.last().expect("validated wasm");
        self.builder.ins().trapz(
            reference,
            crate::traps::ir_trap_code(TrapCode::NullReference),
        );
    }

    pub(super) fn translate_ref_func(&mut self, func_index: u32) {
        let func_ref = self
            .env
            .func_ref_address(&mut self.builder, self.vmctx, func_index);
        self.push(func_ref);
    }

    /// The address of element `index` of `table`, trapping with `out_of_bounds` (`out of
    /// bounds table access` for table instructions, `undefined element` for
    /// `call_indirect`) when it is past the end.
    pub(super) fn table_element_address(
        &mut self,
        table: u32,
        index: Value,
        out_of_bounds: TrapCode,
    ) -> Value {
        let (base, length) = self
            .env
            .table_base_and_length(&mut self.builder, self.vmctx, table);
        let index = self.extend_to_i64(index);
        let beyond = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.builder
            .ins()
            .trapnz(beyond, crate::traps::ir_trap_code(out_of_bounds));
        abi::table_element_address(&mut self.builder, base, index)
    }

    pub(super) fn translate_table_get(&mut self, table: u32) {
        let index = self.pop();
        let address = self.table_element_address(table, index, TrapCode::TableOutOfBounds);
        let value = self
            .builder
            .ins()
            .load(abi::POINTER, abi::trusted(), address, 0);
        self.push(value);
    }

    pub(super) fn translate_table_set(&mut self, table: u32) {
        let value = self.pop();
        let index = self.pop();
        let address = self.table_element_address(table, index, TrapCode::TableOutOfBounds);
        self.builder.ins().store(abi::trusted(), value, address, 0);
    }

    pub(super) fn translate_table_size(&mut self, table: u32) {
        let (_, length) = self
            .env
            .table_base_and_length(&mut self.builder, self.vmctx, table);
        let size = self.as_table_index_type(table, length);
        self.push(size);
    }

    /// Whether table `table` is indexed by i64.
    fn is_table64(&self, table: u32) -> bool {
        self.env.info.metadata.tables[table as usize].table64
    }

    /// `value`, an i64 size or index of table `table`, as that table's index type.
    fn as_table_index_type(&mut self, table: u32, value: Value) -> Value {
        if self.is_table64(table) {
            value
        } else {
            self.builder.ins().ireduce(types::I32, value)
        }
    }

    fn i32_const(&mut self, value: u32) -> Value {
        self.builder.ins().iconst(types::I32, i64::from(value))
    }

    pub(super) fn translate_table_grow(&mut self, table: u32) {
        let delta = self.pop();
        let init = self.pop();
        let table_index = self.i32_const(table);
        let delta = self.extend_to_i64(delta);
        let old = self.env.call_builtin(
            &mut self.builder,
            self.vmctx,
            Builtin::TableGrow,
            &[table_index, delta, init],
        );
        // `u64::MAX` on failure: -1 in either index type.
        let old = self.as_table_index_type(table, old.expect("table.grow returns the old size"));
        self.push(old);
    }

    pub(super) fn translate_table_fill(&mut self, table: u32) {
        let len = self.pop();
        let value = self.pop();
        let dst = self.pop();
        let table = self.i32_const(table);
        let (dst, len) = (self.extend_to_i64(dst), self.extend_to_i64(len));
        self.env.call_builtin(
            &mut self.builder,
            self.vmctx,
            Builtin::TableFill,
            &[table, dst, value, len],
        );
    }

    pub(super) fn translate_table_copy(&mut self, dst_table: u32, src_table: u32) {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        let (dst_table, src_table) = (self.i32_const(dst_table), self.i32_const(src_table));
        let (dst, src, len) = (
            self.extend_to_i64(dst),
            self.extend_to_i64(src),
            self.extend_to_i64(len),
        );
        let args = [dst_table, src_table, dst, src, len];
        self.env
            .call_builtin(&mut self.builder, self.vmctx, Builtin::TableCopy, &args);
    }

    pub(super) fn translate_table_init(&mut self, element: u32, table: u32) {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        let (table, element) = (self.i32_const(table), self.i32_const(element));
        let dst = self.extend_to_i64(dst);
        let args = [table, element, dst, src, len];
        self.env
            .call_builtin(&mut self.builder, self.vmctx, Builtin::TableInit, &args);
    }

    pub(super) fn translate_elem_drop(&mut self, element: u32) {
        let element = self.i32_const(element);
        self.env
            .call_builtin(&mut self.builder, self.vmctx, Builtin::ElemDrop, &[element]);
    }

    pub(super) fn translate_memory_copy(&mut self, dst_memory: u32, src_memory: u32) {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        let (dst, src, len) = (
            self.extend_to_i64(dst),
            self.extend_to_i64(src),
            self.extend_to_i64(len),
        );
        if dst_memory == src_memory {
            // Within one memory: both ranges checked inline, then libc's `memmove` (which
            // allows overlap), with no call into the runtime. Measured on
            // shootout-memmove: the runtime's builtin and its lookups were 6% of the run.
            let dst = self.bulk_memory_address(dst_memory, dst, len);
            let src = self.bulk_memory_address(src_memory, src, len);
            self.builder
                .call_memmove(self.env.frontend_config, dst, src, len);
            return;
        }
        let (dst_memory, src_memory) = (self.i32_const(dst_memory), self.i32_const(src_memory));
        let args = [dst_memory, src_memory, dst, src, len];
        self.env
            .call_builtin(&mut self.builder, self.vmctx, Builtin::MemoryCopy, &args);
    }

    pub(super) fn translate_memory_fill(&mut self, memory: u32) {
        let len = self.pop();
        let value = self.pop();
        let dst = self.pop();
        let (dst, len) = (self.extend_to_i64(dst), self.extend_to_i64(len));
        // Checked inline, then libc's `memset`, as for `memory.copy`.
        let dst = self.bulk_memory_address(memory, dst, len);
        self.builder
            .call_memset(self.env.frontend_config, dst, value, len);
    }

    pub(super) fn translate_memory_init(&mut self, data: u32, memory: u32) {
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        let (memory, data) = (self.i32_const(memory), self.i32_const(data));
        let dst = self.extend_to_i64(dst);
        let args = [memory, data, dst, src, len];
        self.env
            .call_builtin(&mut self.builder, self.vmctx, Builtin::MemoryInit, &args);
    }

    pub(super) fn translate_data_drop(&mut self, data: u32) {
        let data = self.i32_const(data);
        self.env
            .call_builtin(&mut self.builder, self.vmctx, Builtin::DataDrop, &[data]);
    }
}
