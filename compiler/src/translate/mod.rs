//! Function translation: one pass over a function's operators, keeping a value stack of
//! Cranelift values and a stack of control frames, with locals as cranelift-frontend
//! variables. Dispatch is one `match` whose arms are one-liners into the category files:
//! `control.rs`, `variables.rs`, `numeric.rs`, `memory.rs`, `calls.rs`, `tables.rs`,
//! `exceptions.rs` (tags, `throw`, `try_table` and the legacy `try`), and `simd.rs`, which
//! has its own nested match for the 0xFD-prefixed operators (the relaxed ones lowered in
//! `relaxed_simd.rs`). An operator kiln does not support is a named `Unsupported` error.

mod byte_loads;
mod calls;
mod control;
mod devirt;
mod exceptions;
mod limits;
mod memory;
mod numeric;
mod relaxed_simd;
mod simd;
mod tables;
mod variables;
mod vector_loads;

use crate::abi::{defined_signature, ir_type, ModuleEnv};
use crate::error::{unsupported, CompileError, Result};
use control::{ControlFrame, FrameKind};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{self, types, Block, BlockArg, InstBuilder, Type, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_abi::TrapCode;
pub(crate) use relaxed_simd::RelaxedLowering;
use std::collections::HashMap;
use wasmparser::{FunctionBody, Operator};

/// Translates defined function `defined_index` into `func`.
pub fn translate_function(
    env: &ModuleEnv<'_>,
    defined_index: u32,
    body: &FunctionBody<'_>,
    func: &mut ir::Function,
    builder_context: &mut FunctionBuilderContext,
) -> Result<()> {
    let func_index = env.n_imported_funcs() + defined_index;
    let ty = env.info.func_type(func_index);
    func.signature = defined_signature(ty);
    func.name = ir::UserFuncName::user(0, env.func_id(defined_index as usize).as_u32());
    env.declare_stack_limit(func);

    // Every instruction carries the module offset of the wasm it comes from (for backtraces:
    // `pipeline.rs` turns these into the trap and call-site tables); the function's own
    // offset is the base location, which code without one (the prologue) falls back to.
    let function_start = source_location(body.range().start);
    func.params.ensure_base_srcloc(function_start);
    let mut builder = FunctionBuilder::new(func, builder_context);
    builder.set_srcloc(function_start);
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    let params = builder.block_params(entry).to_vec();
    let vmctx = params[0];
    env.count_entry(&mut builder, defined_index);

    let mut locals = Vec::new();
    for (param, value) in ty.params.iter().zip(&params[1..]) {
        let var = builder.declare_var(ir_type(*param));
        builder.def_var(var, *value);
        locals.push(var);
    }
    let mut locals_reader = body.get_locals_reader()?;
    for _ in 0..locals_reader.get_count() {
        let offset = locals_reader.original_position();
        let (count, local_type) = locals_reader.read()?;
        let local_type = crate::module_info::val_type(local_type, offset)?;
        let ty = ir_type(local_type);
        if locals.len() + count as usize > 50_000 {
            return Err(CompileError::Limit(format!(
                "function {func_index} has more than 50000 locals"
            )));
        }
        let zero = zero_value(&mut builder, ty);
        for _ in 0..count {
            let var = builder.declare_var(ty);
            builder.def_var(var, zero);
            locals.push(var);
        }
    }

    let exit = builder.create_block();
    for result in &ty.results {
        builder.append_block_param(exit, ir_type(*result));
    }
    // Only a memory that never moves can have its base loaded once for the whole function.
    let memory0_base = if env.info.metadata.memories.is_empty() || env.memory_settings.bounds_checks
    {
        None
    } else {
        Some(env.memory_base(&mut builder, vmctx, 0))
    };
    let memory0_fixed = env
        .info
        .metadata
        .fixed_memory_address
        .filter(|_| memory0_base.is_some())
        .map(|address| builder.ins().iconst(ir::types::I64, address as i64));
    let mut translator = FuncTranslator {
        builder,
        env,
        vmctx,
        stack: Vec::new(),
        control: vec![ControlFrame {
            kind: FrameKind::Block,
            destination: exit,
            n_params: 0,
            n_results: ty.results.len(),
            stack_height: 0,
            branched_to: false,
            dead: false,
        }],
        reachable: true,
        locals,
        offset: 0,
        memory0_base,
        memory0_fixed,
        memory0_accesses: memory::Memory0Accesses::default(),
        memory64_checked: HashMap::new(),
        memory32_accessed: HashMap::new(),
        byte_loads: 0,
        byte_shifts: 0,
        vector_loads: 0,
        direct_callees: HashMap::new(),
        branch_hints: function_branch_hints(env, func_index, body),
        handlers: Vec::new(),
        limit_checks: None,
        // Fuel and interruption checks store to the store's limits in every loop, which
        // ends what Cranelift knows of memory there: no loop would keep the bounds.
        loops_keeping_memory_bounds: if env.memory_settings.bounds_checks
            && !env.info.metadata.memories.is_empty()
            && !env.info.metadata.fuel
            && !env.info.metadata.interruptible
        {
            memory::loops_keeping_memory_bounds(body)?
        } else {
            std::collections::HashSet::new()
        },
    };
    translator.begin_limit_checks();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        translator.offset = reader.original_position();
        translator
            .builder
            .set_srcloc(source_location(translator.offset));
        let op = reader.read()?;
        translator.translate_operator(op)?;
    }
    translator.settle_memory0_base();
    let (byte_loads, byte_shifts) = (translator.byte_loads, translator.byte_shifts);
    let vector_loads = translator.vector_loads;
    translator.builder.finalize(env.frontend_config);
    // Bytes assembled into an integer take at least two byte loads and a shift by a byte.
    if byte_loads >= 2 && byte_shifts >= 1 {
        byte_loads::combine(func);
    }
    if byte_shifts >= 4 {
        byte_loads::find_byte_swaps(func);
    }
    if vector_loads > 0 {
        vector_loads::type_by_use(func);
    }
    Ok(())
}

