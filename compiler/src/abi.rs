//! The compiler's side of the contract with the runtime, and the only compiler file that
//! reads offsets into runtime structures (all taken from `kiln_abi`): where things live
//! relative to `vmctx`, inside a `VMFuncRef`, a table and a `ValRaw` array, and where the
//! object's tables are pointed to from the module descriptor; how builtins and other
//! functions are called; and which Cranelift types wasm values get. The translator
//! (`translate/`), the trampolines and `object.rs` ask this file and compute no offset
//! themselves.
//!
//! (Named `abi`, not `vm_abi`: inside the compiler it is always `crate::abi`, and the
//! contract crate always `kiln_abi`, so the two never meet under one name.)

use crate::module_info::ModuleInfo;
use cranelift_codegen::ir::{
    self, types, AbiParam, ArgumentPurpose, InstBuilder, MemFlagsData, Signature, StackSlotData,
    StackSlotKind, Type, Value,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::FunctionBuilder;
use cranelift_module::{DataId, FuncId};
use kiln_abi::builtins::{AbiType, Builtin};
use kiln_abi::descriptor::DESCRIPTOR_CODE_BASE;
use kiln_abi::descriptor::{DESCRIPTOR_CODE, DESCRIPTOR_MEMORY_IMAGE, DESCRIPTOR_PROFILE};
use kiln_abi::descriptor::{DESCRIPTOR_METADATA, DESCRIPTOR_TABLES};
use kiln_abi::metadata::{FuncType, MemorySettings, ValType};
use kiln_abi::vmctx::{self, VMOffsets};
use kiln_abi::vmctx::{VALRAW_SIZE, VMHOST_ARRAY_CALL};

/// The calling convention of every wasm function (see ARCHITECTURE.md).
pub const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// Module-wide facts every function translation shares; read-only, so functions can be
/// translated in parallel.
pub struct ModuleEnv<'a> {
    /// The module being compiled.
    pub info: &'a ModuleInfo<'a>,
    /// Layout of the module's `vmctx`: read in this file only.
    offsets: VMOffsets,
    /// Cranelift ids of the defined functions, by defined index; `None` for a function
    /// nothing can run, which is not compiled (`reachability.rs`).
    pub func_ids: Vec<Option<FuncId>>,
    /// The host's calling convention (for builtins and host calls).
    pub host_call_conv: CallConv,
    /// Memory layout the code is compiled for.
    pub memory_settings: MemorySettings,
    /// The target's frontend configuration.
    pub frontend_config: cranelift_codegen::isa::TargetFrontendConfig,
    /// How relaxed SIMD operators are lowered (`CompileOptions::relaxed_simd`).
    pub relaxed_simd: crate::translate::RelaxedLowering,
    /// Which calls may throw (`throws.rs`); everything until the pipeline sets it.
    pub throws: crate::throws::MayThrow,
    /// Which tables are fixed after instantiation, and their code tables (`devirt.rs`);
    /// nothing is fixed unless the pipeline sets it.
    pub devirt: crate::devirt::Devirt,
    /// The entry counters when the code counts (`--profile-generate`, see
    /// [`ModuleEnv::count_entry`]).
    pub profile_counters: Option<DataId>,
    /// The builtins the translated code calls, bit `Builtin as u32` each (set by the
    /// translating threads, see [`crate::CompileOptions::builtins_used`]).
    pub builtins_used: std::sync::atomic::AtomicU32,
    /// By memory: for a 32-bit memory, how far below 2^32 its length always stays
    /// ([`memory_headroom`]); 0 for a 64-bit memory.
    pub memory_headroom: Vec<u64>,
}

/// How many bytes below 2^32 the length of 32-bit memory `memory` of `metadata` always
/// stays, compiled with `settings`: 2^32 less the largest length it can reach. A defined
/// memory grows to its declared maximum and, unless every access is checked (when the
/// memory may move), to its reservation; an imported one, made by another module with
/// another layout, to its declared maximum (an import's memory's maximum is at most the
/// one declared). An index `x` that was accessed is below that length, so `x + c` does not
/// wrap for a constant `c` up to the headroom (`translate/memory.rs`).
pub fn memory_headroom(
    metadata: &kiln_abi::metadata::ModuleMetadata<'_>,
    settings: MemorySettings,
    memory: usize,
) -> u64 {
    let ty = &metadata.memories[memory];
    if ty.memory64 {
        return 0;
    }
    let index_space = 1u64 << 32;
    let page = kiln_abi::WASM_PAGE_SIZE;
    let mut largest = ty
        .max_pages
        .map_or(index_space, |max| max.saturating_mul(page));
    let imported =
        (memory as u32) < metadata.imported_count(kiln_abi::metadata::ExternKind::Memory);
    if !imported && !settings.bounds_checks {
        largest = largest.min(settings.reservation);
    }
    index_space.saturating_sub(largest)
}

