//! The one translator file that reads the ABI: where things live relative to `vmctx`,
//! how builtins and other functions are called, and which Cranelift types wasm values
//! get. Every other translator file asks this one.

use crate::module_info::ModuleInfo;
use cranelift_codegen::ir::{
    self, types, AbiParam, ArgumentPurpose, InstBuilder, MemFlagsData, Signature, Type, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use cranelift_module::FuncId;
use kiln_abi::builtins::{AbiType, Builtin};
use kiln_abi::metadata::{FuncType, MemorySettings, ValType};
use kiln_abi::vmctx::{self, VMOffsets};

/// The calling convention of every wasm function (see ARCHITECTURE.md).
pub const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// Module-wide facts every function translation shares; read-only, so functions can be
/// translated in parallel.
pub struct ModuleEnv<'a> {
    /// The module being compiled.
    pub info: &'a ModuleInfo<'a>,
    /// Layout of the module's `vmctx`.
    pub offsets: VMOffsets,
    /// Cranelift ids of the defined functions, by defined index.
    pub func_ids: Vec<FuncId>,
    /// The host's calling convention (for builtins and host calls).
    pub host_call_conv: CallConv,
    /// Memory layout the code is compiled for.
    pub memory_settings: MemorySettings,
    /// The target's frontend configuration.
    pub frontend_config: cranelift_codegen::isa::TargetFrontendConfig,
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

/// The Cranelift type of a wasm value.
pub fn ir_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
        ValType::FuncRef | ValType::ExternRef => POINTER,
    }
}

/// The wasm calling convention's signature for a function of type `ty`.
pub fn wasm_signature(ty: &FuncType) -> Signature {
    let mut signature = Signature::new(WASM_CALL_CONV);
    signature
        .params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    signature.params.push(AbiParam::new(POINTER));
    signature
        .params
        .extend(ty.params.iter().map(|t| AbiParam::new(ir_type(*t))));
    signature
        .returns
        .extend(ty.results.iter().map(|t| AbiParam::new(ir_type(*t))));
    signature
}

fn abi_type(ty: AbiType) -> Type {
    match ty {
        AbiType::Pointer => POINTER,
        AbiType::I32 => types::I32,
        AbiType::I64 => types::I64,
    }
}

impl ModuleEnv<'_> {
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
        builder.ins().load(
            POINTER,
            trusted(),
            definition,
            vmctx::VMMEMORY_LENGTH as i32,
        )
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

    /// `(wasm_call, callee_vmctx)` of imported function `index`.
    pub fn imported_callee(
        &self,
        builder: &mut FunctionBuilder,
        vmctx: Value,
        index: u32,
    ) -> (Value, Value) {
        let offset = self.offsets.func_ref(index) as i32;
        let code = builder.ins().load(
            POINTER,
            readonly(),
            vmctx,
            offset + vmctx::VMFUNCREF_WASM_CALL as i32,
        );
        let callee_vmctx = builder.ins().load(
            POINTER,
            readonly(),
            vmctx,
            offset + vmctx::VMFUNCREF_VMCTX as i32,
        );
        (code, callee_vmctx)
    }

    /// The canonical signature id this instance uses for type `type_index`.
    pub fn type_id(&self, builder: &mut FunctionBuilder, vmctx: Value, type_index: u32) -> Value {
        let offset = self.offsets.type_id(type_index) as i32;
        builder.ins().load(types::I32, readonly(), vmctx, offset)
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
        let signature = builder.import_signature(self.builtin_signature(builtin));
        let table = builder
            .ins()
            .load(POINTER, readonly(), vmctx, vmctx::VMCTX_BUILTINS as i32);
        let code = builder
            .ins()
            .load(POINTER, readonly(), table, builtin.offset() as i32);
        let mut call_args = vec![vmctx];
        call_args.extend_from_slice(args);
        let call = builder.ins().call_indirect(signature, code, &call_args);
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
