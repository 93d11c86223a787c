//! Where each part of a kiln object goes in the loader's one mapping: which sections are
//! loaded, the call stubs and GOT slots their relocations need, and every address.
//!
//! ```text
//!  one fresh mapping, each part page-aligned:
//!  ┌────────────────────────────┬──────────────────────────┬────────────────────────┐
//!  │ executable sections        │ read-only sections, GOT  │ writable sections      │
//!  │ + call stubs (R X)         │ (R)                      │ (.data, .bss: R W)     │
//!  └────────────────────────────┴──────────────────────────┴────────────────────────┘
//! ```

use super::elf::{parse_error, Arch};
use super::reloc::{is_call, uses_got};
use super::symbols::STUB_SIZE;
use crate::Error;
use object::elf;
use object::{
    Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionFlags,
    SectionIndex, SymbolIndex,
};
use std::collections::HashMap;

/// The parts of the mapping, in address order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part {
    Code = 0,
    ReadOnly = 1,
    Writable = 2,
}

/// A section to load.
#[derive(Clone, Copy, Debug)]
pub(super) struct LoadedSection {
    pub index: SectionIndex,
    pub part: Part,
    pub size: u64,
    pub align: u64,
    /// Offset in the mapping.
    pub offset: u64,
}

/// The plan of the mapping; every offset is from its start.
#[derive(Debug)]
pub(super) struct Layout {
    pub sections: Vec<LoadedSection>,
    /// Position in `sections` of each loaded section.
    pub loaded: HashMap<SectionIndex, usize>,
    /// GOT slot of each symbol whose address some relocation loads from the GOT.
    pub got_slots: HashMap<SymbolIndex, u64>,
    /// Stub of each undefined symbol that some relocation calls.
    pub stubs: HashMap<SymbolIndex, u64>,
    pub stubs_offset: u64,
    pub got_offset: u64,
    /// Where each part starts, then the mapping's length.
    pub part_starts: [u64; 4],
}

impl Layout {
    /// Total length of the mapping.
    pub fn len(&self) -> u64 {
        self.part_starts[3]
    }

    /// Offset of part `part` and of what follows it.
    pub fn part_range(&self, part: Part) -> std::ops::Range<u64> {
        self.part_starts[part as usize]..self.part_starts[part as usize + 1]
    }

    /// Offset of stub `stub`.
    pub fn stub_offset(&self, stub: u64) -> u64 {
        self.stubs_offset + STUB_SIZE * stub
    }

    /// Offset of GOT slot `slot`.
    pub fn got_slot_offset(&self, slot: u64) -> u64 {
        self.got_offset + 8 * slot
    }
}

/// Plans the mapping for `file` with pages of `page` bytes.
pub(super) fn plan(file: &object::File<'_>, arch: Arch, page: u64) -> Result<Layout, Error> {
    let mut sections = loaded_sections(file);
    let loaded = sections
        .iter()
        .enumerate()
        .map(|(position, section)| (section.index, position))
        .collect();
    let (got_slots, stubs) = indirections(file, arch, &sections)?;

    // Code and stubs, then read-only data and the GOT, then writable data.
    let overflow = || Error::new("kiln object too large to load");
    let mut cursor = 0u64;
    let mut part_starts = [0u64; 4];
    let (mut stubs_offset, mut got_offset) = (0, 0);
    for part in [Part::Code, Part::ReadOnly, Part::Writable] {
        cursor = cursor.checked_next_multiple_of(page).ok_or_else(overflow)?;
        part_starts[part as usize] = cursor;
        for section in sections.iter_mut().filter(|section| section.part == part) {
            cursor = cursor
                .checked_next_multiple_of(section.align)
                .ok_or_else(overflow)?;
            section.offset = cursor;
            cursor = cursor.checked_add(section.size).ok_or_else(overflow)?;
        }
        let (offset, size) = match part {
            Part::Code => (&mut stubs_offset, (16, STUB_SIZE * stubs.len() as u64)),
            Part::ReadOnly => (&mut got_offset, (8, 8 * got_slots.len() as u64)),
            Part::Writable => continue,
        };
        cursor = cursor
            .checked_next_multiple_of(size.0)
            .ok_or_else(overflow)?;
        *offset = cursor;
        cursor = cursor.checked_add(size.1).ok_or_else(overflow)?;
    }
    part_starts[3] = cursor
        .checked_next_multiple_of(page)
        .ok_or_else(overflow)?
        .max(page);
    Ok(Layout {
        sections,
        loaded,
        got_slots,
        stubs,
        stubs_offset,
        got_offset,
        part_starts,
    })
}

/// The sections that occupy memory at run time (unwind tables left out: the runtime walks
/// frame pointers), each with the part it goes to.
fn loaded_sections(file: &object::File<'_>) -> Vec<LoadedSection> {
    let mut sections = Vec::new();
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags, .. } = section.flags() else {
            continue;
        };
        let name = section.name().unwrap_or("");
        if sh_flags.0 & elf::SHF_ALLOC.0 == 0
            || section.size() == 0
            || name.starts_with(".eh_frame")
        {
            continue;
        }
        let part = if sh_flags.0 & elf::SHF_EXECINSTR.0 != 0 {
            Part::Code
        } else if sh_flags.0 & elf::SHF_WRITE.0 != 0 {
            Part::Writable
        } else {
            Part::ReadOnly
        };
        sections.push(LoadedSection {
            index: section.index(),
            part,
            size: section.size(),
            align: section.align().max(1),
            offset: 0,
        });
    }
    sections
}

/// The GOT slots and call stubs the relocations of `sections` need.
#[allow(clippy::type_complexity)]
fn indirections(
    file: &object::File<'_>,
    arch: Arch,
    sections: &[LoadedSection],
) -> Result<(HashMap<SymbolIndex, u64>, HashMap<SymbolIndex, u64>), Error> {
    let mut got_slots: HashMap<SymbolIndex, u64> = HashMap::new();
    let mut stubs: HashMap<SymbolIndex, u64> = HashMap::new();
    for loaded in sections {
        let section = file.section_by_index(loaded.index).map_err(parse_error)?;
        for (_, relocation) in section.relocations() {
            let RelocationTarget::Symbol(symbol_index) = relocation.target() else {
                continue;
            };
            let RelocationFlags::Elf { r_type } = relocation.flags() else {
                continue;
            };
            if uses_got(arch, r_type) {
                let next = got_slots.len() as u64;
                got_slots.entry(symbol_index).or_insert(next);
            }
            let symbol = file.symbol_by_index(symbol_index).map_err(parse_error)?;
            if symbol.is_undefined() && is_call(arch, r_type) {
                let next = stubs.len() as u64;
                stubs.entry(symbol_index).or_insert(next);
            }
        }
    }
    Ok((got_slots, stubs))
}