/// The pointer type of every supported target.
pub const POINTER: Type = types::I64;

/// Flags for loads of `vmctx` fields that never change while an instance lives: such
/// loads are pure, so Cranelift may share, hoist or drop them.
pub fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Flags for loads and stores of `vmctx` fields that may change.
pub fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// The alias region of linear memories' bytes: every wasm load and store
/// (`translate/memory.rs`), and nothing else that compiled code reads or writes.
const HEAP_REGION: u32 = 1;

/// The alias region of the `base` and `length` fields of memories' `VMMemoryDefinition`s,
/// which only the runtime writes (on `memory.grow`, a call). Being apart from the heap is
/// what lets Cranelift keep a loaded base and length across wasm stores, where explicit
/// bounds checks reload them at every access (`--bounds-checks`: instructions executed
/// 1.02–2.36× those of guard pages before the regions; see benches/README.md, "What
/// explicit bounds checks cost").
const MEMORY_DEFINITION_REGION: u32 = 2;

/// `flags` in alias region `user_id` of `func` (the ids are the same in every function,
/// so inlining merges the callee's regions into the caller's).
fn in_region(
    func: &mut ir::Function,
    flags: MemFlagsData,
    user_id: u32,
    description: &'static str,
) -> MemFlagsData {
    let region = func.dfg.alias_regions.insert(ir::AliasRegionData {
        user_id,
        description: description.into(),
    });
    flags.with_alias_region(Some(region))
}

/// `flags` for an access to linear memory in `func` ([`HEAP_REGION`]).
pub fn heap_access(func: &mut ir::Function, flags: MemFlagsData) -> MemFlagsData {
    in_region(func, flags, HEAP_REGION, "heap")
}

/// Flags of a load of a memory's base or length in `func` ([`MEMORY_DEFINITION_REGION`]).
fn memory_definition_field(func: &mut ir::Function, flags: MemFlagsData) -> MemFlagsData {
    in_region(func, flags, MEMORY_DEFINITION_REGION, "memory definitions")
}

/// The Cranelift type of a wasm value.
pub fn ir_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
        ValType::Ref(_) => POINTER,
    }
}

/// The wasm calling convention's signature for a function of type `ty`:
/// `(callee_vmctx, params..., caller_vmctx) -> results`, what every caller that may reach
/// a host function uses (imports, `call_indirect`, `call_ref`, the entry trampolines).
pub fn wasm_signature(ty: &FuncType) -> Signature {
    let mut signature = defined_signature_without_caller(ty);
    signature.params.push(AbiParam::new(POINTER));
    signature
}

/// The signature defined function of type `ty` is compiled with, and direct calls use:
/// [`wasm_signature`] without its trailing `caller_vmctx` when every parameter of that
/// signature travels in a register. Only host functions read `caller_vmctx`, and they are
/// never called directly, so a direct call does not set it; a caller through a
/// `VMFuncRef` still passes it, in a register the callee ignores. Where the full
/// signature passes something on the stack, the callee (which pops its stack arguments in
/// the `tail` convention) must be declared with it, and the context is kept.
pub fn defined_signature(ty: &FuncType) -> Signature {
    if caller_in_register(ty) {
        defined_signature_without_caller(ty)
    } else {
        wasm_signature(ty)
    }
}

