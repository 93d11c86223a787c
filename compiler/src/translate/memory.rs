//! ==================== THIS FILE GUARDS THE SANDBOX ====================
//!
//! Linear-memory accesses: every load and store computes its native address here, and
//! this is the only place that decides whether an access needs an explicit bounds check.
//!
//! A 32-bit memory lives in a reservation (`MemorySettings::reservation`, 4 GiB less one
//! wasm page by default) followed by a guard region (`guard_size`); every byte past the
//! accessible length is `PROT_NONE`, so an access beyond it faults and the fault becomes
//! an `out of bounds memory access` trap. An access `base + index + offset` with a 32-bit
//! index and `size` bytes stays inside reservation + guard whenever
//! `2^32 + offset + size <= reservation + guard_size`; only then is the check omitted.
//! Otherwise (large static offsets, `bounds_checks` mode) the code compares
//! `index + offset + size` with the current length and traps before the access.
//!
//! An index `x + c` (an `i32.add` of a constant, which wraps at 2^32) whose `x` was
//! accessed earlier in the same block is compiled as `x` with `c` added to the static
//! offset, when `c` is at most the memory's headroom below 2^32: that sum cannot wrap
//! (`split_constant_term`).
//!
//! A 64-bit memory's index can reach past any reservation, so every access is checked:
//! - in the default layout, the memory never moves and everything up to
//!   `reservation + guard_size` past its base is mapped (inaccessible past the length), so
//!   an index at most `reservation + guard_size - offset - size` (a constant of the
//!   compiled code) needs nothing more: one compare with a constant and a branch not
//!   taken. A larger index (only valid in a memory reserved past `reservation`, one with a
//!   declared maximum beyond it) goes to a cold block that checks the length as below;
//! - with `bounds_checks`, `index + offset + size` is computed with an overflow trap
//!   (`uadd_overflow_trap`) and compared with the current length.
//!
//! Bulk operations (`memory.fill`, `memory.copy` within one memory) check `start + len`
//! against the length, the sum trapping on overflow for 64-bit memories.

use super::FuncTranslator;
use crate::error::{unsupported, Result};
use cranelift_codegen::ir;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use kiln_abi::builtins::Builtin;
use kiln_abi::TrapCode;
use std::collections::HashSet;
use wasmparser::MemArg;

/// With explicit bounds checks, the number of memories whose base and length are loaded
/// in front of every loop (`load_memory_bounds_before_loop`).
const MEMORIES_KEPT: usize = 4;

impl FuncTranslator<'_, '_> {
    /// Flags of a heap access: little endian, may trap with `out of bounds memory access`,
    /// in the heap's alias region (`abi::heap_access`).
    pub(super) fn heap_flags(&mut self) -> MemFlagsData {
        let flags = MemFlagsData::new()
            .with_endianness(Endianness::Little)
            .with_trap_code(Some(crate::traps::ir_trap_code(
                TrapCode::MemoryOutOfBounds,
            )));
        crate::abi::heap_access(self.builder.func, flags)
    }

    /// Whether an access of `size` bytes at static `offset` to a 32-bit memory must be
    /// checked explicitly (64-bit memories: `check_memory64_access`).
    fn needs_bounds_check(&self, offset: u64, size: u64) -> bool {
        let settings = self.env.memory_settings;
        if settings.bounds_checks {
            return true;
        }
        // The settings are checked (`MemorySettings::checked`): nothing here may saturate
        // into "covered"; an overflow means the access needs its check.
        let covered = settings.reservation.checked_add(settings.guard_size);
        let reach = (1u64 << 32)
            .checked_add(offset)
            .and_then(|end| end.checked_add(size));
        match (reach, covered) {
            (Some(reach), Some(covered)) => reach > covered,
            _ => true,
        }
    }