/// The instruction data defining `value`, if an instruction defines it.
fn defining(func: &ir::Function, value: Value) -> Option<ir::InstructionData> {
    match func.dfg.value_def(value) {
        ir::ValueDef::Result(inst, _) => Some(func.dfg.insts[inst]),
        _ => None,
    }
}

/// The immediate of `value` when an `iconst` defines it (an `i32`'s may hold its sign
/// extended).
fn constant(func: &ir::Function, value: Value) -> Option<i64> {
    match defining(func, func.dfg.resolve_aliases(value))? {
        ir::InstructionData::UnaryImm {
            opcode: ir::Opcode::Iconst,
            imm,
        } => Some(imm.bits()),
        _ => None,
    }
}

/// The branch hints of function `func_index`, keyed by module offset (the section gives
/// offsets from the start of the body, which is where `body`'s range starts).
fn function_branch_hints(
    env: &ModuleEnv<'_>,
    func_index: u32,
    body: &FunctionBody<'_>,
) -> HashMap<u64, bool> {
    let start = body.range().start;
    env.info
        .branch_hints
        .get(&func_index)
        .map(|hints| {
            hints
                .iter()
                .map(|(offset, taken)| (start + u64::from(*offset), *taken))
                .collect()
        })
        .unwrap_or_default()
}

/// The source location of a tail call's own instruction (`return_call`,
/// `return_call_indirect`) instead of its operator's offset: its jump is recorded by
/// Cranelift as a call site, which `pipeline.rs` leaves out of the call-site table by this
/// mark. The instruction cannot trap, and no module reaches this offset (4 GiB - 2).
pub const TAIL_CALL_LOCATION: u32 = u32::MAX - 1;

/// A module offset as a Cranelift source location (modules are smaller than 4 GiB).
fn source_location(offset: u64) -> ir::SourceLoc {
    ir::SourceLoc::new(offset as u32)
}

fn zero_value(builder: &mut FunctionBuilder, ty: Type) -> Value {
    match ty {
        types::F32 => builder.ins().f32const(0.0),
        types::F64 => builder.ins().f64const(0.0),
        types::I8X16 => {
            let zero = builder.ins().iconst(types::I64, 0);
            let zero = builder.ins().scalar_to_vector(types::I64X2, zero);
            builder.ins().bitcast(
                types::I8X16,
                ir::MemFlagsData::new().with_endianness(ir::Endianness::Little),
                zero,
            )
        }
        _ => builder.ins().iconst(ty, 0),
    }
}