/// Whether [`defined_signature`] leaves out `caller_vmctx`.
pub fn caller_in_register(ty: &FuncType) -> bool {
    // Cranelift's `tail` convention passes six integer arguments in registers on both
    // targets (x86_64 `rdi`, `rsi`, `rdx`, `rcx`, `r8`, `r9`; aarch64 `x2`-`x7`) and
    // floating-point and vector ones in their own registers, which the contexts do not use.
    // A function whose results need a return area gets its pointer as one more integer
    // argument on x86_64; two results of each class always return in registers, so only
    // functions with more may need it (counted as if they did).
    const INTEGER_ARGUMENT_REGISTERS: usize = 6;
    let integers = |types: &[ValType]| types.iter().filter(|t| ir_type(**t).is_int()).count();
    let others = |types: &[ValType]| types.len() - integers(types);
    let return_area = integers(&ty.results) > 2 || others(&ty.results) > 2;
    integers(&ty.params) + 2 + usize::from(return_area) <= INTEGER_ARGUMENT_REGISTERS
}

fn defined_signature_without_caller(ty: &FuncType) -> Signature {
    let mut signature = Signature::new(WASM_CALL_CONV);
    signature
        .params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    signature
        .params
        .extend(ty.params.iter().map(|t| AbiParam::new(ir_type(*t))));
    signature
        .returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    signature
}

/// The arguments of a call with [`wasm_signature`].
pub fn wasm_call_args(callee_vmctx: Value, args: &[Value], caller_vmctx: Value) -> Vec<Value> {
    let mut call_args = Vec::with_capacity(args.len() + 2);
    call_args.push(callee_vmctx);
    call_args.extend_from_slice(args);
    call_args.push(caller_vmctx);
    call_args
}

/// The arguments of a direct call to a defined function of type `ty`, with
/// [`defined_signature`].
pub fn direct_call_args(ty: &FuncType, vmctx: Value, args: &[Value]) -> Vec<Value> {
    let mut call_args = wasm_call_args(vmctx, args, vmctx);
    if caller_in_register(ty) {
        call_args.pop();
    }
    call_args
}

fn abi_type(ty: AbiType) -> Type {
    match ty {
        AbiType::Pointer => POINTER,
        AbiType::I32 => types::I32,
        AbiType::I64 => types::I64,
    }
}

impl<'a> ModuleEnv<'a> {
    /// The environment for compiling `info` for `isa` with `memory_settings`, its defined
    /// functions declared as `func_ids` (`None` for those left out).
    pub fn new(
        info: &'a ModuleInfo<'a>,
        func_ids: Vec<Option<FuncId>>,
        isa: &dyn TargetIsa,
        memory_settings: MemorySettings,
    ) -> Self {
        ModuleEnv {
            info,
            offsets: VMOffsets::new(info.metadata.vm_counts()),
            func_ids,
            host_call_conv: isa.default_call_conv(),
            memory_settings,
            frontend_config: isa.frontend_config(),
            relaxed_simd: crate::translate::RelaxedLowering::new(isa, Default::default()),
            throws: crate::throws::MayThrow::everything(info),
            devirt: Default::default(),
            profile_counters: None,
            builtins_used: Default::default(),
            memory_headroom: (0..info.metadata.memories.len())
                .map(|memory| memory_headroom(&info.metadata, memory_settings, memory))
                .collect(),
        }
    }

    /// Counts an entry into defined function `defined_index` when the code counts
    /// (`--profile-generate`): `counters[defined_index] += 1`, a plain load, add and store
    /// of its word in the object's writable counters (`kiln_abi::profile`). Not atomic:
    /// threads that share a module may lose counts, which only makes a profile less exact,
    /// never the program wrong. Inlined with its function, so a call inlined by `--inline`
    /// still counts (`inline::with_symbols_named_as_in`).
    pub fn count_entry(&self, builder: &mut FunctionBuilder, defined_index: u32) {
        let Some(counters) = self.profile_counters else {
            return;
        };
        let name = builder
            .func
            .declare_imported_user_function(ir::UserExternalName {
                namespace: 1,
                index: counters.as_u32(),
            });
        let offset = kiln_abi::profile::counter_offset(defined_index) as i64;
        let counter = builder
            .func
            .create_global_value(ir::GlobalValueData::Symbol {
                name: ir::ExternalName::user(name),
                offset: ir::immediates::Imm64::new(offset),
                colocated: true,
                tls: false,
            });
        let address = builder.ins().symbol_value(POINTER, counter);
        // Always mapped and aligned: the accesses cannot trap.
        let count = builder.ins().load(types::I64, trusted(), address, 0);
        let count = builder.ins().iadd_imm_s(count, 1);
        builder.ins().store(trusted(), count, address, 0);
    }

