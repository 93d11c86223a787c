//! Object emission: compiled functions, trampolines, the metadata, the code tables (each
//! code entry's trap and call-site tables), the code-entry table and the module
//! descriptor, written with cranelift-object.
//!
//! Everything is a local symbol except the descriptor (`<prefix>kiln_module`), so any
//! number of modules can be linked into one binary, and functions keep their name-section
//! names for debuggers and profilers.

use crate::abi;
use crate::error::{CompileError, Result};
use crate::pipeline::CodeEntries;
use cranelift_codegen::isa::TargetIsa;
use cranelift_module::{default_libcall_names, DataDescription, DataId, FuncId, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use kiln_abi::descriptor::{CodeEntry, ModuleDescriptor};
use kiln_abi::trap::CodeTables;
use std::sync::Arc;

/// A module that writes an object file named `name` for `isa`.
pub fn new_module(isa: Arc<dyn TargetIsa>, name: &str) -> Result<ObjectModule> {
    let builder = ObjectBuilder::new(isa, name, default_libcall_names())
        .map_err(|e| CompileError::Target(e.to_string()))?;
    Ok(ObjectModule::new(builder))
}

/// An error of cranelift-object, as a `CompileError`.
pub fn emit_error(error: impl std::fmt::Display) -> CompileError {
    CompileError::Emit(error.to_string())
}

/// Declares and defines a read-only data object whose pointer fields are relocated to
/// functions (`function_addresses`) or other data objects (`data_addresses`).
fn define_data(
    module: &mut ObjectModule,
    name: &str,
    linkage: Linkage,
    bytes: Vec<u8>,
    align: u64,
    function_addresses: &[(usize, FuncId)],
    data_addresses: &[(usize, DataId)],
) -> Result<DataId> {
    let id = module
        .declare_data(name, linkage, false, false)
        .map_err(emit_error)?;
    let mut description = DataDescription::new();
    description.define(bytes.into_boxed_slice());
    description.set_align(align);
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

/// What goes into the object.
pub struct ObjectContents<'a> {
    /// Symbol prefix of this module.
    pub prefix: &'a str,
    /// Number of defined functions.
    pub n_functions: u32,
    /// Number of function types.
    pub n_types: u32,
    /// Encoded metadata.
    pub metadata: Vec<u8>,
    /// Every code entry in descriptor order with its id and compiled code (`None` for a
    /// function left out: its entry has no code, a null address and length 0).
    pub code: CodeEntries,
    /// The order of `code`'s entries in `.text` (see `placement.rs`).
    pub text_order: Vec<usize>,
    /// The first memory's initial contents (see `memory_image.rs`) and their alignment, if
    /// the module has them.
    pub memory_image: Option<(Vec<u8>, u64)>,
    /// The entry counters of code that counts (`--profile-generate`) and their number.
    pub profile_counters: Option<(DataId, usize)>,
}

/// Defines all code and data in `module` and returns the object file's bytes.
pub fn write(mut module: ObjectModule, contents: ObjectContents<'_>) -> Result<Vec<u8>> {
    use kiln_abi::symbols::{self, prefixed};
    let mut code_tables = Vec::new();
    let mut code_entries = Vec::new();
    let mut code_relocs = Vec::new();
    // `.text` follows the order of definition.
    for &i in &contents.text_order {
        if let Some((func_id, code)) = &contents.code[i] {
            module
                .define_function_bytes(*func_id, code.alignment, &code.bytes, &code.relocs)
                .map_err(emit_error)?;
        }
    }
    for (i, entry) in contents.code.iter().enumerate() {
        let too_large = || CompileError::Limit("trap or call-site table larger than 4 GiB".into());
        let tables_start = u32::try_from(code_tables.len()).map_err(|_| too_large())?;
        let Some((func_id, code)) = entry else {
            // No code: no relocation leaves the address null, and the runtime registers
            // no range for length 0. Its tables are empty.
            code_entries.extend_from_slice(&CodeEntry::encode(0, tables_start));
            CodeTables::encode(&[], &[], &mut code_tables).ok_or_else(too_large)?;
            continue;
        };
        let code_len = u32::try_from(code.bytes.len() - code.entry as usize)
            .map_err(|_| CompileError::Limit("function larger than 4 GiB".into()))?;
        code_entries.extend_from_slice(&CodeEntry::encode(code_len, tables_start));
        code_relocs.push((abi::code_entry_code_offset(i), *func_id));
        CodeTables::encode(&code.traps, &code.call_sites, &mut code_tables)
            .ok_or_else(too_large)?;
    }
    let metadata_len = contents.metadata.len();
    let prefix = contents.prefix;
    let metadata = define_data(
        &mut module,
        &prefixed(prefix, symbols::METADATA),
        Linkage::Local,
        contents.metadata,
        16,
        &[],
        &[],
    )?;
    let code_tables_len = code_tables.len();
    code_tables.resize(code_tables.len().max(8), 0);
    let tables = define_data(
        &mut module,
        &prefixed(prefix, symbols::CODE_TABLES),
        Linkage::Local,
        code_tables,
        1,
        &[],
        &[],
    )?;
    code_entries.resize(code_entries.len().max(8), 0);
    let code = define_data(
        &mut module,
        &prefixed(prefix, symbols::FUNCTIONS),
        Linkage::Local,
        code_entries,
        16,
        &code_relocs,
        &[],
    )?;
    let memory_image_len = contents
        .memory_image
        .as_ref()
        .map_or(0, |(image, _)| image.len());
    let memory_image = contents
        .memory_image
        .map(|(image, align)| {
            define_data(
                &mut module,
                &prefixed(prefix, symbols::MEMORY_IMAGE),
                Linkage::Local,
                image,
                align,
                &[],
                &[],
            )
        })
        .transpose()?;
    let descriptor = ModuleDescriptor::encode(
        contents.n_functions,
        contents.n_types,
        metadata_len,
        code_tables_len,
        memory_image_len,
        contents.profile_counters.map_or(0, |(_, len)| len),
    );
    let descriptor_addresses = abi::descriptor_pointers(
        metadata,
        code,
        tables,
        memory_image,
        contents.profile_counters.map(|(id, _)| id),
    );
    define_data(
        &mut module,
        &prefixed(prefix, symbols::MODULE_DESCRIPTOR),
        Linkage::Export,
        descriptor.to_vec(),
        16,
        &[],
        &descriptor_addresses,
    )?;
    let mut product = module.finish();
    // cranelift-object puts a function's symbol at the start of its bytes: move it past the
    // padding. Relocations refer to symbols, so calls and the code table follow it.
    for (func_id, code) in contents.code.iter().flatten() {
        if code.entry > 0 {
            let symbol = product.function_symbol(*func_id);
            let symbol = product.object.symbol_mut(symbol);
            symbol.value += u64::from(code.entry);
            symbol.size -= u64::from(code.entry);
        }
    }
    product.emit().map_err(emit_error)
}