/// Converts values into block arguments.
fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

/// The state of one function's translation.
pub(crate) struct FuncTranslator<'a, 'f> {
    /// Where instructions go.
    pub builder: FunctionBuilder<'f>,
    /// Module-wide facts and the ABI.
    pub env: &'a ModuleEnv<'a>,
    /// This function's `vmctx` parameter.
    pub vmctx: Value,
    /// The wasm value stack.
    pub stack: Vec<Value>,
    /// Open blocks, loops and ifs; the function body is the outermost.
    pub control: Vec<ControlFrame>,
    /// Whether the current position can execute.
    pub reachable: bool,
    /// Parameters and locals.
    pub locals: Vec<Variable>,
    /// Byte offset of the operator being translated, for error messages.
    pub offset: u64,
    /// Base of memory 0, loaded once in the entry block.
    pub memory0_base: Option<Value>,
    /// With the first memory at a fixed address (`ModuleMetadata::fixed_memory_address`):
    /// that address, an `iconst` in the entry block, the base of accesses with a computed
    /// index until [`FuncTranslator::settle_memory0_base`] decides.
    pub memory0_fixed: Option<Value>,
    /// The first memory's accesses so far, by kind of index (with `memory0_fixed`).
    pub memory0_accesses: memory::Memory0Accesses,
    /// 64-bit memory accesses already checked in the current block: (memory, index) to
    /// the block and the largest `offset + size` checked (see `memory.rs`).
    pub memory64_checked: HashMap<(u32, Value), (ir::Block, u64)>,
    /// Indexes of 32-bit memories accessed so far: (memory, index) to the block of the
    /// last access, after which the index is below the memory's length (`memory.rs`).
    pub memory32_accessed: HashMap<(u32, Value), ir::Block>,
    /// How many unsigned byte loads the function has: `byte_loads.rs` looks for byte
    /// loads to combine only where there are two or more (and a shift by whole bytes).
    pub byte_loads: u32,
    /// How many shifts by a constant number of whole bytes the function has:
    /// `byte_loads.rs` looks for byte swaps only where there are four or more, and for
    /// byte loads to combine only where there is one.
    pub byte_shifts: u32,
    /// How many `v128.load`s the function has: `vector_loads.rs` types them by their use
    /// only where there is one.
    pub vector_loads: u32,
    /// Direct-call references already imported into the function.
    pub direct_callees: HashMap<u32, ir::FuncRef>,
    /// Branch hints of this function's `if` and `br_if` instructions, by module offset:
    /// whether each is likely taken.
    pub branch_hints: HashMap<u64, bool>,
    /// The exception handler scopes covering the current position, innermost last.
    pub handlers: Vec<exceptions::HandlerScope>,
    /// Fuel metering and interruption checks, when the module is compiled with them.
    limit_checks: Option<limits::LimitChecks>,
    /// With explicit bounds checks, the offsets of the loops in front of which memories'
    /// bases and lengths are loaded (`memory::loops_keeping_memory_bounds`).
    loops_keeping_memory_bounds: std::collections::HashSet<u64>,
}

