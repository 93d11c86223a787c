//! Object emission: compiled functions, trampolines, the metadata, the code tables (each
//! code entry's trap and call-site tables), the code-entry table and the module
//! descriptor, written with cranelift-object.
//!
//! Everything is a local symbol except the descriptor (`<prefix>kiln_module`), so any
//! number of modules can be linked into one binary, and functions keep their name-section
//! names for debuggers and profilers.

use crate::abi;
use crate::error::{CompileError, Result};
use crate::pipeline::{CodeEntries, CompiledCode};
use cranelift_codegen::isa::TargetIsa;
use cranelift_module::{default_libcall_names, DataDescription, DataId, FuncId, Linkage, Module};
use cranelift_object::object::write::{Symbol, SymbolSection};
use cranelift_object::{ObjectBuilder, ObjectModule, ObjectProduct};
use kiln_abi::descriptor::{CodeEntry, ModuleDescriptor, CODE_ENTRY_SIZE, SHARED_CODE};
use kiln_abi::packed::Packed;
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
    /// function left out, whose entry has no code, a null address and length 0, and for a
    /// folded one).
    pub code: CodeEntries,
    /// The functions folded into others (`fold.rs`), in index order.
    pub folded: Vec<Folded>,
    /// The order of `code`'s entries in `.text` (see `placement.rs`).
    pub text_order: Vec<usize>,
    /// The first memory's initial contents (see `memory_image.rs`) and their alignment, if
    /// the module has them.
    pub memory_image: Option<(Vec<u8>, u64)>,
    /// The entry counters of code that counts (`--profile-generate`) and their number.
    pub profile_counters: Option<(DataId, usize)>,
}

/// A function folded into an earlier one with the same code (`fold.rs`).
pub struct Folded {
    /// Its code entry (its defined index).
    pub entry: usize,
    /// The code entry whose code it shares (that function's defined index).
    pub into: usize,
    /// Its symbol, given the shared code's address and size.
    pub symbol: String,
}

/// Defines all code and data in `module` and returns the object file's bytes.
pub fn write(mut module: ObjectModule, contents: ObjectContents<'_>) -> Result<Vec<u8>> {
    use kiln_abi::symbols::{self, prefixed};
    let mut code_tables = Vec::new();
    // Each code entry's function and code length; its code's offset is known once
    // cranelift-object has placed the functions, so the entries are written after `finish`.
    let mut code_entries = Vec::new();
    // `.text` follows the order of definition.
    for &i in &contents.text_order {
        if let Some((func_id, code)) = &contents.code[i] {
            module
                .define_function_bytes(*func_id, code.alignment, &code.bytes, &code.relocs)
                .map_err(emit_error)?;
        }
    }
    let mut folded = contents.folded.iter().peekable();
    for (index, entry) in contents.code.iter().enumerate() {
        let too_large = || CompileError::Limit("trap or call-site table larger than 4 GiB".into());
        if let Some(function) = folded.next_if(|function| function.entry == index) {
            // The offset and length of the code it shares, marked shared, and no tables:
            // the runtime registers the code once, as the first function's.
            let Some((func_id, code)) = &contents.code[function.into] else {
                return Err(CompileError::Emit(
                    "a function folded into one without code".into(),
                ));
            };
            code_entries.push((Some(*func_id), code_len(code)? | SHARED_CODE));
            CodeTables::encode(&[], &[], &mut code_tables).ok_or_else(too_large)?;
            continue;
        }
        let Some((func_id, code)) = entry else {
            // No code: offset and length 0, and the runtime registers no range for length
            // 0. Its tables are empty.
            code_entries.push((None, 0));
            CodeTables::encode(&[], &[], &mut code_tables).ok_or_else(too_large)?;
            continue;
        };
        code_entries.push((Some(*func_id), code_len(code)?));
        CodeTables::encode(&code.traps, &code.call_sites, &mut code_tables)
            .ok_or_else(too_large)?;
    }
    let prefix = contents.prefix;
    // The memory image first: read-only data is laid out in the order of definition, and
    // the image is page-aligned, so the data after it needs no padding (the metadata and
    // code tables before it left up to a page less one byte of it).
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
    let metadata_len = contents.metadata.len();
    let metadata = define_data(
        &mut module,
        &prefixed(prefix, symbols::METADATA),
        Linkage::Local,
        contents.metadata,
        16,
        &[],
        &[],
    )?;
    // Stored compressed when that saves enough (`kiln_abi::packed`): the files program's
    // 26.9 KB of tables pack into 22.9 KB.
    let mut stored_tables = Vec::new();
    let compressed = kiln_abi::packed::compress(&code_tables);
    let unpacked_len = u32::try_from(code_tables.len())
        .map_err(|_| CompileError::Limit("code tables larger than 4 GiB".into()))?;
    match &compressed {
        Some(bytes) => Packed {
            unpacked_len,
            bytes,
        },
        None => Packed::plain(&code_tables),
    }
    .write_standalone(&mut stored_tables);
    let mut code_tables = stored_tables;
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
    // Zeros for now, rewritten after `finish` (see `write_code_entries`).
    let code_entries_len = code_entries.len() * CODE_ENTRY_SIZE;
    let code = define_data(
        &mut module,
        &prefixed(prefix, symbols::FUNCTIONS),
        Linkage::Local,
        vec![0; code_entries_len.max(8)],
        4,
        &[],
        &[],
    )?;
    // The code base: the first function in `.text`.
    let code_base = contents
        .text_order
        .iter()
        .find_map(|&i| contents.code[i].as_ref().map(|(func_id, _)| *func_id));
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
        &abi::descriptor_code_base(code_base),
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
    write_code_entries(&mut product, code, code_base, &code_entries)?;
    for function in contents.folded {
        let Some((func_id, _)) = &contents.code[function.into] else {
            continue; // refused above
        };
        let shared = product.object.symbol(product.function_symbol(*func_id));
        let symbol = Symbol {
            name: function.symbol.into_bytes(),
            value: shared.value,
            size: shared.size,
            kind: shared.kind,
            scope: shared.scope,
            weak: shared.weak,
            section: shared.section,
            flags: shared.flags,
        };
        product.object.add_symbol(symbol);
    }
    product.emit().map_err(emit_error)
}

