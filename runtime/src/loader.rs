//! The loader (feature `loader`): maps a kiln object file (an ELF relocatable made by the
//! compiler) into the running process, as the system linker would have linked it into an
//! executable, for `kiln run` and the spec tests.
//!
//! ```text
//!  one fresh mapping, each part page-aligned:
//!  ┌────────────────────────────┬──────────────────────────┬────────────────────────┐
//!  │ executable sections        │ read-only sections, GOT  │ writable sections      │
//!  │ + call stubs (R X)         │ (R)                      │ (.data, .bss: R W)     │
//!  └────────────────────────────┴──────────────────────────┴────────────────────────┘
//! ```
//!
//! Sections are copied in (`.bss` stays zero), relocations applied with overflow checks,
//! then each part gets its final protection (and the instruction cache is synchronised on
//! aarch64). Symbols outside the object are limited to the few runtime routines Cranelift
//! may call (libm rounding and fused multiply-add, `mem*`); calls to them go through stubs
//! in the executable part, loads of their addresses through a small GOT. Like all
//! registered code, the mapping is never unmapped once the module is created.

use crate::module::Module;
use crate::Error;
use kiln_abi::descriptor::ModuleDescriptor;
use object::elf;
use object::{
    Architecture, BinaryFormat, Object, ObjectKind, ObjectSection, ObjectSymbol, RelocationFlags,
    RelocationTarget, SectionFlags, SectionIndex, SymbolIndex, SymbolSection,
};
use std::collections::HashMap;

