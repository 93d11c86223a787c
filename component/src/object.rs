//! One relocatable object for a whole component: every core module's object (each compiled
//! with its own symbol prefix) merged with the `object` crate, and the component's image
//! (`<prefix>kiln_component`: the encoded plan and each module's descriptor, by relocation).
//! `kiln compile` writes it, `kiln build` links it into executables, and kiln-build
//! archives it for embedding hosts.
//!
//! The merge copies each module's allocated sections as sections of their own (an ELF
//! object may have several `.text`s; the linker places each as an input section), so
//! symbol values and relocation offsets stay as the compiler wrote them and a relocation
//! against a section symbol keeps its addend. Defined symbols keep their scope; global
//! ones must be unique (the prefixes see to that), and undefined ones (the C library's
//! `memmove`, the runtime's entry) appear once.

use crate::error::{ComponentError, Result};
use crate::translate::Translation;
use kiln_abi::component::{ComponentPlan, CoreModule, ModuleOrigin, Step};
use kiln_abi::symbols;
use object::read::{Object as _, ObjectSection as _, ObjectSymbol as _};
use object::write::{Object, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationEncoding, RelocationFlags, RelocationKind,
    RelocationTarget, SectionFlags, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use std::collections::HashMap;

/// What the image of an executable refers to in the runtime it is linked with (see
/// kiln-abi's `symbols::COMPONENT_IMAGE`). An object for embedding has none: its image
/// refers to nothing outside the object, so it links with any kiln-runtime.
#[derive(Clone, Copy, Debug)]
pub struct ExecutableEntry<'a> {
    /// The runtime's component entry (`symbols::COMPONENT_MAIN`).
    pub main: &'a str,
    /// The WASI 0.2 functions the executable links (`kiln_wasip2_<fn>`), each once.
    pub functions: &'a [&'a str],
}

/// The symbol prefix a core module of a component is compiled with when the whole
/// component's symbols carry `prefix`: `prefix` then the module's own (`kiln_m0_`).
pub fn module_prefix(prefix: &str, module: &CoreModule) -> String {
    format!("{prefix}{}", module.symbol_prefix)
}

/// The options core module `module` of a component whose symbols carry `prefix` is
/// compiled with: `options` under the module's [`module_prefix`], and without
/// `nothrow_wasi_imports`, because a component's core modules import WASI's names from one
/// another (the preview 1 adapter, the shims of lowered imports), which may throw. Without
/// `fixed_memory_address` too: at most one module gets it ([`fixed_memory_module`]).
pub fn module_options(
    options: &kiln_compiler::CompileOptions,
    prefix: &str,
    module: &CoreModule,
) -> kiln_compiler::CompileOptions {
    kiln_compiler::CompileOptions {
        symbol_prefix: module_prefix(prefix, module),
        nothrow_wasi_imports: false,
        fixed_memory_address: false,
        ..options.clone()
    }
}

/// The core module (an index into `plan.modules` and `modules`, its bytes) whose first
/// memory an executable of the component finds at the fixed address
/// (`CompileOptions::fixed_memory_address`): one memory of the process can be there, so
/// the largest of the modules the plan instantiates exactly once that define their first
/// memory (a Rust or C component's main module; the preview 1 adapter and the fused
/// adapters import theirs). `None` when no module qualifies.
pub fn fixed_memory_module(plan: &ComponentPlan, modules: &[Vec<u8>]) -> Option<usize> {
    let mut instances = vec![0u32; modules.len()];
    for step in &plan.steps {
        if let Step::Instantiate { module, .. } = step {
            if let Some(count) = instances.get_mut(*module as usize) {
                *count = count.saturating_add(1);
            }
        }
    }
    (0..modules.len())
        .filter(|&index| instances[index] == 1 && defines_first_memory(&modules[index]))
        .max_by_key(|&index| modules[index].len())
}

/// Whether the core module `wasm` declares a memory and imports none (its first memory
/// is its own). A module that does not parse has none.
fn defines_first_memory(wasm: &[u8]) -> bool {
    let mut defines = false;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::ImportSection(reader)) => {
                for import in reader.into_imports() {
                    match import {
                        Ok(import) if !matches!(import.ty, wasmparser::TypeRef::Memory(_)) => {}
                        _ => return false,
                    }
                }
            }
            Ok(wasmparser::Payload::MemorySection(reader)) => defines = reader.count() > 0,
            // The sections that can declare memories come before the code.
            Ok(wasmparser::Payload::CodeSectionStart { .. }) => break,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    defines
}

