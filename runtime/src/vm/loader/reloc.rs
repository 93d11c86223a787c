//! Relocations: which ones kiln objects use, how wide each is, and how each patches its
//! place, with overflow checks (a value that does not fit is an error, never a silent
//! truncation).

use super::elf::Arch;
use object::elf;

/// Whether a relocation reads its target through the GOT.
pub(super) fn uses_got(arch: Arch, r_type: elf::RelocationType) -> bool {
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
pub(super) fn is_call(arch: Arch, r_type: elf::RelocationType) -> bool {
    match arch {
        Arch::X86_64 => matches!(r_type, elf::R_X86_64_PLT32 | elf::R_X86_64_PC32),
        Arch::Aarch64 => matches!(r_type, elf::R_AARCH64_CALL26 | elf::R_AARCH64_JUMP26),
    }
}

/// Bytes a relocation of this type patches, or `None` if unsupported.
pub(super) fn relocation_width(arch: Arch, r_type: elf::RelocationType) -> Option<u64> {
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
pub(super) struct Fixup {
    /// P: the address being patched.
    pub place: u64,
    /// S: the symbol's (or stub's) address.
    pub target: u64,
    /// A.
    pub addend: i64,
    /// The symbol's GOT entry, for GOT relocations.
    pub got_entry: Option<u64>,
}

fn fits_signed(value: i64, bits: u32) -> bool {
    let limit = 1i64 << (bits - 1);
    (-limit..limit).contains(&value)
}

fn page_of(address: u64) -> u64 {
    address & !0xfff
}

/// Patches `place` (exactly the relocation's width) for one relocation.
pub(super) fn apply_relocation(
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
}
