//! The object file itself: parsing errors, and the check that it is a 64-bit little-endian
//! ELF relocatable for this machine's architecture.

use crate::Error;
use object::{Architecture, BinaryFormat, Object, ObjectKind};

/// Why an object cannot be parsed.
pub(super) fn parse_error(error: object::Error) -> Error {
    Error::new(format!("cannot parse kiln object: {error}"))
}

/// The supported targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arch {
    X86_64,
    Aarch64,
}

/// Checks that the file is an ELF relocatable for this machine.
pub(super) fn check_file(file: &object::File<'_>) -> Result<Arch, Error> {
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