    /// The Cranelift id of defined function `defined`, which is compiled: only reachable
    /// functions are translated, and their code calls and names only reachable ones (the
    /// roots and the call graph of `reachability.rs` are those operators).
    pub fn func_id(&self, defined: usize) -> FuncId {
        self.func_ids[defined].expect("a function that compiled code names is reachable")
    }

    /// Number of imported functions.
    pub fn n_imported_funcs(&self) -> u32 {
        self.offsets.counts.functions - self.func_ids.len() as u32
    }

    /// The signature of a builtin, in the host calling convention.
    pub fn builtin_signature(&self, builtin: Builtin) -> Signature {
        let (params, result) = builtin.signature();
        let mut signature = Signature::new(self.host_call_conv);
        signature
            .params
            .extend(params.iter().map(|t| AbiParam::new(abi_type(*t))));
        signature
            .returns
            .extend(result.map(|t| AbiParam::new(abi_type(t))));
        signature
    }

    /// Whether memory `index` is imported.
    fn memory_is_imported(&self, index: u32) -> bool {
        index < self.offsets.counts.imported_memories
    }

    /// Address of memory `index`'s `VMMemoryDefinition`.
    pub fn memory_definition(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        index: u32,
    ) -> Value {
        if self.memory_is_imported(index) {
            let offset = self.offsets.imported_memory(index) as i32;
            builder.ins().load(POINTER, readonly(), vmctx, offset)
        } else {
            let defined = index - self.offsets.counts.imported_memories;
            builder
                .ins()
                .iadd_imm_s(vmctx, self.offsets.memory(defined) as i64)
        }
    }

    /// The base address of memory `index`. Memories of code without explicit bounds checks
    /// never move, so their base loads are readonly (shared, hoisted); with explicit
    /// checks a memory may move when it grows, so its base is reloaded after any call.
    pub fn memory_base(&self, builder: &mut FunctionBuilder, vmctx: Value, index: u32) -> Value {
        let flags = if self.memory_settings.bounds_checks {
            trusted()
        } else {
            readonly()
        };
        let flags = memory_definition_field(builder.func, flags);
        if self.memory_is_imported(index) {
            let definition = self.memory_definition(builder, vmctx, index);
            builder
                .ins()
                .load(POINTER, flags, definition, vmctx::VMMEMORY_BASE as i32)
        } else {
            let defined = index - self.offsets.counts.imported_memories;
            let offset = (self.offsets.memory(defined) + vmctx::VMMEMORY_BASE) as i32;
            builder.ins().load(POINTER, flags, vmctx, offset)
        }
    }

    /// The current byte length of memory `index` (changes on grow).
    pub fn memory_length(&self, builder: &mut FunctionBuilder, vmctx: Value, index: u32) -> Value {
        let definition = self.memory_definition(builder, vmctx, index);
        let flags = memory_definition_field(builder.func, trusted());
        builder
            .ins()
            .load(POINTER, flags, definition, vmctx::VMMEMORY_LENGTH as i32)
    }

    /// Address of table `index`'s `VMTableDefinition`.
    pub fn table_definition(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        index: u32,
    ) -> Value {
        if index < self.offsets.counts.imported_tables {
            let offset = self.offsets.imported_table(index) as i32;
            builder.ins().load(POINTER, readonly(), vmctx, offset)
        } else {
            let defined = index - self.offsets.counts.imported_tables;
            builder
                .ins()
                .iadd_imm_s(vmctx, self.offsets.table(defined) as i64)
        }
    }

    /// Base and length of table `index`, both reloaded (tables move when they grow).
    pub fn table_base_and_length(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        index: u32,
    ) -> (Value, Value) {
        let definition = self.table_definition(builder, vmctx, index);
        let base = builder
            .ins()
            .load(POINTER, trusted(), definition, vmctx::VMTABLE_BASE as i32);
        let length =
            builder
                .ins()
                .load(POINTER, trusted(), definition, vmctx::VMTABLE_LENGTH as i32);
        (base, length)
    }