    /// The base to add an access's index to in memory `memory`: the fixed address of the
    /// first memory for an index computed at run time (no register held for the base),
    /// else [`Self::memory_base`]. A constant index (a C global's address) keeps the loaded
    /// base: with the fixed address it would be a constant address, which Cranelift
    /// materializes in a register (`mov $imm32, %r`) before every access.
    fn access_base(&mut self, memory: u32, constant_index: bool) -> Value {
        let Some(fixed) = self.memory0_fixed.filter(|_| memory == 0) else {
            return self.memory_base(memory);
        };
        if constant_index {
            self.memory0_accesses.constant += 1;
            self.memory_base(memory)
        } else {
            self.memory0_accesses.computed += 1;
            fixed
        }
    }

    /// Whether `value` is an `iconst`'s result.
    fn is_iconst(&self, value: Value) -> bool {
        let dfg = &self.builder.func.dfg;
        dfg.value_def(value)
            .inst()
            .is_some_and(|inst| dfg.insts[inst].opcode() == ir::Opcode::Iconst)
    }

    /// Once the function is translated, keeps the fixed address of the first memory for
    /// its accesses with a computed index, unless the function has more than a quarter as
    /// many accesses at constant addresses: those keep the loaded base in a register
    /// anyway, and left with fewer uses the register allocator spills it and reloads it
    /// at each (sightglass richards' hot function: 3.3% more instructions for the
    /// program). Then the fixed address's `iconst` becomes a copy of the base's load.
    pub(super) fn settle_memory0_base(&mut self) {
        let (Some(fixed), Some(loaded)) = (self.memory0_fixed, self.memory0_base) else {
            return;
        };
        let accesses = self.memory0_accesses;
        if accesses.constant.saturating_mul(4) <= accesses.computed {
            return;
        }
        let dfg = &mut self.builder.func.dfg;
        let (Some(fixed), Some(load)) = (dfg.value_def(fixed).inst(), dfg.value_def(loaded).inst())
        else {
            return;
        };
        dfg.insts[fixed] = dfg.insts[load];
    }

    /// The base address of memory `memory`: loaded once per function for a first memory
    /// that never moves, else where it is used.
    fn memory_base(&mut self, memory: u32) -> Value {
        match (memory, self.memory0_base) {
            (0, Some(base)) => base,
            _ => self.env.memory_base(&mut self.builder, self.vmctx, memory),
        }
    }

    /// With explicit bounds checks, loads every memory's base and length in front of a
    /// loop that accesses memory and makes no call ([`loops_keeping_memory_bounds`]):
    /// memories move and grow only in calls, so the accesses inside the loop, which load
    /// them again, get these loads' values from Cranelift's alias analysis (the
    /// definitions have an alias region of their own, `abi::MEMORY_DEFINITION_REGION`),
    /// and the loop keeps base and length in registers as guard pages would let it keep
    /// the base. Only the first [`MEMORIES_KEPT`] memories: a module may declare
    /// thousands.
    pub(super) fn load_memory_bounds_before_loop(&mut self) {
        if !self.reachable || !self.loops_keeping_memory_bounds.contains(&self.offset) {
            return;
        }
        let n_memories = self.env.info.metadata.memories.len().min(MEMORIES_KEPT);
        for memory in 0..n_memories as u32 {
            self.env.memory_base(&mut self.builder, self.vmctx, memory);
            self.env
                .memory_length(&mut self.builder, self.vmctx, memory);
        }
    }

    /// Whether memory `memory` is indexed by i64.
    pub(super) fn is_memory64(&self, memory: u32) -> bool {
        self.env.info.metadata.memories[memory as usize].memory64
    }

    /// The native address of the `len` bytes at `start` (64-bit values: zero-extended for
    /// a 32-bit memory) in memory `memory`, trapping with `out of bounds memory access`
    /// unless all of them lie within its current length. The check of `memory.copy` and
    /// `memory.fill`, which must trap before writing anything.
    pub(super) fn bulk_memory_address(&mut self, memory: u32, start: Value, len: Value) -> Value {
        let end = if self.is_memory64(memory) {
            self.builder.ins().uadd_overflow_trap(
                start,
                len,
                crate::traps::ir_trap_code(TrapCode::MemoryOutOfBounds),
            )
        } else {
            // Two zero-extended 32-bit values cannot overflow 64 bits.
            self.builder.ins().iadd(start, len)
        };
        self.trap_past_length(memory, end);
        let base = self.memory_base(memory);
        self.builder.ins().iadd(base, start)
    }

