//! The loader (feature `loader`): maps a kiln object file (an ELF relocatable made by the
//! compiler) into the running process, as the system linker would have linked it into an
//! executable, for `kiln run` and the spec tests.
//!
//! One fresh mapping holds the object, each part page-aligned (`layout.rs`): code and
//! call stubs, read-only data and a GOT, writable data.
//!
//! Sections are copied in (`.bss` stays zero), relocations applied with overflow checks,
//! then each part gets its final protection (and the instruction cache is synchronised on
//! aarch64). Symbols outside the object are limited to the few runtime routines Cranelift
//! may call (libm rounding and fused multiply-add, `mem*`); calls to them go through stubs
//! in the executable part, loads of their addresses through a small GOT. Like all
//! registered code, the mapping is never unmapped once the module is created.
//!
//! Phases, one function each: check the file (`elf.rs`), plan the layout (`layout.rs`), copy the sections in, fill
//! the stubs and GOT (`symbols.rs`), apply the relocations (`reloc.rs`), find the
//! descriptor, protect the parts.

mod elf;
mod layout;
mod reloc;
mod symbols;

use super::code::flush_icache;
use super::mmap::{page_size, Mmap, Protection};
use super::module::Module;
use crate::Error;
use elf::{check_file, parse_error, Arch};
use kiln_abi::descriptor::ModuleDescriptor;
use layout::{Layout, Part};
use object::{
    Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SymbolIndex,
    SymbolSection,
};
use reloc::{apply_relocation, is_call, relocation_width, Fixup};
use symbols::{external_symbol, write_stub, STUB_SIZE};

/// Loads a kiln object and wraps its `<symbol_prefix>kiln_module` descriptor.
pub fn load_object(object: &[u8], symbol_prefix: &str) -> Result<Module, Error> {
    let file = object::File::parse(object).map_err(parse_error)?;
    let arch = check_file(&file)?;
    let layout = layout::plan(&file, arch, page_size() as u64)?;
    let len = usize::try_from(layout.len()).map_err(|_| Error::new("kiln object too large"))?;
    let mut mapping = Mmap::accessible(len).map_err(|error| {
        Error::new(format!("cannot map {len} bytes for a kiln object: {error}"))
    })?;
    let loaded = Loaded {
        file: &file,
        arch,
        layout: &layout,
        base: mapping.as_ptr() as u64,
    };
    // SAFETY: the mapping is ours, read-write, and nothing else views it until `protect`.
    let bytes = unsafe { mapping.slice_mut(0, len) };
    loaded.copy_sections(bytes)?;
    loaded.fill_stubs_and_got(bytes)?;
    loaded.relocate(bytes)?;
    let descriptor = loaded.descriptor(symbol_prefix)?;
    protect(&mut mapping, &layout, arch)?;
    // The mapping stays for the life of the process, like all registered code.
    let _ = mapping.into_raw();
    // SAFETY: the descriptor lies in our mapping, which is relocated, protected and never
    // unmapped from here on; it was written by the kiln compiler (magic and version are
    // checked by `from_descriptor`).
    unsafe { Module::from_descriptor(&*(descriptor as *const ModuleDescriptor)) }
}

/// An object being loaded at `base` per its layout.
struct Loaded<'a> {
    file: &'a object::File<'a>,
    arch: Arch,
    layout: &'a Layout,
    base: u64,
}