    /// Where global `index` is stored: `(base, offset)`. A defined global sits in `vmctx`
    /// itself and the offset goes into each load and store; computing `vmctx + offset` as
    /// a value of its own instead lets the optimiser share it across the function, one
    /// more long-lived value competing with `vmctx` for a register (measured on
    /// tinygo-regex: `vmctx` spilled and reloaded 1,300 times in its hottest function).
    pub fn global_location(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        index: u32,
    ) -> (Value, i32) {
        if index < self.offsets.counts.imported_globals {
            let offset = self.offsets.imported_global(index) as i32;
            (builder.ins().load(POINTER, readonly(), vmctx, offset), 0)
        } else {
            let defined = index - self.offsets.counts.imported_globals;
            (vmctx, self.offsets.global(defined) as i32)
        }
    }

    /// `(wasm_call, callee_vmctx)` of imported function `index`, from its `VMFuncRef` in
    /// `vmctx.func_refs`.
    pub fn imported_callee(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        index: u32,
    ) -> (Value, Value) {
        load_callee(builder, vmctx, self.offsets.func_ref(index) as i32)
    }

    /// The address of function `index`'s `VMFuncRef` in `vmctx.func_refs` (`ref.func`).
    pub fn func_ref_address(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        index: u32,
    ) -> Value {
        let offset = self.offsets.func_ref(index);
        builder.ins().iadd_imm_s(vmctx, i64::from(offset))
    }

    /// The canonical signature id this instance uses for type `type_index`.
    pub fn type_id(&self, builder: &mut FunctionBuilder, vmctx: Value, type_index: u32) -> Value {
        let offset = self.offsets.type_id(type_index) as i32;
        builder.ins().load(types::I32, readonly(), vmctx, offset)
    }

    /// The address of tag `index` (its identity: the same for every instance that shares
    /// the tag), from `vmctx.tags`.
    pub fn tag_address(&self, builder: &mut FunctionBuilder, vmctx: Value, index: u32) -> Value {
        let offset = self.offsets.tag(index) as i32;
        builder.ins().load(POINTER, readonly(), vmctx, offset)
    }

    /// Calls a builtin through `vmctx.builtins` without looking at its result: the call
    /// instruction, for builtins whose failure the caller handles itself.
    pub fn call_builtin_raw(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        builtin: Builtin,
        args: &[Value],
    ) -> ir::Inst {
        self.builtins_used
            .fetch_or(1 << builtin as u32, std::sync::atomic::Ordering::Relaxed);
        let signature = builder.import_signature(self.builtin_signature(builtin));
        let table = builder
            .ins()
            .load(POINTER, readonly(), vmctx, vmctx::VMCTX_BUILTINS as i32);
        let code = builder
            .ins()
            .load(POINTER, readonly(), table, builtin.offset() as i32);
        let mut call_args = vec![vmctx];
        call_args.extend_from_slice(args);
        builder.ins().call_indirect(signature, code, &call_args)
    }

    /// Calls a builtin through `vmctx.builtins` and returns its results; traps with the
    /// builtin's trap code when it reports failure.
    pub fn call_builtin(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        builtin: Builtin,
        args: &[Value],
    ) -> Option<Value> {
        let call = self.call_builtin_raw(builder, vmctx, builtin, args);
        let result = builder.inst_results(call).first().copied();
        if let (Some(trap), Some(status)) = (builtin.trap_code(), result) {
            builder
                .ins()
                .trapnz(status, crate::traps::ir_trap_code(trap));
            return None;
        }
        result
    }

    /// Declares the prologue stack-limit check: `vmctx.limits.stack_limit`.
    pub fn declare_stack_limit(&self, func: &mut ir::Function) {
        let vmctx = func.create_global_value(ir::GlobalValueData::VMContext);
        let readonly = func
            .dfg
            .mem_flags
            .insert(readonly())
            .expect("few memory flags");
        let trusted = func
            .dfg
            .mem_flags
            .insert(trusted())
            .expect("few memory flags");
        let limits = func.create_global_value(ir::GlobalValueData::Load {
            base: vmctx,
            offset: (vmctx::VMCTX_LIMITS as i32).into(),
            global_type: POINTER,
            flags: readonly,
        });
        let stack_limit = func.create_global_value(ir::GlobalValueData::Load {
            base: limits,
            offset: (vmctx::VMLIMITS_STACK_LIMIT as i32).into(),
            global_type: POINTER,
            flags: trusted,
        });
        func.stack_limit = Some(stack_limit);
    }
}

