//! Object emission: compiled functions, trampolines, the metadata, the trap table, the
//! code-entry table and the module descriptor, written with cranelift-object.
//!
//! Everything is a local symbol except the descriptor (`<prefix>kiln_module`), so any
//! number of modules can be linked into one binary, and functions keep their name-section
//! names for debuggers and profilers.

use crate::code_layout;
use crate::error::{CompileError, Result};
use cranelift_codegen::ir;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, FinalizedMachReloc};
use cranelift_control::ControlPlane;
use cranelift_module::ModuleRelocTarget;
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module, ModuleReloc};
use cranelift_object::ObjectModule;
use kiln_abi::descriptor::{CodeEntry, ModuleDescriptor, CODE_ENTRY_CODE, CODE_ENTRY_SIZE};
use kiln_abi::descriptor::{DESCRIPTOR_CODE, DESCRIPTOR_METADATA, DESCRIPTOR_TRAPS};
use kiln_abi::descriptor::{DESCRIPTOR_MEMORY_IMAGE, MEMORY_IMAGE_ALIGN};
use kiln_abi::trap::TrapEntry;
use std::collections::HashMap;

/// One function's machine code, ready to be defined in the object.
pub struct CompiledCode {
    /// Padding (never executed), then the machine code from `entry` on.
    pub bytes: Vec<u8>,
    /// Offset of the function's first instruction in `bytes`.
    pub entry: u32,
    /// Required alignment of `bytes`.
    pub alignment: u64,
    /// Relocations, relative to the start of `bytes`.
    pub relocs: Vec<ModuleReloc>,
    /// Trap sites, relative to the entry, sorted by offset.
    pub traps: Vec<TrapEntry>,
}

/// Code is laid out in cache lines of this many bytes: `bytes` of every function start on
/// one.
const CACHE_LINE: u32 = 64;

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
    let mut relocs: Vec<ModuleReloc> = compiled
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
    // The function's own alignment (16 for vector constants, say) must hold at its entry.
    let code_alignment = compiled.buffer.alignment;
    let entry = loop_header(&compiled.bb_starts, &compiled.bb_edges)
        .map(|header| entry_padding(header, code_alignment))
        .unwrap_or(0);
    let mut bytes = vec![PADDING_BYTE; entry as usize];
    bytes.extend_from_slice(compiled.code_buffer());
    for reloc in &mut relocs {
        reloc.offset += entry;
    }
    Ok(CompiledCode {
        bytes,
        entry,
        alignment: u64::from(code_alignment.max(CACHE_LINE)),
        relocs,
        traps,
    })
}

/// Fills the padding in front of a function (x86_64 `int3`; padding is only added there).
const PADDING_BYTE: u8 = 0xcc;

/// The offset of the loop whose header should start a cache line: of the loops in the
/// final code (back edges), the most deeply nested, then the shortest, then the first.
/// `None` without loops, or when Cranelift recorded no block offsets (it does for x86_64
/// at `--opt-level speed`, see `isa::build_isa`).
///
/// Why: the front end of x86_64 cores fetches and caches decoded instructions per aligned
/// 32- or 64-byte window, so where a hot loop falls within a line decides how many
/// windows each iteration needs. Measured on shootout-sieve (AMD EPYC with AVX-512), its
/// inner loop took 182 ms starting a line, 205 to 208 ms starting at byte 10 or 16, and
/// 255 to 271 ms starting at byte 18 or later; the offset of the line in the page did not
/// matter. Cranelift cannot align blocks inside a function, so kiln places the whole
/// function: one whose chosen loop is at offset h starts (64 - h) mod 64 bytes into its
/// line, the padding in front of its symbol.
fn loop_header(bb_starts: &[u32], bb_edges: &[(u32, u32)]) -> Option<u32> {
    // Each loop as [header, end of its last block): one per header, the farthest back edge.
    let mut loops: Vec<(u32, u32)> = Vec::new();
    for &(from, to) in bb_edges {
        if to > from {
            continue;
        }
        let end = bb_starts
            .iter()
            .copied()
            .filter(|&start| start > from)
            .min()
            .unwrap_or(u32::MAX);
        match loops.iter_mut().find(|(header, _)| *header == to) {
            Some(existing) => existing.1 = existing.1.max(end),
            None => loops.push((to, end)),
        }
    }
    let depth = |&(header, end): &(u32, u32)| {
        loops
            .iter()
            .filter(|&&(outer_header, outer_end)| outer_header <= header && end <= outer_end)
            .count()
    };
    loops
        .iter()
        .max_by_key(|&&lp| {
            let (header, end) = lp;
            (
                depth(&lp),
                std::cmp::Reverse(end - header),
                std::cmp::Reverse(header),
            )
        })
        .map(|&(header, _)| header)
}

/// Padding before a function's entry that puts offset `header` of its code at the start
/// of a cache line, or as soon after as the code's own `alignment` allows.
fn entry_padding(header: u32, alignment: u32) -> u32 {
    let wanted = (CACHE_LINE - header % CACHE_LINE) % CACHE_LINE;
    wanted.next_multiple_of(alignment.max(1)) % CACHE_LINE
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
    /// The entries `code_layout::order` places first.
    pub layout_roots: Vec<usize>,
    /// The first memory's initial contents (see `memory_image.rs`), if the module has one.
    pub memory_image: Option<Vec<u8>>,
}

