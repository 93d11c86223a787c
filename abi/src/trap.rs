//! Trap codes: why a guest stopped. Compiled code records one per trapping instruction in
//! the trap table; the runtime reports it with the spec's wording.

/// The reason a trap happened. The numeric values are part of the ABI: they are stored in
/// the trap table of every kiln object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrapCode {
    /// The stack-limit check in a function prologue failed.
    StackOverflow = 1,
    /// A load or store outside the bounds of linear memory.
    MemoryOutOfBounds = 2,
    /// An atomic access at an address that is not naturally aligned.
    HeapMisaligned = 3,
    /// A table access outside the bounds of the table.
    TableOutOfBounds = 4,
    /// `call_indirect` through a null table entry.
    IndirectCallToNull = 5,
    /// `call_indirect` to a function of another type.
    BadSignature = 6,
    /// Signed division overflow (`INT_MIN / -1`).
    IntegerOverflow = 7,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 8,
    /// A float-to-int conversion of NaN or of a value out of range.
    BadConversionToInteger = 9,
    /// The `unreachable` instruction.
    Unreachable = 10,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement = 11,
    /// A null reference was dereferenced.
    NullReference = 12,
    /// A host function asked to unwind the guest (an error or `proc_exit`); the runtime
    /// keeps the reason on the side.
    HostUnwind = 13,
    /// The guest ran out of its time budget.
    Interrupt = 14,
}

impl TrapCode {
    /// Every trap code, for tables and tests.
    pub const ALL: [TrapCode; 14] = [
        TrapCode::StackOverflow,
        TrapCode::MemoryOutOfBounds,
        TrapCode::HeapMisaligned,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::IntegerOverflow,
        TrapCode::IntegerDivisionByZero,
        TrapCode::BadConversionToInteger,
        TrapCode::Unreachable,
        TrapCode::UndefinedElement,
        TrapCode::NullReference,
        TrapCode::HostUnwind,
        TrapCode::Interrupt,
    ];

    /// The code stored in a trap table, back to the enum.
    pub fn from_u8(byte: u8) -> Option<TrapCode> {
        TrapCode::ALL.into_iter().find(|code| *code as u8 == byte)
    }

    /// The message the WebAssembly specification's test suite uses for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::HeapMisaligned => "unaligned atomic",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::Unreachable => "unreachable",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::NullReference => "null reference",
            TrapCode::HostUnwind => "host function error",
            TrapCode::Interrupt => "interrupt",
        }
    }
}

impl core::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

/// One trap-table entry: an instruction that may trap, by its offset from the start of its
/// function, and why it would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct TrapEntry {
    /// Offset of the trapping instruction from the start of its function's code.
    pub code_offset: u32,
    /// The [`TrapCode`] as a byte.
    pub trap_code: u8,
}

impl TrapEntry {
    /// Size of an entry in the trap table.
    pub const SIZE: usize = core::mem::size_of::<TrapEntry>();

    /// The bytes of an entry as the compiler writes it.
    pub fn encode(&self) -> [u8; TrapEntry::SIZE] {
        let mut bytes = [0u8; TrapEntry::SIZE];
        bytes[core::mem::offset_of!(TrapEntry, code_offset)..][..4]
            .copy_from_slice(&self.code_offset.to_le_bytes());
        bytes[core::mem::offset_of!(TrapEntry, trap_code)] = self.trap_code;
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip() {
        for code in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(code as u8), Some(code));
        }
        assert_eq!(TrapCode::from_u8(0), None);
        assert_eq!(TrapCode::from_u8(200), None);
    }
}