/// The tag (its address) of the exception object `exception` points to.
pub fn exception_tag(builder: &mut FunctionBuilder, exception: Value) -> Value {
    builder
        .ins()
        .load(POINTER, trusted(), exception, vmctx::VMEXCEPTION_TAG as i32)
}

/// Loads payload value `index` of type `ty` from the exception object at `exception`.
pub fn load_exception_value(
    builder: &mut FunctionBuilder,
    ty: Type,
    exception: Value,
    index: u32,
) -> Value {
    let offset = vmctx::vmexception_value(index) as i32;
    builder.ins().load(ty, valraw_flags(), exception, offset)
}

/// Marks the exception object at `exception` as held by an `exnref` (or by a legacy
/// clause that rethrows it): the store never releases it (see `EXCEPTION_ESCAPED`). Only
/// objects that have been thrown are caught, so the flags become thrown and escaped.
pub fn mark_exception_escaped(builder: &mut FunctionBuilder, exception: Value) {
    let flags = builder.ins().iconst(
        types::I32,
        i64::from(vmctx::EXCEPTION_THROWN | vmctx::EXCEPTION_ESCAPED),
    );
    builder
        .ins()
        .store(trusted(), flags, exception, vmctx::VMEXCEPTION_FLAGS as i32);
}

/// `limits.caught_exception` (see `VMLimits::caught_exception`).
pub fn load_caught_exception(builder: &mut FunctionBuilder, limits: Value) -> Value {
    builder.ins().load(
        POINTER,
        trusted(),
        limits,
        vmctx::VMLIMITS_CAUGHT_EXCEPTION as i32,
    )
}

/// `limits.caught_exception = exception` (see `VMLimits::caught_exception`).
pub fn store_caught_exception(builder: &mut FunctionBuilder, limits: Value, exception: Value) {
    builder.ins().store(
        trusted(),
        exception,
        limits,
        vmctx::VMLIMITS_CAUGHT_EXCEPTION as i32,
    );
}

/// Stores payload value `index` into the exception object at `exception`.
pub fn store_exception_value(
    builder: &mut FunctionBuilder,
    value: Value,
    exception: Value,
    index: u32,
) {
    let offset = vmctx::vmexception_value(index) as i32;
    builder
        .ins()
        .store(valraw_flags(), value, exception, offset);
}

/// `vmctx.limits`: the store's `VMLimits`, the same for the whole call.
pub fn limits_pointer(builder: &mut FunctionBuilder, vmctx: Value) -> Value {
    builder
        .ins()
        .load(POINTER, readonly(), vmctx, vmctx::VMCTX_LIMITS as i32)
}

/// The fuel left, `limits.fuel`.
pub fn load_fuel(builder: &mut FunctionBuilder, limits: Value) -> Value {
    builder
        .ins()
        .load(types::I64, trusted(), limits, vmctx::VMLIMITS_FUEL as i32)
}

/// Writes the fuel left back to `limits.fuel`.
pub fn store_fuel(builder: &mut FunctionBuilder, limits: Value, fuel: Value) {
    builder
        .ins()
        .store(trusted(), fuel, limits, vmctx::VMLIMITS_FUEL as i32);
}

/// `limits.epoch`, the address of the store's epoch counter (fixed for the store).
pub fn epoch_pointer(builder: &mut FunctionBuilder, limits: Value) -> Value {
    builder
        .ins()
        .load(POINTER, readonly(), limits, vmctx::VMLIMITS_EPOCH as i32)
}

/// The epoch counter itself: another thread may change it at any time, so every check
/// loads it again, as an atomic load, which Cranelift never merges with an earlier load of
/// the same address (a plain one in a loop without stores would be, and the loop would
/// never see the change). A `mov` on x86_64, an `ldar` on aarch64.
pub fn load_epoch(builder: &mut FunctionBuilder, epoch_pointer: Value) -> Value {
    builder
        .ins()
        .atomic_load(types::I64, trusted(), epoch_pointer)
}