    /// Traps with `out of bounds memory access` if `end` (an exclusive byte offset) is past
    /// memory `memory`'s current length.
    fn trap_past_length(&mut self, memory: u32, end: Value) {
        let length = self
            .env
            .memory_length(&mut self.builder, self.vmctx, memory);
        let out_of_bounds = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, length);
        self.builder.ins().trapnz(
            out_of_bounds,
            crate::traps::ir_trap_code(TrapCode::MemoryOutOfBounds),
        );
    }

    /// The native address of an access of `size` bytes described by `memarg`, with the
    /// index popped from the stack. Emits the bounds check when one is needed.
    pub(super) fn heap_address(&mut self, memarg: &MemArg, size: u64) -> Result<Value> {
        let wasmparser::MemArgTarget::Memory(memory) = memarg.target else {
            return Err(unsupported("GC array accesses", self.offset));
        };
        let popped = self.pop();
        let memory64 = self.is_memory64(memory);
        // `core + term` does not wrap: `term` joins the static offset, which Cranelift
        // folds into the access's displacement where the sum took an `lea`.
        let (core, term) = if memory64 {
            (popped, 0)
        } else {
            self.split_constant_term(memory, popped)
        };
        let offset = memarg.offset + term;
        let constant_index = self.is_iconst(core);
        let index = self.extend_to_i64(core);
        if memory64 {
            self.check_memory64_access(memory, index, offset, size);
        } else {
            if self.needs_bounds_check(offset, size) {
                // A 32-bit index plus a 33-bit offset cannot overflow 64 bits.
                let end = self.builder.ins().iadd_imm_s(index, (offset + size) as i64);
                self.trap_past_length(memory, end);
            }
            // Past this access (which traps otherwise), both indexes are below the
            // memory's length, and memories never shrink.
            if let Some(block) = self.builder.current_block() {
                for accessed in [popped, core] {
                    self.memory32_accessed.insert((memory, accessed), block);
                }
            }
        }
        let base = self.access_base(memory, constant_index);
        let address = self.builder.ins().iadd(base, index);
        Ok(if offset == 0 {
            address
        } else {
            self.builder.ins().iadd_imm_s(address, offset as i64)
        })
    }

    /// `index` of 32-bit memory `memory` as a core value and a constant term to add to
    /// the static offset: `(x, c)` when `index` is `x + c` (an `i32.add` of a constant
    /// `c`, which wasm wraps at 2^32) and that sum cannot wrap, `(index, 0)` otherwise.
    /// It cannot wrap when an access at index `x` ran earlier in the same block (so `x`
    /// is below the memory's length) and `c` is at most the memory's headroom below 2^32
    /// (`abi::memory_headroom`). Compilers leave such sums in wasm wherever they cannot
    /// prove them free of wrapping: `p[1]` after `p[0]`, a field after another.
    fn split_constant_term(&self, memory: u32, index: Value) -> (Value, u64) {
        let headroom = self.env.memory_headroom[memory as usize];
        let func = &*self.builder.func;
        let Some(ir::InstructionData::Binary {
            opcode: ir::Opcode::Iadd,
            args,
        }) = super::defining(func, func.dfg.resolve_aliases(index))
        else {
            return (index, 0);
        };
        let block = self.builder.current_block();
        for (core, term) in [(args[0], args[1]), (args[1], args[0])] {
            // The constant's 32 bits, as wasm adds them.
            let Some(term) = super::constant(func, term).map(|c| u64::from(c as u32)) else {
                continue;
            };
            let core = func.dfg.resolve_aliases(core);
            let accessed = self.memory32_accessed.get(&(memory, core)).copied();
            if term > 0 && term <= headroom && accessed.is_some() && accessed == block {
                return (core, term);
            }
        }
        (index, 0)
    }

    /// Traps with `out of bounds memory access` unless the `size` bytes at `index +
    /// offset` (a 64-bit index) lie within 64-bit memory `memory`. See the file's comment.
    fn check_memory64_access(&mut self, memory: u32, index: Value, offset: u64, size: u64) {
        // A check made earlier in this block for the same index and at least this reach
        // still holds: memories never shrink, and neither check depends on where the
        // memory is (with `bounds_checks`, where it may move, the base is reloaded).
        let access = offset.saturating_add(size);
        let block = self.builder.current_block();
        if let Some(&(checked_block, checked)) = self.memory64_checked.get(&(memory, index)) {
            if Some(checked_block) == block && access <= checked {
                return;
            }
        }
        self.emit_memory64_check(memory, index, offset, size);
        if let (Some(block), Some(access)) =
            (self.builder.current_block(), offset.checked_add(size))
        {
            self.memory64_checked
                .insert((memory, index), (block, access));
        }
    }

    /// The check of `check_memory64_access`, emitted.
    fn emit_memory64_check(&mut self, memory: u32, index: Value, offset: u64, size: u64) {
        let settings = self.env.memory_settings;
        let mapped = settings.reservation.checked_add(settings.guard_size);
        let fast_limit = match (settings.bounds_checks, mapped, offset.checked_add(size)) {
            (false, Some(mapped), Some(access)) => mapped.checked_sub(access),
            _ => None,
        };
        // The settings are checked (`MemorySettings::checked`): the mapping is below 2^63.
        let Some(fast_limit) = fast_limit.and_then(|limit| i64::try_from(limit).ok()) else {
            self.trap_past_length_64(memory, index, offset, size);
            return;
        };
        let beyond_mapping = self.builder.create_block();
        let checked = self.builder.create_block();
        let outside = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThan, index, fast_limit);
        self.builder
            .ins()
            .brif(outside, beyond_mapping, &[], checked, &[]);
        self.builder.set_cold_block(beyond_mapping);
        self.builder.switch_to_block(beyond_mapping);
        self.builder.seal_block(beyond_mapping);
        self.trap_past_length_64(memory, index, offset, size);
        self.builder.ins().jump(checked, &[]);
        self.builder.switch_to_block(checked);
        self.builder.seal_block(checked);
    }

    /// Traps with `out of bounds memory access` unless `index + offset + size` (a 64-bit
    /// index, the sums trapping on overflow) is within memory `memory`'s current length.
    fn trap_past_length_64(&mut self, memory: u32, index: Value, offset: u64, size: u64) {
        let trap = crate::traps::ir_trap_code(TrapCode::MemoryOutOfBounds);
        let end = match offset.checked_add(size) {
            Some(access) => {
                let access = self.builder.ins().iconst(types::I64, access as i64);
                self.builder.ins().uadd_overflow_trap(index, access, trap)
            }
            None => {
                // `offset + size` is past 2^64: one of the two sums overflows and traps.
                let offset = self.builder.ins().iconst(types::I64, offset as i64);
                let start = self.builder.ins().uadd_overflow_trap(index, offset, trap);
                let size = self.builder.ins().iconst(types::I64, size as i64);
                self.builder.ins().uadd_overflow_trap(start, size, trap)
            }
        };
        self.trap_past_length(memory, end);
    }

    /// `value` as an i64: zero-extended when it is an i32 (an index, length or size of a
    /// 32-bit memory or table), as it is otherwise.
    pub(super) fn extend_to_i64(&mut self, value: Value) -> Value {
        if self.builder.func.dfg.value_type(value) == types::I32 {
            self.builder.ins().uextend(types::I64, value)
        } else {
            value
        }
    }

    /// A load of `memory_type` bytes, extended (signed or not) to `result_type`.
    pub(super) fn translate_load(
        &mut self,
        memarg: &MemArg,
        memory_type: Type,
        result_type: Type,
        signed: bool,
    ) -> Result<()> {
        let address = self.heap_address(memarg, u64::from(memory_type.bytes()))?;
        let flags = self.heap_flags();
        if memory_type == types::I8 && !signed {
            self.byte_loads = self.byte_loads.saturating_add(1);
        }
        let ins = self.builder.ins();
        let value = match (memory_type.bytes(), result_type.bytes(), signed) {
            (a, b, _) if a == b => ins.load(result_type, flags, address, 0),
            (1, _, true) => ins.sload8(result_type, flags, address, 0),
            (1, _, false) => ins.uload8(result_type, flags, address, 0),
            (2, _, true) => ins.sload16(result_type, flags, address, 0),
            (2, _, false) => ins.uload16(result_type, flags, address, 0),
            (4, _, true) => ins.sload32(flags, address, 0),
            (4, _, false) => ins.uload32(flags, address, 0),
            _ => unreachable!("no other wasm load widths"),
        };
        self.push(value);
        Ok(())
    }

    /// A store of the popped value, truncated to `narrow` when given.
    pub(super) fn translate_store(&mut self, memarg: &MemArg, narrow: Option<Type>) -> Result<()> {
        let value = self.pop();
        let value_type = self.builder.func.dfg.value_type(value);
        let stored_type = narrow.unwrap_or(value_type);
        let address = self.heap_address(memarg, u64::from(stored_type.bytes()))?;
        // A narrow store is a full-width store of the truncated value rather than
        // `istore8/16/32`: the optimiser folds a truncated constant, and a constant store
        // becomes one `mov $imm, mem` instead of a register load plus a store.
        let value = match narrow {
            Some(narrow) => self.builder.ins().ireduce(narrow, value),
            None => value,
        };
        let flags = self.heap_flags();
        self.builder.ins().store(flags, value, address, 0);
        Ok(())
    }

    pub(super) fn translate_memory_size(&mut self, memory: u32) {
        let length = self
            .env
            .memory_length(&mut self.builder, self.vmctx, memory);
        let pages = self
            .builder
            .ins()
            .ushr_imm_s(length, kiln_abi::WASM_PAGE_SIZE.trailing_zeros() as i64);
        let pages = if self.is_memory64(memory) {
            pages
        } else {
            self.builder.ins().ireduce(types::I32, pages)
        };
        self.push(pages);
    }

    /// `memory.grow`: the old size in pages, or -1 (`u64::MAX` from the builtin, truncated
    /// for a 32-bit memory) when it cannot grow.
    pub(super) fn translate_memory_grow(&mut self, memory: u32) {
        let delta = self.pop();
        let delta = self.extend_to_i64(delta);
        let memory_index = self.builder.ins().iconst(types::I32, i64::from(memory));
        let old = self
            .env
            .call_builtin(
                &mut self.builder,
                self.vmctx,
                Builtin::MemoryGrow,
                &[memory_index, delta],
            )
            .expect("memory.grow returns the old size");
        let old = if self.is_memory64(memory) {
            old
        } else {
            self.builder.ins().ireduce(types::I32, old)
        };
        self.push(old);
    }
}