/// Defines all code and data in `module` and returns the object file's bytes.
pub fn finish(mut module: ObjectModule, contents: ObjectContents<'_>) -> Result<Vec<u8>> {
    use kiln_abi::symbols::{self, prefixed};
    let mut trap_table = Vec::new();
    let mut code_entries = Vec::new();
    let mut code_relocs = Vec::new();
    let mut n_traps = 0u32;
    // Placed in call-graph order; `.text` follows the order of definition.
    let entry_of: HashMap<FuncId, usize> = contents
        .code
        .iter()
        .enumerate()
        .map(|(i, (func_id, _))| (*func_id, i))
        .collect();
    let direct_callees = |i: usize| {
        contents.code[i]
            .1
            .relocs
            .iter()
            .filter_map(|reloc| match reloc.name {
                ModuleRelocTarget::User { namespace: 0, .. } => {
                    entry_of.get(&FuncId::from_name(&reloc.name)).copied()
                }
                _ => None,
            })
            .collect()
    };
    for i in code_layout::order(contents.code.len(), &contents.layout_roots, direct_callees) {
        let (func_id, code) = &contents.code[i];
        module
            .define_function_bytes(*func_id, code.alignment, &code.bytes, &code.relocs)
            .map_err(emit_error)?;
    }
    for (i, (func_id, code)) in contents.code.iter().enumerate() {
        let code_len = u32::try_from(code.bytes.len() - code.entry as usize)
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
        16,
        &[],
        &[],
    )?;
    trap_table.resize(trap_table.len().max(8), 0);
    let traps = define_data(
        &mut module,
        &prefixed(prefix, symbols::TRAPS),
        Linkage::Local,
        trap_table,
        16,
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
    let memory_image_len = contents.memory_image.as_ref().map_or(0, Vec::len);
    let memory_image = contents
        .memory_image
        .map(|image| {
            define_data(
                &mut module,
                &prefixed(prefix, symbols::MEMORY_IMAGE),
                Linkage::Local,
                image,
                MEMORY_IMAGE_ALIGN as u64,
                &[],
                &[],
            )
        })
        .transpose()?;
    let descriptor = ModuleDescriptor::encode(
        contents.n_functions,
        contents.n_types,
        metadata_len,
        n_traps as usize,
        memory_image_len,
    );
    let mut descriptor_addresses = vec![
        (DESCRIPTOR_METADATA, metadata),
        (DESCRIPTOR_CODE, code),
        (DESCRIPTOR_TRAPS, traps),
    ];
    descriptor_addresses.extend(memory_image.map(|image| (DESCRIPTOR_MEMORY_IMAGE, image)));
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
    for (func_id, code) in &contents.code {
        if code.entry > 0 {
            let symbol = product.function_symbol(*func_id);
            let symbol = product.object.symbol_mut(symbol);
            symbol.value += u64::from(code.entry);
            symbol.size -= u64::from(code.entry);
        }
    }
    product.emit().map_err(emit_error)
}

/// A function's user name for Cranelift, by its id.
pub fn user_name(func_id: FuncId) -> ir::UserFuncName {
    ir::UserFuncName::user(0, func_id.as_u32())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_without_back_edges_has_no_loop() {
        assert_eq!(
            loop_header(&[0, 16, 32], &[(0, 16), (0, 32), (16, 32)]),
            None
        );
    }

    #[test]
    fn the_innermost_loop_is_chosen() {
        // 0x00 entry, 0x10 outer header, 0x30 inner header, 0x50 outer latch, 0x80 exit.
        let starts = [0x00, 0x10, 0x30, 0x50, 0x80];
        let edges = [
            (0x00, 0x10),
            (0x10, 0x30),
            (0x30, 0x30), // inner loop: one block branching to itself
            (0x30, 0x50),
            (0x50, 0x10), // outer back edge
            (0x50, 0x80),
        ];
        assert_eq!(loop_header(&starts, &edges), Some(0x30));
    }

    #[test]
    fn of_sibling_loops_the_shortest_is_chosen() {
        // Two loops at the same depth: [0x10, 0x60) and [0x60, 0x70).
        let starts = [0x00, 0x10, 0x40, 0x60, 0x70];
        let edges = [
            (0x40, 0x10),
            (0x10, 0x40),
            (0x40, 0x60),
            (0x60, 0x60),
            (0x60, 0x70),
        ];
        assert_eq!(loop_header(&starts, &edges), Some(0x60));
    }

    #[test]
    fn padding_puts_the_header_on_a_line_within_the_code_alignment() {
        assert_eq!(entry_padding(0, 1), 0);
        assert_eq!(entry_padding(64, 1), 0);
        assert_eq!(entry_padding(0xca, 1), 54); // shootout-sieve's inner loop
        assert_eq!(entry_padding(0xca, 2), 54);
        // 16-byte alignment: 64 bytes would be needed, so the header stays 10 bytes in.
        assert_eq!(entry_padding(0xca, 16), 0);
        assert_eq!(entry_padding(0x28, 16), 32); // header at 0x48: 8 bytes into a line
        assert_eq!(entry_padding(5, 128), 0);
    }
}