/// The length of `code`'s machine code (past its padding), below [`SHARED_CODE`].
fn code_len(code: &CompiledCode) -> Result<u32> {
    u32::try_from(code.bytes.len() - code.entry as usize)
        .ok()
        .filter(|&len| len < SHARED_CODE)
        .ok_or_else(|| CompileError::Limit("function larger than 2 GiB".into()))
}

/// Writes the code-entry table `code` of `product`: each entry's code offset (from the
/// symbol of `code_base`, the first function in `.text`; 0 without code) and code length.
/// The functions' symbols are final by now (past their padding).
fn write_code_entries(
    product: &mut ObjectProduct,
    code: DataId,
    code_base: Option<FuncId>,
    entries: &[(Option<FuncId>, u32)],
) -> Result<()> {
    let place = |product: &ObjectProduct, symbol| {
        let symbol = product.object.symbol(symbol);
        (symbol.section, symbol.value)
    };
    let base = code_base.map(|id| place(product, product.function_symbol(id)));
    let mut bytes = Vec::with_capacity(entries.len() * CODE_ENTRY_SIZE);
    for &(func_id, code_len) in entries {
        let code_offset = match (func_id, base) {
            (Some(func_id), Some((base_section, base_value))) => {
                let (section, value) = place(product, product.function_symbol(func_id));
                if section != base_section {
                    return Err(CompileError::Emit(
                        "functions in more than one section".into(),
                    ));
                }
                value
                    .checked_sub(base_value)
                    .and_then(|offset| u32::try_from(offset).ok())
                    .ok_or_else(|| CompileError::Limit("code larger than 4 GiB".into()))?
            }
            _ => 0,
        };
        bytes.extend_from_slice(&CodeEntry::encode(code_offset, code_len));
    }
    let (table_section, table_value) = place(product, product.data_symbol(code));
    let SymbolSection::Section(section) = table_section else {
        return Err(CompileError::Emit(
            "code-entry table without a section".into(),
        ));
    };
    let start = usize::try_from(table_value).map_err(emit_error)?;
    product.object.section_mut(section).data_mut()[start..][..bytes.len()].copy_from_slice(&bytes);
    Ok(())
}