/// The image symbol of a component whose symbols carry `prefix`: `<prefix>kiln_component`.
pub fn image_symbol(prefix: &str) -> String {
    symbols::prefixed(prefix, symbols::COMPONENT_IMAGE)
}

/// A core module of a component, for messages: `core module kiln_m0_ at offset 0xca3`.
pub fn describe(module: &CoreModule) -> String {
    match module.origin {
        ModuleOrigin::Component { offset } => {
            format!("core module {} at offset {offset:#x}", module.symbol_prefix)
        }
        ModuleOrigin::Adapter => format!("fused adapter module {}", module.symbol_prefix),
    }
}

/// Compiles every core module of `translation` with `options` (each with its
/// [`module_prefix`] under `prefix`) and merges them with the image into one object; see
/// [`link_object`].
pub fn compile_object(
    translation: &Translation,
    options: &kiln_compiler::CompileOptions,
    prefix: &str,
    entry: Option<ExecutableEntry<'_>>,
) -> Result<Vec<u8>> {
    let objects = translation
        .plan
        .modules
        .iter()
        .zip(&translation.modules)
        .map(|(module, bytes)| {
            let options = module_options(options, prefix, module);
            kiln_compiler::compile(bytes, &options).map_err(|error| ComponentError::Compile {
                module: describe(module),
                message: error.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    link_object(
        &translation.plan,
        &objects,
        prefix,
        &options.target.to_string(),
        entry,
    )
}

/// Merges `objects` (the plan's core modules compiled for `triple`, in its order, each
/// with its [`module_prefix`] under `prefix`) with the component's image into one
/// relocatable object. With `entry`, the image is an executable's (its runtime entry and
/// WASI 0.2 functions, which the runtime of `kiln build` executables defines); without, it
/// refers to nothing outside the object.
pub fn link_object(
    plan: &ComponentPlan,
    objects: &[Vec<u8>],
    prefix: &str,
    triple: &str,
    entry: Option<ExecutableEntry<'_>>,
) -> Result<Vec<u8>> {
    if objects.len() != plan.modules.len() {
        return Err(emit_error(format!(
            "{} objects for {} core modules",
            objects.len(),
            plan.modules.len()
        )));
    }
    let mut merged = Merged::new(triple)?;
    for (module, bytes) in plan.modules.iter().zip(objects) {
        merged
            .add(bytes)
            .map_err(|message| emit_error(format!("{}: {message}", describe(module))))?;
    }
    merged.image(plan, prefix, entry)?;
    merged.object.write().map_err(|e| emit_error(e.to_string()))
}

fn emit_error(message: String) -> ComponentError {
    ComponentError::Emit(message)
}

/// The object being written and its global symbols by name.
struct Merged {
    object: Object<'static>,
    globals: HashMap<Vec<u8>, SymbolId>,
}

impl Merged {
    fn new(triple: &str) -> Result<Merged> {
        let architecture = match triple.split('-').next() {
            Some("x86_64") => Architecture::X86_64,
            Some("aarch64") => Architecture::Aarch64,
            _ => return Err(emit_error(format!("no component objects for {triple}"))),
        };
        let mut object = Object::new(BinaryFormat::Elf, architecture, Endianness::Little);
        // Without this note, GNU ld gives the executable an executable stack.
        object.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Linker);
        Ok(Merged {
            object,
            globals: HashMap::new(),
        })
    }

    /// Copies the allocated sections of the object `bytes`, its symbols and relocations.
    fn add(&mut self, bytes: &[u8]) -> std::result::Result<(), String> {
        let file = object::File::parse(bytes).map_err(|e| format!("reading its object: {e}"))?;
        if file.format() != BinaryFormat::Elf || file.architecture() != self.object.architecture() {
            return Err(format!(
                "its object is {:?} {:?}, not ELF {:?}",
                file.format(),
                file.architecture(),
                self.object.architecture()
            ));
        }
        let mut sections = HashMap::new();
        for section in file.sections() {
            let flags = section.flags();
            let SectionFlags::Elf { sh_flags, .. } = flags else {
                continue;
            };
            // Symbol tables, relocation sections and notes are written anew.
            if !sh_flags.contains(object::elf::SHF_ALLOC) {
                continue;
            }
            let name = section.name_bytes().map_err(|e| e.to_string())?.to_vec();
            let id = self.object.add_section(Vec::new(), name, section.kind());
            self.object.section_mut(id).flags = flags;
            if section.kind() == SectionKind::UninitializedData {
                self.object
                    .append_section_bss(id, section.size(), section.align());
            } else {
                let data = section.data().map_err(|e| e.to_string())?;
                self.object
                    .set_section_data(id, data.to_vec(), section.align());
            }
            sections.insert(section.index(), id);
        }
        let mut symbols = HashMap::new();
        for symbol in file.symbols() {
            let id = match symbol.kind() {
                SymbolKind::File => continue,
                SymbolKind::Section => match symbol.section_index() {
                    Some(index) => match sections.get(&index) {
                        Some(&section) => self.object.section_symbol(section),
                        None => continue,
                    },
                    None => continue,
                },
                _ => self.symbol(&symbol, &sections)?,
            };
            symbols.insert(symbol.index(), id);
        }
        for section in file.sections() {
            let Some(&id) = sections.get(&section.index()) else {
                continue;
            };
            for (offset, relocation) in section.relocations() {
                let symbol = match relocation.target() {
                    RelocationTarget::Symbol(index) => symbols.get(&index).copied(),
                    RelocationTarget::Section(index) => sections
                        .get(&index)
                        .map(|&section| self.object.section_symbol(section)),
                    _ => None,
                }
                .ok_or_else(|| {
                    format!(
                        "a relocation at {offset:#x} of {} has a target outside the copied \
                         sections",
                        section.name().unwrap_or("?")
                    )
                })?;
                self.object
                    .add_relocation(
                        id,
                        Relocation {
                            offset,
                            symbol,
                            addend: relocation.addend(),
                            flags: relocation.flags(),
                        },
                    )
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Adds (or, for an undefined global seen before, reuses or defines) `symbol`.
    fn symbol(
        &mut self,
        symbol: &object::Symbol<'_, '_>,
        sections: &HashMap<object::SectionIndex, SectionId>,
    ) -> std::result::Result<SymbolId, String> {
        let name = symbol.name_bytes().map_err(|e| e.to_string())?.to_vec();
        let section = match symbol.section() {
            object::SymbolSection::Undefined => SymbolSection::Undefined,
            object::SymbolSection::Absolute => SymbolSection::Absolute,
            object::SymbolSection::Section(index) => match sections.get(&index) {
                Some(&id) => SymbolSection::Section(id),
                None => {
                    return Err(format!(
                        "symbol {} is in a section that is not copied",
                        String::from_utf8_lossy(&name)
                    ))
                }
            },
            other => {
                return Err(format!(
                    "symbol {} is in {other:?}",
                    String::from_utf8_lossy(&name)
                ))
            }
        };
        let undefined = section == SymbolSection::Undefined;
        let new = Symbol {
            name: name.clone(),
            value: symbol.address(),
            size: symbol.size(),
            kind: symbol.kind(),
            // Default visibility: `memmove` and `memset` may come from a shared C library.
            scope: if undefined {
                SymbolScope::Dynamic
            } else {
                symbol.scope()
            },
            weak: symbol.is_weak(),
            section,
            flags: SymbolFlags::None,
        };
        if symbol.is_local() {
            return Ok(self.object.add_symbol(new));
        }
        match self.globals.get(&name).copied() {
            Some(id) => {
                let existing = self.object.symbol_mut(id);
                if undefined {
                    return Ok(id);
                }
                if existing.section != SymbolSection::Undefined {
                    return Err(format!(
                        "symbol {} is defined twice in the component",
                        String::from_utf8_lossy(&name)
                    ));
                }
                *existing = new;
                Ok(id)
            }
            None => {
                let id = self.object.add_symbol(new);
                self.globals.insert(name, id);
                Ok(id)
            }
        }
    }

    /// The image `<prefix>kiln_component` (layout in kiln-abi's
    /// `symbols::COMPONENT_IMAGE`): the encoded plan (a local symbol
    /// `<prefix>kiln_component_plan`), then each module's descriptor and, for an
    /// executable, the runtime's entry and the WASI 0.2 functions, by relocation.
    fn image(
        &mut self,
        plan: &ComponentPlan,
        prefix: &str,
        entry: Option<ExecutableEntry<'_>>,
    ) -> Result<()> {
        use object::write::StandardSection;
        let encoded = plan.encode();
        let plan_symbol = format!("{}_plan", image_symbol(prefix));
        let data = self.object.section_id(StandardSection::ReadOnlyData);
        let plan_offset = self.object.append_section_data(data, &encoded, 8);
        let plan_id = self.object.add_symbol(Symbol {
            name: plan_symbol.into_bytes(),
            value: plan_offset,
            size: encoded.len() as u64,
            kind: SymbolKind::Data,
            scope: SymbolScope::Compilation,
            weak: false,
            section: SymbolSection::Section(data),
            flags: SymbolFlags::None,
        });
        let functions = entry.map_or(&[][..], |entry| entry.functions);
        let table = self.object.section_id(StandardSection::ReadOnlyDataWithRel);
        let words = symbols::COMPONENT_IMAGE_HEADER_WORDS + plan.modules.len() + functions.len();
        let mut bytes = vec![0u8; 8 * words];
        bytes[..8].copy_from_slice(&(plan.modules.len() as u64).to_le_bytes());
        bytes[8..16].copy_from_slice(&(encoded.len() as u64).to_le_bytes());
        bytes[32..40].copy_from_slice(&(functions.len() as u64).to_le_bytes());
        let image_offset = self.object.append_section_data(table, &bytes, 8);
        let image = image_symbol(prefix).into_bytes();
        if self.globals.contains_key(&image) {
            return Err(emit_error(format!(
                "symbol {} is defined twice in the component",
                image_symbol(prefix)
            )));
        }
        let image_id = self.object.add_symbol(Symbol {
            name: image.clone(),
            value: image_offset,
            size: bytes.len() as u64,
            kind: SymbolKind::Data,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(table),
            flags: SymbolFlags::None,
        });
        self.globals.insert(image, image_id);
        self.pointer(table, image_offset + 16, plan_id)?;
        if let Some(entry) = entry {
            let main = self.global(entry.main);
            self.pointer(table, image_offset + 24, main)?;
        }
        for (index, module) in plan.modules.iter().enumerate() {
            let descriptor =
                symbols::prefixed(&module_prefix(prefix, module), symbols::MODULE_DESCRIPTOR);
            let Some(&symbol) = self.globals.get(descriptor.as_bytes()) else {
                return Err(emit_error(format!(
                    "{}: its object defines no {descriptor}",
                    describe(module)
                )));
            };
            let offset = image_offset + 8 * (symbols::COMPONENT_IMAGE_HEADER_WORDS + index) as u64;
            self.pointer(table, offset, symbol)?;
        }
        let first_function = symbols::COMPONENT_IMAGE_HEADER_WORDS + plan.modules.len();
        for (index, name) in functions.iter().enumerate() {
            let symbol = self.global(name);
            let offset = image_offset + 8 * (first_function + index) as u64;
            self.pointer(table, offset, symbol)?;
        }
        Ok(())
    }

    /// The global symbol `name`, undefined unless a module defines it.
    fn global(&mut self, name: &str) -> SymbolId {
        if let Some(&id) = self.globals.get(name.as_bytes()) {
            return id;
        }
        let id = self.object.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Data,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        });
        self.globals.insert(name.as_bytes().to_vec(), id);
        id
    }

    /// Makes the 8 bytes at `offset` of `section` the address of `symbol`.
    fn pointer(&mut self, section: SectionId, offset: u64, symbol: SymbolId) -> Result<()> {
        self.object
            .add_relocation(
                section,
                Relocation {
                    offset,
                    symbol,
                    addend: 0,
                    flags: RelocationFlags::Generic {
                        kind: RelocationKind::Absolute,
                        encoding: RelocationEncoding::Generic,
                        size: 64,
                    },
                },
            )
            .map_err(|e| emit_error(e.to_string()))
    }
}