/// Loads a kiln object and wraps its `<symbol_prefix>kiln_module` descriptor.
pub fn load_object(object: &[u8], symbol_prefix: &str) -> Result<Module, Error> {
    let file = object::File::parse(object)
        .map_err(|error| Error::new(format!("cannot parse kiln object: {error}")))?;
    let arch = check_file(&file)?;
    let page = crate::traps::page_size() as u64;

    // Which sections to load, and what the relocations need besides them.
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
        sections.push((
            section.index(),
            part,
            section.size(),
            section.align().max(1),
        ));
    }
    let loaded: HashMap<SectionIndex, usize> = sections
        .iter()
        .enumerate()
        .map(|(slot, (index, ..))| (*index, slot))
        .collect();

    let mut got_slots: HashMap<SymbolIndex, u64> = HashMap::new();
    let mut stubs: HashMap<SymbolIndex, u64> = HashMap::new();
    for &(index, ..) in &sections {
        let section = file.section_by_index(index).map_err(parse_error)?;
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

    // Layout: code and stubs, then read-only data and the GOT, then writable data.
    let mut addresses = vec![0u64; sections.len()];
    let mut cursor = 0u64;
    let mut part_starts = [0u64; 4];
    let mut stubs_offset = 0;
    let mut got_offset = 0;
    for part in [Part::Code, Part::ReadOnly, Part::Writable] {
        cursor = cursor.next_multiple_of(page);
        part_starts[part as usize] = cursor;
        for (slot, &(_, section_part, size, align)) in sections.iter().enumerate() {
            if section_part == part {
                cursor = cursor.next_multiple_of(align);
                addresses[slot] = cursor;
                cursor += size;
            }
        }
        match part {
            Part::Code => {
                cursor = cursor.next_multiple_of(16);
                stubs_offset = cursor;
                cursor += STUB_SIZE * stubs.len() as u64;
            }
            Part::ReadOnly => {
                cursor = cursor.next_multiple_of(8);
                got_offset = cursor;
                cursor += 8 * got_slots.len() as u64;
            }
            Part::Writable => {}
        }
    }
    let total = cursor.next_multiple_of(page).max(page);
    part_starts[3] = total;
    let mut mapping = Mapping::new(total as usize)?;
    let base = mapping.base as u64;

    // Contents.
    for (slot, &(index, ..)) in sections.iter().enumerate() {
        let section = file.section_by_index(index).map_err(parse_error)?;
        if section.kind() == object::SectionKind::UninitializedData {
            continue;
        }
        let data = section.data().map_err(parse_error)?;
        let start = addresses[slot] as usize;
        mapping.bytes_mut()[start..start + data.len()].copy_from_slice(data);
    }

    // Symbol values.
    let symbol_address = |symbol_index: SymbolIndex| -> Result<u64, Error> {
        let symbol = file.symbol_by_index(symbol_index).map_err(parse_error)?;
        match symbol.section() {
            SymbolSection::Section(section) => {
                let slot = loaded.get(&section).ok_or_else(|| {
                    Error::new(format!(
                        "symbol `{}` lies in a section that is not loaded",
                        symbol.name().unwrap_or("?")
                    ))
                })?;
                Ok(base + addresses[*slot] + symbol.address())
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
    };

    // Stubs and GOT.
    for (&symbol_index, &stub) in &stubs {
        let target = symbol_address(symbol_index)?;
        let offset = (stubs_offset + STUB_SIZE * stub) as usize;
        write_stub(
            arch,
            &mut mapping.bytes_mut()[offset..offset + STUB_SIZE as usize],
            target,
        );
    }
    for (&symbol_index, &slot) in &got_slots {
        let target = symbol_address(symbol_index)?;
        let offset = (got_offset + 8 * slot) as usize;
        mapping.bytes_mut()[offset..offset + 8].copy_from_slice(&target.to_le_bytes());
    }

    // Relocations.
    for (slot, &(index, _, size, _)) in sections.iter().enumerate() {
        let section = file.section_by_index(index).map_err(parse_error)?;
        for (offset, relocation) in section.relocations() {
            let RelocationFlags::Elf { r_type } = relocation.flags() else {
                return Err(Error::new("non-ELF relocation in kiln object"));
            };
            let (target, got_entry) = match relocation.target() {
                RelocationTarget::Symbol(symbol_index) => {
                    let symbol = file.symbol_by_index(symbol_index).map_err(parse_error)?;
                    let target = match stubs.get(&symbol_index) {
                        Some(&stub) if symbol.is_undefined() && is_call(arch, r_type) => {
                            base + stubs_offset + STUB_SIZE * stub
                        }
                        _ => symbol_address(symbol_index)?,
                    };
                    let got_entry = got_slots
                        .get(&symbol_index)
                        .map(|slot| base + got_offset + 8 * slot);
                    (target, got_entry)
                }
                RelocationTarget::Section(section) => {
                    let slot = loaded.get(&section).ok_or_else(|| {
                        Error::new("relocation against a section that is not loaded")
                    })?;
                    (base + addresses[*slot], None)
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
            if offset.checked_add(width).is_none_or(|end| end > size) {
                return Err(Error::new("relocation outside its section"));
            }
            let place_offset = (addresses[slot] + offset) as usize;
            let place = &mut mapping.bytes_mut()[place_offset..place_offset + width as usize];
            let fixup = Fixup {
                place: base + addresses[slot] + offset,
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

    // The descriptor.
    let name = format!("{symbol_prefix}{}", kiln_abi::symbols::MODULE_DESCRIPTOR);
    let descriptor_symbol = file
        .symbols()
        .find(|symbol| symbol.name() == Ok(name.as_str()) && !symbol.is_undefined())
        .ok_or_else(|| Error::new(format!("kiln object has no `{name}` symbol")))?;
    let descriptor_address = symbol_address(descriptor_symbol.index())?;
    let descriptor_end = descriptor_address + std::mem::size_of::<ModuleDescriptor>() as u64;
    if descriptor_address % 8 != 0 || descriptor_address < base || descriptor_end > base + total {
        return Err(Error::new(format!(
            "`{name}` is not a descriptor in a loaded section"
        )));
    }

    mapping.protect(part_starts)?;
    if arch == Arch::Aarch64 {
        let code = part_starts[Part::Code as usize] as usize
            ..part_starts[Part::ReadOnly as usize] as usize;
        crate::code::flush_icache(mapping.base as usize + code.start, code.len());
    }
    let mapping = mapping.leak();
    let _ = mapping;
    // SAFETY: the descriptor lies in our mapping, which is relocated, protected and never
    // unmapped from here on; it was written by the kiln compiler (magic and version are
    // checked by `from_descriptor`).
    unsafe { Module::from_descriptor(&*(descriptor_address as *const ModuleDescriptor)) }
}

fn parse_error(error: object::Error) -> Error {
    Error::new(format!("cannot parse kiln object: {error}"))
}

/// The supported targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arch {
    X86_64,
    Aarch64,
}

/// Checks that the file is an ELF relocatable for this machine.
fn check_file(file: &object::File<'_>) -> Result<Arch, Error> {
    if file.format() != BinaryFormat::Elf || file.kind() != ObjectKind::Relocatable {
        return Err(Error::new("kiln object must be an ELF relocatable file"));
    }
    if !file.is_64() || !file.is_little_endian() {
        return Err(Error::new("kiln object must be 64-bit little-endian"));
    }
    let (arch, host) = match file.architecture() {
        Architecture::X86_64 => (Arch::X86_64, cfg!(target_arch = "x86_64")),
        Architecture::Aarch64 => (Arch::Aarch64, cfg!(target_arch = "aarch64")),
        other => {
            return Err(Error::new(format!(
                "kiln object is for unsupported architecture {other:?}"
            )))
        }
    };
    if !host {
        return Err(Error::new(format!(
            "kiln object is for {arch:?}, not for this machine"
        )));
    }
    Ok(arch)
}

/// The parts of the mapping, in address order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Code = 0,
    ReadOnly = 1,
    Writable = 2,
}

/// Size of a call stub (both architectures).
const STUB_SIZE: u64 = 16;

/// Writes a stub that jumps to `target`.
fn write_stub(arch: Arch, stub: &mut [u8], target: u64) {
    match arch {
        // jmp [rip + 0]; .quad target; int3 int3
        Arch::X86_64 => {
            stub[..6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
            stub[6..14].copy_from_slice(&target.to_le_bytes());
            stub[14..16].copy_from_slice(&[0xcc, 0xcc]);
        }
        // ldr x16, #8; br x16; .quad target
        Arch::Aarch64 => {
            stub[..4].copy_from_slice(&0x5800_0050u32.to_le_bytes());
            stub[4..8].copy_from_slice(&0xd61f_0200u32.to_le_bytes());
            stub[8..16].copy_from_slice(&target.to_le_bytes());
        }
    }
}

/// The routines compiled code may call outside its object.
fn external_symbol(name: &str) -> Option<usize> {
    extern "C" fn ceilf(x: f32) -> f32 {
        x.ceil()
    }
    extern "C" fn ceil(x: f64) -> f64 {
        x.ceil()
    }
    extern "C" fn floorf(x: f32) -> f32 {
        x.floor()
    }
    extern "C" fn floor(x: f64) -> f64 {
        x.floor()
    }
    extern "C" fn truncf(x: f32) -> f32 {
        x.trunc()
    }
    extern "C" fn trunc(x: f64) -> f64 {
        x.trunc()
    }
    extern "C" fn nearbyintf(x: f32) -> f32 {
        x.round_ties_even()
    }
    extern "C" fn nearbyint(x: f64) -> f64 {
        x.round_ties_even()
    }
    extern "C" fn fmaf(x: f32, y: f32, z: f32) -> f32 {
        x.mul_add(y, z)
    }
    extern "C" fn fma(x: f64, y: f64, z: f64) -> f64 {
        x.mul_add(y, z)
    }
    Some(match name {
        "ceilf" => ceilf as *const () as usize,
        "ceil" => ceil as *const () as usize,
        "floorf" => floorf as *const () as usize,
        "floor" => floor as *const () as usize,
        "truncf" => truncf as *const () as usize,
        "trunc" => trunc as *const () as usize,
        "nearbyintf" => nearbyintf as *const () as usize,
        "nearbyint" => nearbyint as *const () as usize,
        "fmaf" => fmaf as *const () as usize,
        "fma" => fma as *const () as usize,
        "memcpy" => libc::memcpy as *const () as usize,
        "memmove" => libc::memmove as *const () as usize,
        "memset" => libc::memset as *const () as usize,
        "memcmp" => libc::memcmp as *const () as usize,
        _ => return None,
    })
}

/// Whether a relocation reads its target through the GOT.
fn uses_got(arch: Arch, r_type: elf::RelocationType) -> bool {
    match arch {
        Arch::X86_64 => matches!(
            r_type,
            elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX
        ),
        Arch::Aarch64 => matches!(
            r_type,
            elf::R_AARCH64_ADR_GOT_PAGE | elf::R_AARCH64_LD64_GOT_LO12_NC
        ),
    }
}

/// Whether a relocation is a call or jump (which may go through a stub).
fn is_call(arch: Arch, r_type: elf::RelocationType) -> bool {
    match arch {
        Arch::X86_64 => matches!(r_type, elf::R_X86_64_PLT32 | elf::R_X86_64_PC32),
        Arch::Aarch64 => matches!(r_type, elf::R_AARCH64_CALL26 | elf::R_AARCH64_JUMP26),
    }
}

/// Bytes a relocation of this type patches, or `None` if unsupported.
fn relocation_width(arch: Arch, r_type: elf::RelocationType) -> Option<u64> {
    match arch {
        Arch::X86_64 => match r_type {
            elf::R_X86_64_64 | elf::R_X86_64_PC64 => Some(8),
            elf::R_X86_64_PC32
            | elf::R_X86_64_PLT32
            | elf::R_X86_64_32
            | elf::R_X86_64_32S
            | elf::R_X86_64_GOTPCREL
            | elf::R_X86_64_GOTPCRELX
            | elf::R_X86_64_REX_GOTPCRELX => Some(4),
            _ => None,
        },
        Arch::Aarch64 => match r_type {
            elf::R_AARCH64_ABS64 | elf::R_AARCH64_PREL64 => Some(8),
            elf::R_AARCH64_ABS32
            | elf::R_AARCH64_PREL32
            | elf::R_AARCH64_CALL26
            | elf::R_AARCH64_JUMP26
            | elf::R_AARCH64_ADR_PREL_PG_HI21
            | elf::R_AARCH64_ADD_ABS_LO12_NC
            | elf::R_AARCH64_LDST8_ABS_LO12_NC
            | elf::R_AARCH64_LDST16_ABS_LO12_NC
            | elf::R_AARCH64_LDST32_ABS_LO12_NC
            | elf::R_AARCH64_LDST64_ABS_LO12_NC
            | elf::R_AARCH64_LDST128_ABS_LO12_NC
            | elf::R_AARCH64_ADR_GOT_PAGE
            | elf::R_AARCH64_LD64_GOT_LO12_NC => Some(4),
            _ => None,
        },
    }
}

/// The addresses one relocation combines.
#[derive(Clone, Copy, Debug)]
struct Fixup {
    /// P: the address being patched.
    place: u64,
    /// S: the symbol's (or stub's) address.
    target: u64,
    /// A.
    addend: i64,
    /// The symbol's GOT entry, for GOT relocations.
    got_entry: Option<u64>,
}

fn fits_signed(value: i64, bits: u32) -> bool {
    let limit = 1i64 << (bits - 1);
    (-limit..limit).contains(&value)
}

fn page_of(address: u64) -> u64 {
    address & !0xfff
}

/// Patches `place` (exactly the relocation's width) for one relocation.
fn apply_relocation(
    arch: Arch,
    r_type: elf::RelocationType,
    place: &mut [u8],
    fixup: Fixup,
) -> Result<(), String> {
    let Fixup {
        place: p,
        target: s,
        addend: a,
        got_entry,
    } = fixup;
    let s_plus_a = s.wrapping_add(a as u64);
    let pc_relative = s_plus_a.wrapping_sub(p) as i64;
    let got = || got_entry.ok_or_else(|| "GOT relocation without a GOT entry".to_string());
    let write32 = |place: &mut [u8], value: u32| place.copy_from_slice(&value.to_le_bytes());
    let signed32 = |value: i64| -> Result<u32, String> {
        if fits_signed(value, 32) {
            Ok(value as i32 as u32)
        } else {
            Err(format!("value {value:#x} does not fit in 32 signed bits"))
        }
    };
    match arch {
        Arch::X86_64 => match r_type {
            elf::R_X86_64_64 => place.copy_from_slice(&s_plus_a.to_le_bytes()),
            elf::R_X86_64_PC64 => place.copy_from_slice(&pc_relative.to_le_bytes()),
            elf::R_X86_64_PC32 | elf::R_X86_64_PLT32 => write32(place, signed32(pc_relative)?),
            elf::R_X86_64_32 => {
                let value = u32::try_from(s_plus_a).map_err(|_| "value does not fit in 32 bits")?;
                write32(place, value);
            }
            elf::R_X86_64_32S => write32(place, signed32(s_plus_a as i64)?),
            elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX => {
                let value = got()?.wrapping_add(a as u64).wrapping_sub(p) as i64;
                write32(place, signed32(value)?);
            }
            _ => return Err("unsupported relocation type".into()),
        },
        Arch::Aarch64 => {
            let instruction =
                u32::from_le_bytes(place[..4.min(place.len())].try_into().unwrap_or([0; 4]));
            let patched = match r_type {
                elf::R_AARCH64_ABS64 => {
                    place.copy_from_slice(&s_plus_a.to_le_bytes());
                    return Ok(());
                }
                elf::R_AARCH64_PREL64 => {
                    place.copy_from_slice(&pc_relative.to_le_bytes());
                    return Ok(());
                }
                elf::R_AARCH64_ABS32 => {
                    u32::try_from(s_plus_a).map_err(|_| "value does not fit in 32 bits")?
                }
                elf::R_AARCH64_PREL32 => signed32(pc_relative)?,
                elf::R_AARCH64_CALL26 | elf::R_AARCH64_JUMP26 => {
                    if pc_relative % 4 != 0 || !fits_signed(pc_relative, 28) {
                        return Err(format!("branch displacement {pc_relative:#x} out of range"));
                    }
                    (instruction & 0xfc00_0000) | ((pc_relative >> 2) as u32 & 0x03ff_ffff)
                }
                elf::R_AARCH64_ADR_PREL_PG_HI21 | elf::R_AARCH64_ADR_GOT_PAGE => {
                    let address = if r_type == elf::R_AARCH64_ADR_GOT_PAGE {
                        got()?
                    } else {
                        s_plus_a
                    };
                    let delta = page_of(address).wrapping_sub(page_of(p)) as i64;
                    if !fits_signed(delta, 33) {
                        return Err(format!("page displacement {delta:#x} out of range"));
                    }
                    let immediate = (delta >> 12) as u32;
                    (instruction & 0x9f00_001f)
                        | ((immediate & 3) << 29)
                        | (((immediate >> 2) & 0x7_ffff) << 5)
                }
                elf::R_AARCH64_ADD_ABS_LO12_NC => {
                    (instruction & 0xffc0_03ff) | (((s_plus_a & 0xfff) as u32) << 10)
                }
                elf::R_AARCH64_LDST8_ABS_LO12_NC
                | elf::R_AARCH64_LDST16_ABS_LO12_NC
                | elf::R_AARCH64_LDST32_ABS_LO12_NC
                | elf::R_AARCH64_LDST64_ABS_LO12_NC
                | elf::R_AARCH64_LDST128_ABS_LO12_NC
                | elf::R_AARCH64_LD64_GOT_LO12_NC => {
                    let (address, shift) = match r_type {
                        elf::R_AARCH64_LDST8_ABS_LO12_NC => (s_plus_a, 0),
                        elf::R_AARCH64_LDST16_ABS_LO12_NC => (s_plus_a, 1),
                        elf::R_AARCH64_LDST32_ABS_LO12_NC => (s_plus_a, 2),
                        elf::R_AARCH64_LDST64_ABS_LO12_NC => (s_plus_a, 3),
                        elf::R_AARCH64_LDST128_ABS_LO12_NC => (s_plus_a, 4),
                        _ => (got()?, 3),
                    };
                    let low = address & 0xfff;
                    if low & ((1 << shift) - 1) != 0 {
                        return Err(format!("address {address:#x} misaligned for the access"));
                    }
                    (instruction & 0xffc0_03ff) | (((low >> shift) as u32) << 10)
                }
                _ => return Err("unsupported relocation type".into()),
            };
            write32(place, patched);
        }
    }
    Ok(())
}

/// The loader's mapping; unmapped on drop unless leaked.
struct Mapping {
    base: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> Result<Mapping, Error> {
        // SAFETY: a fresh private anonymous mapping.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::new(format!(
                "cannot map {len} bytes for a kiln object: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(Mapping {
            base: base.cast(),
            len,
        })
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is ours and read-write until `protect`.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }

    /// Gives each part its final protection; `starts` are the part offsets and the end.
    fn protect(&mut self, starts: [u64; 4]) -> Result<(), Error> {
        let protections = [
            libc::PROT_READ | libc::PROT_EXEC,
            libc::PROT_READ,
            libc::PROT_READ | libc::PROT_WRITE,
        ];
        for (part, protection) in protections.into_iter().enumerate() {
            let (start, end) = (starts[part] as usize, starts[part + 1] as usize);
            if end > start {
                // SAFETY: a page-aligned sub-range of our mapping.
                let status =
                    unsafe { libc::mprotect(self.base.add(start).cast(), end - start, protection) };
                if status != 0 {
                    return Err(Error::new(format!(
                        "cannot protect a kiln object's memory: {}",
                        std::io::Error::last_os_error()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Keeps the mapping for the life of the process.
    fn leak(self) -> *mut u8 {
        let base = self.base;
        std::mem::forget(self);
        base
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, not yet handed out.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        arch: Arch,
        r_type: elf::RelocationType,
        before: &[u8],
        fixup: Fixup,
        expected: Result<&[u8], &str>,
    ) {
        let mut place = before.to_vec();
        let result = apply_relocation(arch, r_type, &mut place, fixup);
        match expected {
            Ok(bytes) => {
                assert_eq!(result, Ok(()));
                assert_eq!(place, bytes, "r_type {}", r_type.0);
            }
            Err(message) => assert!(result.unwrap_err().contains(message)),
        }
    }

    fn fixup(place: u64, target: u64, addend: i64) -> Fixup {
        Fixup {
            place,
            target,
            addend,
            got_entry: None,
        }
    }

    #[test]
    fn x86_64_relocations() {
        let x = Arch::X86_64;
        check(
            x,
            elf::R_X86_64_64,
            &[0; 8],
            fixup(0x1000, 0x1234_5678_9abc, 4),
            Ok(&0x1234_5678_9ac0u64.to_le_bytes()),
        );
        check(
            x,
            elf::R_X86_64_PLT32,
            &[0; 4],
            fixup(0x1000, 0x2000, -4),
            Ok(&0xffcu32.to_le_bytes()),
        );
        check(
            x,
            elf::R_X86_64_PC32,
            &[0; 4],
            fixup(0x2000, 0x1000, -4),
            Ok(&(-0x1004i32).to_le_bytes()),
        );
        check(
            x,
            elf::R_X86_64_PC32,
            &[0; 4],
            fixup(0x1000, 0x1_0000_1000, 0),
            Err("does not fit"),
        );
        let got = Fixup {
            place: 0x1000,
            target: 0,
            addend: -4,
            got_entry: Some(0x3000),
        };
        check(
            x,
            elf::R_X86_64_REX_GOTPCRELX,
            &[0; 4],
            got,
            Ok(&0x1ffcu32.to_le_bytes()),
        );
        check(
            x,
            elf::R_X86_64_GOTPCREL,
            &[0; 4],
            fixup(0, 0, 0),
            Err("without a GOT entry"),
        );
    }

    #[test]
    fn aarch64_relocations() {
        let a = Arch::Aarch64;
        let bl = 0x9400_0000u32.to_le_bytes();
        check(
            a,
            elf::R_AARCH64_CALL26,
            &bl,
            fixup(0x1000, 0x2000, 0),
            Ok(&0x9400_0400u32.to_le_bytes()),
        );
        check(
            a,
            elf::R_AARCH64_CALL26,
            &bl,
            fixup(0x2000, 0x1000, 0),
            Ok(&0x97ff_fc00u32.to_le_bytes()),
        );
        check(
            a,
            elf::R_AARCH64_JUMP26,
            &bl,
            fixup(0, 1 << 28, 0),
            Err("out of range"),
        );
        // adrp x0, <page>: page delta 0x12345000 - 0x1000 → immediate 0x12344.
        let adrp = 0x9000_0000u32.to_le_bytes();
        let immediate = 0x12344u32;
        let expected = 0x9000_0000 | ((immediate & 3) << 29) | ((immediate >> 2) << 5);
        check(
            a,
            elf::R_AARCH64_ADR_PREL_PG_HI21,
            &adrp,
            fixup(0x1abc, 0x1234_5678, 0),
            Ok(&expected.to_le_bytes()),
        );
        check(
            a,
            elf::R_AARCH64_ADR_PREL_PG_HI21,
            &adrp,
            fixup(0, 1 << 33, 0),
            Err("out of range"),
        );
        // add x0, x0, #lo12
        let add = 0x9100_0000u32.to_le_bytes();
        check(
            a,
            elf::R_AARCH64_ADD_ABS_LO12_NC,
            &add,
            fixup(0, 0x1234_5678, 0),
            Ok(&(0x9100_0000u32 | (0x678 << 10)).to_le_bytes()),
        );
        // ldr x0, [x0, #lo12] scales by 8.
        let ldr = 0xf940_0000u32.to_le_bytes();
        check(
            a,
            elf::R_AARCH64_LDST64_ABS_LO12_NC,
            &ldr,
            fixup(0, 0x1238, 0),
            Ok(&(0xf940_0000u32 | ((0x238 >> 3) << 10)).to_le_bytes()),
        );
        check(
            a,
            elf::R_AARCH64_LDST64_ABS_LO12_NC,
            &ldr,
            fixup(0, 0x1234, 0),
            Err("misaligned"),
        );
        let got = Fixup {
            place: 0x1000,
            target: 0,
            addend: 0,
            got_entry: Some(0x5008),
        };
        check(
            a,
            elf::R_AARCH64_LD64_GOT_LO12_NC,
            &ldr,
            got,
            Ok(&(0xf940_0000u32 | (1 << 10)).to_le_bytes()),
        );
    }

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

    #[test]
    fn external_symbols_are_limited() {
        assert!(external_symbol("floorf").is_some());
        assert!(external_symbol("system").is_none());
    }
}