impl FuncTranslator<'_, '_> {
    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated wasm never pops an empty stack")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop_n(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    fn peek_n(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    fn trap(&mut self, code: TrapCode) {
        self.builder.ins().trap(crate::traps::ir_trap_code(code));
    }

    fn translate_operator(&mut self, op: Operator<'_>) -> Result<()> {
        use Operator as O;
        if !self.reachable {
            return match op {
                O::Block { .. }
                | O::Loop { .. }
                | O::If { .. }
                | O::TryTable { .. }
                | O::Try { .. } => {
                    self.push_dead_frame();
                    Ok(())
                }
                O::Catch { tag_index } => self.translate_catch(Some(tag_index)),
                O::CatchAll => self.translate_catch(None),
                O::Delegate { relative_depth } => {
                    self.translate_delegate(relative_depth);
                    Ok(())
                }
                O::Else => {
                    self.translate_else();
                    Ok(())
                }
                O::End => {
                    self.translate_end();
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        self.meter(&op);
        match op {
            // Control.
            O::Nop => {}
            O::Unreachable => self.translate_unreachable(),
            O::Block { blockty } => self.translate_block(blockty)?,
            O::Loop { blockty } => self.translate_loop(blockty)?,
            O::If { blockty } => self.translate_if(blockty)?,
            O::Else => self.translate_else(),
            O::End => self.translate_end(),
            O::Br { relative_depth } => self.translate_br(relative_depth),
            O::BrIf { relative_depth } => self.translate_br_if(relative_depth),
            O::BrTable { targets } => self.translate_br_table(targets)?,
            O::Return => self.translate_return(),
            O::Call { function_index } => self.translate_call(function_index),
            O::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(type_index, table_index),
            O::CallRef { type_index } => self.translate_call_ref(type_index),
            O::ReturnCall { function_index } => self.translate_return_call(function_index),
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.translate_return_call_indirect(type_index, table_index),
            O::ReturnCallRef { type_index } => self.translate_return_call_ref(type_index),
            O::BrOnNull { relative_depth } => self.translate_br_on_null(relative_depth),
            O::BrOnNonNull { relative_depth } => self.translate_br_on_non_null(relative_depth),

            // Exceptions.
            O::TryTable { try_table } => self.translate_try_table(try_table)?,
            O::Throw { tag_index } => self.translate_throw(tag_index),
            O::ThrowRef => self.translate_throw_ref(),
            O::Try { blockty } => self.translate_try(blockty)?,
            O::Catch { tag_index } => self.translate_catch(Some(tag_index))?,
            O::CatchAll => self.translate_catch(None)?,
            O::Delegate { relative_depth } => self.translate_delegate(relative_depth),
            O::Rethrow { relative_depth } => self.translate_rethrow(relative_depth),

            // Variables and parametric operators.
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => self.translate_select(),
            O::LocalGet { local_index } => self.translate_local_get(local_index),
            O::LocalSet { local_index } => self.translate_local_set(local_index),
            O::LocalTee { local_index } => self.translate_local_tee(local_index),
            O::GlobalGet { global_index } => self.translate_global_get(global_index),
            O::GlobalSet { global_index } => self.translate_global_set(global_index),

            // Memory.
            O::I32Load { memarg } => self.translate_load(&memarg, types::I32, types::I32, false)?,
            O::I64Load { memarg } => self.translate_load(&memarg, types::I64, types::I64, false)?,
            O::F32Load { memarg } => self.translate_load(&memarg, types::F32, types::F32, false)?,
            O::F64Load { memarg } => self.translate_load(&memarg, types::F64, types::F64, false)?,
            O::I32Load8S { memarg } => self.translate_load(&memarg, types::I8, types::I32, true)?,
            O::I32Load8U { memarg } => {
                self.translate_load(&memarg, types::I8, types::I32, false)?
            }
            O::I32Load16S { memarg } => {
                self.translate_load(&memarg, types::I16, types::I32, true)?
            }
            O::I32Load16U { memarg } => {
                self.translate_load(&memarg, types::I16, types::I32, false)?
            }
            O::I64Load8S { memarg } => self.translate_load(&memarg, types::I8, types::I64, true)?,
            O::I64Load8U { memarg } => {
                self.translate_load(&memarg, types::I8, types::I64, false)?
            }
            O::I64Load16S { memarg } => {
                self.translate_load(&memarg, types::I16, types::I64, true)?
            }
            O::I64Load16U { memarg } => {
                self.translate_load(&memarg, types::I16, types::I64, false)?
            }
            O::I64Load32S { memarg } => {
                self.translate_load(&memarg, types::I32, types::I64, true)?
            }
            O::I64Load32U { memarg } => {
                self.translate_load(&memarg, types::I32, types::I64, false)?
            }
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg } => self.translate_store(&memarg, None)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.translate_store(&memarg, Some(types::I8))?
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.translate_store(&memarg, Some(types::I16))?
            }
            O::I64Store32 { memarg } => self.translate_store(&memarg, Some(types::I32))?,
            O::MemorySize { mem } => self.translate_memory_size(mem),
            O::MemoryGrow { mem } => self.translate_memory_grow(mem),
            O::MemoryCopy { dst_mem, src_mem } => self.translate_memory_copy(dst_mem, src_mem),
            O::MemoryFill { mem } => self.translate_memory_fill(mem),
            O::MemoryInit { data_index, mem } => self.translate_memory_init(data_index, mem),
            O::DataDrop { data_index } => self.translate_data_drop(data_index),

            // References and tables.
            O::RefNull { .. } => self.translate_ref_null(),
            O::RefIsNull => self.translate_ref_is_null(),
            O::RefFunc { function_index } => self.translate_ref_func(function_index),
            O::RefAsNonNull => self.translate_ref_as_non_null(),
            O::TableGet { table } => self.translate_table_get(table),
            O::TableSet { table } => self.translate_table_set(table),
            O::TableSize { table } => self.translate_table_size(table),
            O::TableGrow { table } => self.translate_table_grow(table),
            O::TableFill { table } => self.translate_table_fill(table),
            O::TableCopy {
                dst_table,
                src_table,
            } => self.translate_table_copy(dst_table, src_table),
            O::TableInit { elem_index, table } => self.translate_table_init(elem_index, table),
            O::ElemDrop { elem_index } => self.translate_elem_drop(elem_index),

            // Constants.
            O::I32Const { value } => self.push_iconst(types::I32, value as i64),
            O::I64Const { value } => self.push_iconst(types::I64, value),
            O::F32Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
                self.push(v)
            }
            O::F64Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
                self.push(v)
            }

            // Integer comparisons.
            O::I32Eqz | O::I64Eqz => self.translate_eqz(),
            O::I32Eq | O::I64Eq => self.translate_icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.translate_icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.translate_icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.translate_icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.translate_icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.translate_icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.translate_icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.translate_icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.translate_icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.translate_icmp(IntCC::UnsignedGreaterThanOrEqual),

            // Float comparisons.
            O::F32Eq | O::F64Eq => self.translate_fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.translate_fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.translate_fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.translate_fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.translate_fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.translate_fcmp(FloatCC::GreaterThanOrEqual),

            // Integer arithmetic.
            O::I32Clz | O::I64Clz => self.unary(|b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.unary(|b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.unary(|b, x| b.ins().popcnt(x)),
            O::I32Add | O::I64Add => self.binary(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binary(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binary(|b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.binary(|b, x, y| b.ins().sdiv(x, y)),
            O::I32DivU | O::I64DivU => self.binary(|b, x, y| b.ins().udiv(x, y)),
            O::I32RemS | O::I64RemS => self.binary(|b, x, y| b.ins().srem(x, y)),
            O::I32RemU | O::I64RemU => self.binary(|b, x, y| b.ins().urem(x, y)),
            O::I32And | O::I64And => self.binary(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binary(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binary(|b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => {
                self.count_byte_shift();
                self.binary(|b, x, y| b.ins().ishl(x, y))
            }
            O::I32ShrS | O::I64ShrS => self.binary(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => {
                self.count_byte_shift();
                self.binary(|b, x, y| b.ins().ushr(x, y))
            }
            O::I32Rotl | O::I64Rotl => self.binary(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binary(|b, x, y| b.ins().rotr(x, y)),

            // Float arithmetic.
            O::F32Abs | O::F64Abs => self.unary(|b, x| b.ins().fabs(x)),
            O::F32Neg | O::F64Neg => self.unary(|b, x| b.ins().fneg(x)),
            O::F32Ceil | O::F64Ceil => self.unary(|b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.unary(|b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.unary(|b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.unary(|b, x| b.ins().nearest(x)),
            O::F32Sqrt | O::F64Sqrt => self.unary(|b, x| b.ins().sqrt(x)),
            O::F32Add | O::F64Add => self.binary(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binary(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binary(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binary(|b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.binary(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binary(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.binary(|b, x, y| b.ins().fcopysign(x, y)),

            // Conversions.
            O::I32WrapI64 => self.unary(|b, x| b.ins().ireduce(types::I32, x)),
            O::I64ExtendI32S => self.unary(|b, x| b.ins().sextend(types::I64, x)),
            O::I64ExtendI32U => self.unary(|b, x| b.ins().uextend(types::I64, x)),
            O::I32TruncF32S | O::I32TruncF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint(types::I32, x))
            }
            O::I32TruncF32U | O::I32TruncF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint(types::I32, x))
            }
            O::I64TruncF32S | O::I64TruncF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint(types::I64, x))
            }
            O::I64TruncF32U | O::I64TruncF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint(types::I64, x))
            }
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint_sat(types::I32, x))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint_sat(types::I32, x))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint_sat(types::I64, x))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint_sat(types::I64, x))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unary(|b, x| b.ins().fcvt_from_sint(types::F32, x))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unary(|b, x| b.ins().fcvt_from_uint(types::F32, x))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unary(|b, x| b.ins().fcvt_from_sint(types::F64, x))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unary(|b, x| b.ins().fcvt_from_uint(types::F64, x))
            }
            O::F32DemoteF64 => self.unary(|b, x| b.ins().fdemote(types::F32, x)),
            O::F64PromoteF32 => self.unary(|b, x| b.ins().fpromote(types::F64, x)),
            O::I32ReinterpretF32 => self.translate_reinterpret(types::I32),
            O::I64ReinterpretF64 => self.translate_reinterpret(types::I64),
            O::F32ReinterpretI32 => self.translate_reinterpret(types::F32),
            O::F64ReinterpretI64 => self.translate_reinterpret(types::F64),
            O::I32Extend8S => self.translate_sign_extend(types::I8, types::I32),
            O::I32Extend16S => self.translate_sign_extend(types::I16, types::I32),
            O::I64Extend8S => self.translate_sign_extend(types::I8, types::I64),
            O::I64Extend16S => self.translate_sign_extend(types::I16, types::I64),
            O::I64Extend32S => self.translate_sign_extend(types::I32, types::I64),

            // SIMD (`v128`): a nested match in simd.rs.
            op if simd::is_simd_operator(&op) => self.translate_simd(op)?,

            other if is_gc_operator(&other) => {
                let name = format!("{other:?}");
                let name = name.split([' ', '{']).next().unwrap_or_default();
                return Err(crate::module_info::unsupported_gc(name, self.offset));
            }
            other => return Err(unsupported(format!("operator {other:?}"), self.offset)),
        }
        Ok(())
    }
}

/// Whether `op` belongs to the GC proposal (the 0xFB-prefixed operators and `ref.eq`),
/// which kiln refuses as "unsupported: GC".
fn is_gc_operator(op: &Operator<'_>) -> bool {
    use Operator as O;
    matches!(
        op,
        O::RefEq
            | O::StructNew { .. }
            | O::StructNewDefault { .. }
            | O::StructGet { .. }
            | O::StructGetS { .. }
            | O::StructGetU { .. }
            | O::StructSet { .. }
            | O::ArrayNew { .. }
            | O::ArrayNewDefault { .. }
            | O::ArrayNewFixed { .. }
            | O::ArrayNewData { .. }
            | O::ArrayNewElem { .. }
            | O::ArrayGet { .. }
            | O::ArrayGetS { .. }
            | O::ArrayGetU { .. }
            | O::ArraySet { .. }
            | O::ArrayLen
            | O::ArrayFill { .. }
            | O::ArrayCopy { .. }
            | O::ArrayInitData { .. }
            | O::ArrayInitElem { .. }
            | O::RefTestNonNull { .. }
            | O::RefTestNullable { .. }
            | O::RefCastNonNull { .. }
            | O::RefCastNullable { .. }
            | O::BrOnCast { .. }
            | O::BrOnCastFail { .. }
            | O::AnyConvertExtern
            | O::ExternConvertAny
            | O::RefI31
            | O::I31GetS
            | O::I31GetU
    )
}

/// Helpers shared by the category files.
impl FuncTranslator<'_, '_> {
    fn jump(&mut self, target: Block, args: &[Value]) {
        self.builder.ins().jump(target, &block_args(args));
    }
}
