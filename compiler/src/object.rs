//! Object emission: compiled functions, trampolines, the metadata, the trap table, the
//! code-entry table and the module descriptor, written with cranelift-object.
//!
//! Everything is a local symbol except the descriptor (`<prefix>kiln_module`), so any
//! number of modules can be linked into one binary, and functions keep their name-section
//! names for debuggers and profilers.

use crate::error::{CompileError, Result};
use cranelift_codegen::ir;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, FinalizedMachReloc};
use cranelift_control::ControlPlane;
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module, ModuleReloc};
use cranelift_object::ObjectModule;
use kiln_abi::descriptor::{CodeEntry, ModuleDescriptor, CODE_ENTRY_CODE, CODE_ENTRY_SIZE};
use kiln_abi::descriptor::{DESCRIPTOR_CODE, DESCRIPTOR_METADATA, DESCRIPTOR_TRAPS};
use kiln_abi::trap::TrapEntry;

/// One function's machine code, ready to be defined in the object.
pub struct CompiledCode {
    /// Machine code.
    pub bytes: Vec<u8>,
    /// Required alignment.
    pub alignment: u64,
    /// Relocations, relative to the start of the code.
    pub relocs: Vec<ModuleReloc>,
    /// Trap sites, sorted by offset.
    pub traps: Vec<TrapEntry>,
}

/// Alignment of every function's first instruction.
const FUNCTION_ALIGNMENT: u32 = 64;

/// Compiles `func` (already translated into `context.func`) to machine code.
pub fn compile(
    isa: &dyn TargetIsa,
    context: &mut Context,
    func_id: FuncId,
    func_index: u32,
    name: &str,
) -> Result<CompiledCode> {
    context
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| CompileError::Codegen {
            func_index,
            name: name.to_string(),
            message: format!("{:?}", e.inner),
        })?;
    let compiled = context
        .compiled_code()
        .expect("the function was just compiled");
    let relocs = compiled
        .buffer
        .relocs()
        .iter()
        .map(|reloc: &FinalizedMachReloc| {
            ModuleReloc::from_mach_reloc(reloc, &context.func, func_id)
        })
        .collect();
    let mut traps = Vec::new();
    for trap in compiled.buffer.traps() {
        let code = crate::traps::abi_trap_code(trap.code).ok_or_else(|| CompileError::Codegen {
            func_index,
            name: name.to_string(),
            message: format!("unexpected trap code {}", trap.code),
        })?;
        traps.push(TrapEntry {
            code_offset: trap.offset,
            trap_code: code as u8,
        });
    }
    traps.sort_by_key(|t| t.code_offset);
    Ok(CompiledCode {
        bytes: compiled.code_buffer().to_vec(),
        // Functions start on a cache line (64 bytes; Cranelift's preferred 32 on both
        // ISAs is less), so a function's loops sit on cache lines as they do in the
        // object: measured on shootout-sieve, 32-byte alignment let its inner loop
        // straddle two lines and cost 1.3x.
        alignment: u64::from(compiled.buffer.alignment.max(FUNCTION_ALIGNMENT)),
        relocs,
        traps,
    })
}

fn emit_error(error: impl std::fmt::Display) -> CompileError {
    CompileError::Emit(error.to_string())
}

/// Declares and defines a read-only data object whose pointer fields are relocated to
/// functions (`function_addresses`) or other data objects (`data_addresses`).
fn define_data(
    module: &mut ObjectModule,
    name: &str,
    linkage: Linkage,
    bytes: Vec<u8>,
    function_addresses: &[(usize, FuncId)],
    data_addresses: &[(usize, DataId)],
) -> Result<DataId> {
    let id = module
        .declare_data(name, linkage, false, false)
        .map_err(emit_error)?;
    let mut description = DataDescription::new();
    description.define(bytes.into_boxed_slice());
    description.set_align(16);
    for (offset, func_id) in function_addresses {
        let func_ref = module.declare_func_in_data(*func_id, &mut description);
        description.write_function_addr(*offset as u32, func_ref);
    }
    for (offset, data_id) in data_addresses {
        let global = module.declare_data_in_data(*data_id, &mut description);
        description.write_data_addr(*offset as u32, global, 0);
    }
    module.define_data(id, &description).map_err(emit_error)?;
    Ok(id)
}

/// What goes into the object besides the code itself.
pub struct ObjectContents<'a> {
    /// Symbol prefix of this module.
    pub prefix: &'a str,
    /// Number of defined functions and of types.
    pub n_functions: u32,
    /// Number of function types.
    pub n_types: u32,
    /// Encoded metadata.
    pub metadata: Vec<u8>,
    /// Every code entry in descriptor order with its id and compiled code.
    pub code: Vec<(FuncId, CompiledCode)>,
}

/// Defines all code and data in `module` and returns the object file's bytes.
pub fn finish(mut module: ObjectModule, contents: ObjectContents<'_>) -> Result<Vec<u8>> {
    use kiln_abi::symbols::{self, prefixed};
    let mut trap_table = Vec::new();
    let mut code_entries = Vec::new();
    let mut code_relocs = Vec::new();
    let mut n_traps = 0u32;
    for (i, (func_id, code)) in contents.code.iter().enumerate() {
        module
            .define_function_bytes(*func_id, code.alignment, &code.bytes, &code.relocs)
            .map_err(emit_error)?;
        let code_len = u32::try_from(code.bytes.len())
            .map_err(|_| CompileError::Limit("function larger than 4 GiB".into()))?;
        code_entries.extend_from_slice(&CodeEntry::encode(
            code_len,
            n_traps,
            code.traps.len() as u32,
        ));
        code_relocs.push((i * CODE_ENTRY_SIZE + CODE_ENTRY_CODE, *func_id));
        for trap in &code.traps {
            trap_table.extend_from_slice(&trap.encode());
        }
        n_traps += code.traps.len() as u32;
    }
    let metadata_len = contents.metadata.len();
    let prefix = contents.prefix;
    let metadata = define_data(
        &mut module,
        &prefixed(prefix, symbols::METADATA),
        Linkage::Local,
        contents.metadata,
        &[],
        &[],
    )?;
    trap_table.resize(trap_table.len().max(8), 0);
    let traps = define_data(
        &mut module,
        &prefixed(prefix, symbols::TRAPS),
        Linkage::Local,
        trap_table,
        &[],
        &[],
    )?;
    code_entries.resize(code_entries.len().max(8), 0);
    let code = define_data(
        &mut module,
        &prefixed(prefix, symbols::FUNCTIONS),
        Linkage::Local,
        code_entries,
        &code_relocs,
        &[],
    )?;
    let descriptor = ModuleDescriptor::encode(
        contents.n_functions,
        contents.n_types,
        metadata_len,
        n_traps as usize,
    );
    define_data(
        &mut module,
        &prefixed(prefix, symbols::MODULE_DESCRIPTOR),
        Linkage::Export,
        descriptor.to_vec(),
        &[],
        &[
            (DESCRIPTOR_METADATA, metadata),
            (DESCRIPTOR_CODE, code),
            (DESCRIPTOR_TRAPS, traps),
        ],
    )?;
    module.finish().emit().map_err(emit_error)
}

/// A function's user name for Cranelift, by its id.
pub fn user_name(func_id: FuncId) -> ir::UserFuncName {
    ir::UserFuncName::user(0, func_id.as_u32())
}