/// The offsets of the `loop`s of `body` whose base and length loads in front of them pay
/// (`load_memory_bounds_before_loop`): loops that access memory and contain no call and
/// nothing else that ends what Cranelift knows of memory (a store outside the heap, as
/// `global.set`). The loads are only worth it there: elsewhere nothing would use them.
/// Performance only: which loops get them changes no result, since the alias analysis
/// uses a load in front of a loop only where nothing between could have changed it. One
/// pass over the body (each construct's facts are merged into its parent's at its `end`).
pub(super) fn loops_keeping_memory_bounds(
    body: &wasmparser::FunctionBody<'_>,
) -> Result<HashSet<u64>> {
    use wasmparser::Operator as O;
    /// What an open block, loop or if holds so far.
    struct Construct {
        /// The offset of the `loop`, if it is one.
        loop_offset: Option<u64>,
        accesses_memory: bool,
        forgets_memory: bool,
    }
    let mut open: Vec<Construct> = Vec::new();
    let mut keeping = HashSet::new();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        let (accesses_memory, forgets_memory) = match &op {
            O::Block { .. }
            | O::If { .. }
            | O::Loop { .. }
            | O::TryTable { .. }
            | O::Try { .. } => {
                open.push(Construct {
                    loop_offset: matches!(op, O::Loop { .. }).then_some(offset),
                    accesses_memory: false,
                    // Handlers are entered from calls.
                    forgets_memory: matches!(op, O::TryTable { .. } | O::Try { .. }),
                });
                continue;
            }
            O::End => {
                let Some(construct) = open.pop() else {
                    continue;
                };
                if let Some(loop_offset) = construct.loop_offset {
                    if construct.accesses_memory && !construct.forgets_memory {
                        keeping.insert(loop_offset);
                    }
                }
                (construct.accesses_memory, construct.forgets_memory)
            }
            op => (accesses_memory(op), forgets_memory(op)),
        };
        if let Some(parent) = open.last_mut() {
            parent.accesses_memory |= accesses_memory;
            parent.forgets_memory |= forgets_memory;
        }
    }
    Ok(keeping)
}

