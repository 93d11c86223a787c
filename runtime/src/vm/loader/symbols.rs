//! Symbols outside a kiln object: the few runtime routines Cranelift may call (libm
//! rounding and fused multiply-add, `mem*`), and the stubs through which calls reach them.

use super::elf::Arch;

/// Size of a call stub (both architectures).
pub(super) const STUB_SIZE: u64 = 16;

/// Writes a stub that jumps to `target`.
pub(super) fn write_stub(arch: Arch, stub: &mut [u8], target: u64) {
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
pub(super) fn external_symbol(name: &str) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_symbols_are_limited() {
        assert!(external_symbol("floorf").is_some());
        assert!(external_symbol("system").is_none());
    }
}