/// `(wasm_call, callee_vmctx)` of the `VMFuncRef` at `base + offset`.
fn load_callee(builder: &mut FunctionBuilder, base: Value, offset: i32) -> (Value, Value) {
    let code = builder.ins().load(
        POINTER,
        readonly(),
        base,
        offset + vmctx::VMFUNCREF_WASM_CALL as i32,
    );
    let callee_vmctx = builder.ins().load(
        POINTER,
        readonly(),
        base,
        offset + vmctx::VMFUNCREF_VMCTX as i32,
    );
    (code, callee_vmctx)
}

/// `(wasm_call, callee_vmctx)` of the `VMFuncRef` at `func_ref` (`call_indirect`).
pub fn func_ref_callee(builder: &mut FunctionBuilder, func_ref: Value) -> (Value, Value) {
    load_callee(builder, func_ref, 0)
}

/// The canonical signature id of the `VMFuncRef` at `func_ref`.
pub fn func_ref_type_id(builder: &mut FunctionBuilder, func_ref: Value) -> Value {
    builder.ins().load(
        types::I32,
        readonly(),
        func_ref,
        vmctx::VMFUNCREF_TYPE_ID as i32,
    )
}

/// The address of element `index` (a 64-bit value, already checked against the length)
/// of the table whose elements start at `base`.
pub fn table_element_address(builder: &mut FunctionBuilder, base: Value, index: Value) -> Value {
    let byte_offset = builder
        .ins()
        .imul_imm_s(index, i64::from(vmctx::TABLE_ELEMENT_SIZE));
    builder.ins().iadd(base, byte_offset)
}

/// Flags of the trampolines' accesses: a `ValRaw` is little endian on every target.
fn valraw_flags() -> MemFlagsData {
    MemFlagsData::trusted().with_endianness(ir::Endianness::Little)
}

/// Byte offset of slot `i` of a `ValRaw` array.
fn valraw_slot_offset(i: usize) -> i32 {
    (i as u32 * VALRAW_SIZE) as i32
}

/// Loads slot `i` of the `ValRaw` array at `values` as a `ty`.
pub fn load_valraw(builder: &mut FunctionBuilder, ty: Type, values: Value, i: usize) -> Value {
    builder
        .ins()
        .load(ty, valraw_flags(), values, valraw_slot_offset(i))
}

/// Stores `value` into slot `i` of the `ValRaw` array at `values`.
pub fn store_valraw(builder: &mut FunctionBuilder, value: Value, values: Value, i: usize) {
    builder
        .ins()
        .store(valraw_flags(), value, values, valraw_slot_offset(i));
}

/// The address of a new `ValRaw` array of `len` slots in the function's stack frame.
pub fn stack_valraw_array(builder: &mut FunctionBuilder, len: u32) -> Value {
    let slot = builder.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        len * VALRAW_SIZE,
        4,
    ));
    builder.ins().stack_addr(POINTER, slot, 0)
}

/// The host's `array_call` entry point from the `VMHostContext` at `host_vmctx`.
pub fn load_host_array_call(builder: &mut FunctionBuilder, host_vmctx: Value) -> Value {
    builder.ins().load(
        POINTER,
        valraw_flags(),
        host_vmctx,
        VMHOST_ARRAY_CALL as i32,
    )
}

/// The module descriptor's pointer to a function: its code base, the first function in
/// `.text`, when the object has code.
pub fn descriptor_code_base(code_base: Option<FuncId>) -> Vec<(usize, FuncId)> {
    code_base
        .map(|func_id| (DESCRIPTOR_CODE_BASE, func_id))
        .into_iter()
        .collect()
}

/// The module descriptor's pointer fields, each with the data object it points to (the
/// memory image's and the profile counters' only when there are some).
pub fn descriptor_pointers(
    metadata: DataId,
    code: DataId,
    tables: DataId,
    memory_image: Option<DataId>,
    profile_counters: Option<DataId>,
) -> Vec<(usize, DataId)> {
    let mut pointers = vec![
        (DESCRIPTOR_METADATA, metadata),
        (DESCRIPTOR_CODE, code),
        (DESCRIPTOR_TABLES, tables),
    ];
    pointers.extend(memory_image.map(|image| (DESCRIPTOR_MEMORY_IMAGE, image)));
    pointers.extend(profile_counters.map(|counters| (DESCRIPTOR_PROFILE, counters)));
    pointers
}