/// Whether `op` loads or stores linear memory.
fn accesses_memory(op: &wasmparser::Operator<'_>) -> bool {
    use wasmparser::Operator as O;
    matches!(
        op,
        O::I32Load { .. }
            | O::I64Load { .. }
            | O::F32Load { .. }
            | O::F64Load { .. }
            | O::I32Load8S { .. }
            | O::I32Load8U { .. }
            | O::I32Load16S { .. }
            | O::I32Load16U { .. }
            | O::I64Load8S { .. }
            | O::I64Load8U { .. }
            | O::I64Load16S { .. }
            | O::I64Load16U { .. }
            | O::I64Load32S { .. }
            | O::I64Load32U { .. }
            | O::I32Store { .. }
            | O::I64Store { .. }
            | O::F32Store { .. }
            | O::F64Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. }
            | O::I64Store8 { .. }
            | O::I64Store16 { .. }
            | O::I64Store32 { .. }
            | O::V128Load { .. }
            | O::V128Store { .. }
            | O::V128Load8x8S { .. }
            | O::V128Load8x8U { .. }
            | O::V128Load16x4S { .. }
            | O::V128Load16x4U { .. }
            | O::V128Load32x2S { .. }
            | O::V128Load32x2U { .. }
            | O::V128Load8Splat { .. }
            | O::V128Load16Splat { .. }
            | O::V128Load32Splat { .. }
            | O::V128Load64Splat { .. }
            | O::V128Load32Zero { .. }
            | O::V128Load64Zero { .. }
            | O::V128Load8Lane { .. }
            | O::V128Load16Lane { .. }
            | O::V128Load32Lane { .. }
            | O::V128Load64Lane { .. }
            | O::V128Store8Lane { .. }
            | O::V128Store16Lane { .. }
            | O::V128Store32Lane { .. }
            | O::V128Store64Lane { .. }
    )
}

/// Whether `op` is, or may be, a call or a store outside the heap, after which Cranelift
/// knows nothing of a memory's base and length any more.
fn forgets_memory(op: &wasmparser::Operator<'_>) -> bool {
    use wasmparser::Operator as O;
    matches!(
        op,
        O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::GlobalSet { .. }
            | O::MemoryGrow { .. }
            | O::MemoryCopy { .. }
            | O::MemoryFill { .. }
            | O::MemoryInit { .. }
            | O::DataDrop { .. }
            | O::TableGet { .. }
            | O::TableSet { .. }
            | O::TableGrow { .. }
            | O::TableFill { .. }
            | O::TableCopy { .. }
            | O::TableInit { .. }
            | O::ElemDrop { .. }
            | O::Throw { .. }
            | O::ThrowRef
            | O::Rethrow { .. }
    )
}

/// How many accesses to the first memory a function has, by kind of index
/// ([`FuncTranslator::settle_memory0_base`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory0Accesses {
    /// Accesses with an `i32.const` index.
    pub constant: u32,
    /// Accesses with an index computed at run time.
    pub computed: u32,
}