impl Loaded<'_> {
    /// Copies each section's bytes to its place (`.bss` stays zero).
    fn copy_sections(&self, bytes: &mut [u8]) -> Result<(), Error> {
        for loaded in &self.layout.sections {
            let section = self
                .file
                .section_by_index(loaded.index)
                .map_err(parse_error)?;
            if section.kind() == object::SectionKind::UninitializedData {
                continue;
            }
            let data = section.data().map_err(parse_error)?;
            let start = loaded.offset as usize;
            bytes[start..start + data.len()].copy_from_slice(data);
        }
        Ok(())
    }

    /// The address of a symbol: in a loaded section, absolute, or one of the routines
    /// outside the object that compiled code may call.
    fn symbol_address(&self, symbol_index: SymbolIndex) -> Result<u64, Error> {
        let symbol = self
            .file
            .symbol_by_index(symbol_index)
            .map_err(parse_error)?;
        match symbol.section() {
            SymbolSection::Section(section) => {
                let position = self.layout.loaded.get(&section).ok_or_else(|| {
                    Error::new(format!(
                        "symbol `{}` lies in a section that is not loaded",
                        symbol.name().unwrap_or("?")
                    ))
                })?;
                Ok(self.base + self.layout.sections[*position].offset + symbol.address())
            }
            SymbolSection::Absolute => Ok(symbol.address()),
            SymbolSection::Undefined => {
                let name = symbol.name().unwrap_or("");
                external_symbol(name)
                    .map(|address| address as u64)
                    .ok_or_else(|| Error::new(format!("undefined symbol `{name}` in kiln object")))
            }
            _ => Err(Error::new(format!(
                "unsupported symbol `{}` (common or unknown section)",
                symbol.name().unwrap_or("?")
            ))),
        }
    }

    /// Writes each call stub and GOT slot with its symbol's address.
    fn fill_stubs_and_got(&self, bytes: &mut [u8]) -> Result<(), Error> {
        for (&symbol_index, &stub) in &self.layout.stubs {
            let target = self.symbol_address(symbol_index)?;
            let offset = self.layout.stub_offset(stub) as usize;
            write_stub(
                self.arch,
                &mut bytes[offset..offset + STUB_SIZE as usize],
                target,
            );
        }
        for (&symbol_index, &slot) in &self.layout.got_slots {
            let target = self.symbol_address(symbol_index)?;
            let offset = self.layout.got_slot_offset(slot) as usize;
            bytes[offset..offset + 8].copy_from_slice(&target.to_le_bytes());
        }
        Ok(())
    }

    /// Applies every relocation of every loaded section.
    fn relocate(&self, bytes: &mut [u8]) -> Result<(), Error> {
        let (arch, layout, base) = (self.arch, self.layout, self.base);
        for loaded in &layout.sections {
            let section = self
                .file
                .section_by_index(loaded.index)
                .map_err(parse_error)?;
            for (offset, relocation) in section.relocations() {
                let RelocationFlags::Elf { r_type } = relocation.flags() else {
                    return Err(Error::new("non-ELF relocation in kiln object"));
                };
                let (target, got_entry) = match relocation.target() {
                    RelocationTarget::Symbol(symbol_index) => {
                        let symbol = self
                            .file
                            .symbol_by_index(symbol_index)
                            .map_err(parse_error)?;
                        let target = match layout.stubs.get(&symbol_index) {
                            Some(&stub) if symbol.is_undefined() && is_call(arch, r_type) => {
                                base + layout.stub_offset(stub)
                            }
                            _ => self.symbol_address(symbol_index)?,
                        };
                        let got_entry = layout
                            .got_slots
                            .get(&symbol_index)
                            .map(|&slot| base + layout.got_slot_offset(slot));
                        (target, got_entry)
                    }
                    RelocationTarget::Section(section) => {
                        let position = layout.loaded.get(&section).ok_or_else(|| {
                            Error::new("relocation against a section that is not loaded")
                        })?;
                        (base + layout.sections[*position].offset, None)
                    }
                    RelocationTarget::Absolute => (0, None),
                    _ => return Err(Error::new("unsupported relocation target")),
                };
                let width = relocation_width(arch, r_type).ok_or_else(|| {
                    Error::new(format!(
                        "unsupported relocation type {} for {arch:?}",
                        r_type.0
                    ))
                })?;
                if offset
                    .checked_add(width)
                    .is_none_or(|end| end > loaded.size)
                {
                    return Err(Error::new("relocation outside its section"));
                }
                let place_offset = (loaded.offset + offset) as usize;
                let place = &mut bytes[place_offset..place_offset + width as usize];
                let fixup = Fixup {
                    place: base + loaded.offset + offset,
                    target,
                    addend: relocation.addend(),
                    got_entry,
                };
                apply_relocation(arch, r_type, place, fixup).map_err(|reason| {
                    Error::new(format!(
                        "relocation type {} at offset {offset:#x}: {reason}",
                        r_type.0
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// The address of the `<symbol_prefix>kiln_module` descriptor, checked to lie in the
    /// mapping.
    fn descriptor(&self, symbol_prefix: &str) -> Result<u64, Error> {
        let name = format!("{symbol_prefix}{}", kiln_abi::symbols::MODULE_DESCRIPTOR);
        let symbol = self
            .file
            .symbols()
            .find(|symbol| symbol.name() == Ok(name.as_str()) && !symbol.is_undefined())
            .ok_or_else(|| Error::new(format!("kiln object has no `{name}` symbol")))?;
        let address = self.symbol_address(symbol.index())?;
        let end = address + std::mem::size_of::<ModuleDescriptor>() as u64;
        if address % 8 != 0 || address < self.base || end > self.base + self.layout.len() {
            return Err(Error::new(format!(
                "`{name}` is not a descriptor in a loaded section"
            )));
        }
        Ok(address)
    }
}

/// Gives each part its final protection, and synchronises the instruction cache with the
/// code on aarch64.
fn protect(mapping: &mut Mmap, layout: &Layout, arch: Arch) -> Result<(), Error> {
    for (part, protection) in [
        (Part::Code, Protection::ReadExecute),
        (Part::ReadOnly, Protection::Read),
        (Part::Writable, Protection::ReadWrite),
    ] {
        let range = layout.part_range(part);
        mapping
            .protect(
                range.start as usize,
                (range.end - range.start) as usize,
                protection,
            )
            .map_err(|error| {
                Error::new(format!("cannot protect a kiln object's memory: {error}"))
            })?;
    }
    if arch == Arch::Aarch64 {
        let code = layout.part_range(Part::Code);
        flush_icache(
            mapping.as_ptr() as usize + code.start as usize,
            (code.end - code.start) as usize,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_objects_are_refused_cleanly() {
        let error = load_object(b"not an object", "").unwrap_err();
        assert!(
            error.to_string().contains("cannot parse kiln object"),
            "{error}"
        );
        let error = load_object(&[], "").unwrap_err();
        assert!(error.to_string().contains("cannot parse"), "{error}");
    }
}
