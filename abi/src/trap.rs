//! Trap codes: why a guest stopped. Compiled code records one per trapping instruction in
//! the trap table; the runtime reports it with the spec's wording. The trap table and the
//! call-site table also map code back to wasm byte offsets, for backtraces.

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
    /// An interruption check found the store's epoch bumped: by an interrupt handle, or
    /// by the timer of a time limit (the runtime then reports `TimeLimit`).
    Interrupt = 14,
    /// `call_ref` or `return_call_ref` on a null function reference.
    NullFunctionReference = 15,
    /// An exception thrown by `throw`, `throw_ref` or `rethrow` found no handler before it
    /// reached the host (the outermost wasm call or a host function); the runtime keeps
    /// the exception on the side to name its tag.
    UncaughtException = 16,
    /// A fuel check found the fuel spent.
    OutOfFuel = 17,
    /// `Interrupt` when the store's time limit caused it; never in a trap table.
    TimeLimit = 18,
    /// A component broke a rule of the component model (a dropped or foreign resource
    /// handle, a string out of bounds) or of a WASI 0.2 interface the host checks; the
    /// trap carries a message saying which. Never in a trap table.
    Component = 19,
}

impl TrapCode {
    /// Every trap code, for tables and tests.
    pub const ALL: [TrapCode; 19] = [
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
        TrapCode::NullFunctionReference,
        TrapCode::UncaughtException,
        TrapCode::OutOfFuel,
        TrapCode::TimeLimit,
        TrapCode::Component,
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
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::UncaughtException => "uncaught exception",
            TrapCode::Interrupt => "interrupted",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::TimeLimit => "interrupted: time limit",
            TrapCode::Component => "component rule broken",
        }
    }
}

impl core::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

/// [`TrapEntry::wasm_offset`] or [`CallSiteEntry::wasm_offset`] of code that has no wasm
/// instruction (trampolines).
pub const NO_WASM_OFFSET: u32 = u32::MAX;

/// One trap-table entry: an instruction that may trap, by its offset from the start of its
/// function, why it would, and the wasm instruction it was compiled from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct TrapEntry {
    /// Offset of the trapping instruction from the start of its function's code.
    pub code_offset: u32,
    /// Byte offset, from the start of the module's binary, of the wasm instruction the
    /// trapping instruction belongs to (the function's own offset for the stack-limit
    /// check of its prologue); [`NO_WASM_OFFSET`] in trampolines.
    pub wasm_offset: u32,
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
        bytes[core::mem::offset_of!(TrapEntry, wasm_offset)..][..4]
            .copy_from_slice(&self.wasm_offset.to_le_bytes());
        bytes[core::mem::offset_of!(TrapEntry, trap_code)] = self.trap_code;
        bytes
    }

    /// The wasm offset, unless the entry has none.
    pub fn wasm_offset(&self) -> Option<u32> {
        (self.wasm_offset != NO_WASM_OFFSET).then_some(self.wasm_offset)
    }
}

/// A code entry's trap-table entries, encoded compactly: the table is a quarter of its
/// size as fixed 12-byte entries (a Rust WASI program: 93 KB of 12-byte entries), and a
/// trap is looked up only when one happens, by a scan of one function's entries that
/// allocates nothing (the signal handler's lookup).
///
/// Each entry, in code-offset order: the code offset's increase over the previous entry's
/// (0 before the first) as an unsigned LEB128, the wasm offset's difference from the
/// previous entry's (0 before the first; wrapping `u32` arithmetic, as a zigzag-encoded
/// `i32`) as an unsigned LEB128, then the trap code byte.
#[derive(Clone, Copy, Debug)]
pub struct TrapTable<'a> {
    /// The entries' bytes (and possibly more after them: the next code entry's).
    bytes: &'a [u8],
    /// Number of entries.
    len: u32,
}

impl<'a> TrapTable<'a> {
    /// A table of no entries.
    pub const EMPTY: TrapTable<'static> = TrapTable { bytes: &[], len: 0 };

    /// The `len` entries encoded at the start of `bytes`.
    pub fn new(bytes: &'a [u8], len: u32) -> TrapTable<'a> {
        TrapTable { bytes, len }
    }

    /// Appends the encoding of `entries` (sorted by code offset) to `out`.
    pub fn encode(entries: &[TrapEntry], out: &mut Vec<u8>) {
        let (mut code, mut wasm) = (0u32, 0u32);
        for entry in entries {
            debug_assert!(entry.code_offset >= code, "trap entries not sorted");
            write_leb128(out, entry.code_offset.wrapping_sub(code));
            let delta = entry.wasm_offset.wrapping_sub(wasm) as i32;
            write_leb128(out, ((delta << 1) ^ (delta >> 31)) as u32);
            out.push(entry.trap_code);
            (code, wasm) = (entry.code_offset, entry.wasm_offset);
        }
    }

    /// The entries, in code-offset order; fewer when the bytes end early (a corrupt table).
    pub fn iter(&self) -> impl Iterator<Item = TrapEntry> + 'a {
        let mut bytes = self.bytes;
        let (mut code, mut wasm) = (0u32, 0u32);
        (0..self.len).map_while(move |_| {
            let code_delta = read_leb128(&mut bytes)?;
            let zigzag = read_leb128(&mut bytes)?;
            let (&trap_code, rest) = bytes.split_first()?;
            bytes = rest;
            code = code.wrapping_add(code_delta);
            wasm = wasm.wrapping_add(((zigzag >> 1) as i32 ^ -((zigzag & 1) as i32)) as u32);
            Some(TrapEntry {
                code_offset: code,
                wasm_offset: wasm,
                trap_code,
            })
        })
    }

    /// The entry of the instruction at `code_offset`, if it is a trap site.
    pub fn find(&self, code_offset: u32) -> Option<TrapEntry> {
        self.iter()
            .take_while(|entry| entry.code_offset <= code_offset)
            .find(|entry| entry.code_offset == code_offset)
    }
}

/// Appends `value` as an unsigned LEB128.
fn write_leb128(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads an unsigned LEB128 of at most 5 bytes from the front of `bytes`.
fn read_leb128(bytes: &mut &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u32::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// One call-site entry: a call instruction, by the offset of its return address from the
/// start of its function, and the wasm instruction it was compiled from. A backtrace's
/// outer frames are return addresses, so this is how they get their wasm offsets.
///
/// A call inside a `try_table` (or a legacy `try`) also records its landing pad: where an
/// exception thrown out of the callee resumes in this frame, with the stack pointer at
/// `frame_pointer - frame_offset` and the exception in the first payload register (see
/// ARCHITECTURE.md, "Exceptions").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct CallSiteEntry {
    /// Offset of the call's return address from the start of its function's code.
    pub return_offset: u32,
    /// Byte offset, from the start of the module's binary, of the wasm instruction the call
    /// belongs to (`call`, `call_indirect`, or one that calls a builtin or a libcall);
    /// [`NO_WASM_OFFSET`] in trampolines.
    pub wasm_offset: u32,
    /// Offset of the landing pad from the start of the function's code, or [`NO_HANDLER`]
    /// for a call no handler covers.
    pub handler_offset: u32,
    /// Bytes from the frame pointer down to the stack pointer at the call (the handler's
    /// stack pointer); 0 without a handler.
    pub frame_offset: u32,
}

/// [`CallSiteEntry::handler_offset`] of a call no handler covers.
pub const NO_HANDLER: u32 = u32::MAX;

impl CallSiteEntry {
    /// Size of an entry in the call-site table.
    pub const SIZE: usize = core::mem::size_of::<CallSiteEntry>();

    /// The bytes of an entry as the compiler writes it.
    pub fn encode(&self) -> [u8; CallSiteEntry::SIZE] {
        let mut bytes = [0u8; CallSiteEntry::SIZE];
        bytes[core::mem::offset_of!(CallSiteEntry, return_offset)..][..4]
            .copy_from_slice(&self.return_offset.to_le_bytes());
        bytes[core::mem::offset_of!(CallSiteEntry, wasm_offset)..][..4]
            .copy_from_slice(&self.wasm_offset.to_le_bytes());
        bytes[core::mem::offset_of!(CallSiteEntry, handler_offset)..][..4]
            .copy_from_slice(&self.handler_offset.to_le_bytes());
        bytes[core::mem::offset_of!(CallSiteEntry, frame_offset)..][..4]
            .copy_from_slice(&self.frame_offset.to_le_bytes());
        bytes
    }

    /// The landing pad's offset in the function, if a handler covers the call.
    pub fn handler(&self) -> Option<u32> {
        (self.handler_offset != NO_HANDLER).then_some(self.handler_offset)
    }

    /// The wasm offset, unless the entry has none.
    pub fn wasm_offset(&self) -> Option<u32> {
        (self.wasm_offset != NO_WASM_OFFSET).then_some(self.wasm_offset)
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

    #[test]
    fn entries_encode_at_their_fields_offsets() {
        let trap = TrapEntry {
            code_offset: 0x0102_0304,
            wasm_offset: 0x0506_0708,
            trap_code: 9,
        };
        assert_eq!(TrapEntry::SIZE, 12);
        assert_eq!(trap.encode(), [4, 3, 2, 1, 8, 7, 6, 5, 9, 0, 0, 0]);
        assert_eq!(trap.wasm_offset(), Some(0x0506_0708));
        let call = CallSiteEntry {
            return_offset: 0x10,
            wasm_offset: NO_WASM_OFFSET,
            handler_offset: NO_HANDLER,
            frame_offset: 0,
        };
        assert_eq!(
            call.encode(),
            [0x10, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
        );
        assert_eq!(call.wasm_offset(), None);
        assert_eq!(call.handler(), None);
        let covered = CallSiteEntry {
            handler_offset: 0x40,
            frame_offset: 0x20,
            ..call
        };
        assert_eq!(covered.handler(), Some(0x40));
        assert_eq!(covered.encode()[8..], [0x40, 0, 0, 0, 0x20, 0, 0, 0]);
    }

    #[test]
    fn trap_tables_round_trip_and_stop_at_corrupt_bytes() {
        let entry = |code_offset, wasm_offset, code: TrapCode| TrapEntry {
            code_offset,
            wasm_offset,
            trap_code: code as u8,
        };
        let entries = [
            entry(0, NO_WASM_OFFSET, TrapCode::StackOverflow),
            entry(4, 0x1000, TrapCode::MemoryOutOfBounds),
            entry(4, 0x0ff0, TrapCode::IntegerDivisionByZero),
            entry(300, u32::MAX - 1, TrapCode::Unreachable),
            entry(u32::MAX, 0, TrapCode::BadSignature),
        ];
        let mut bytes = vec![0xaa];
        TrapTable::encode(&entries, &mut bytes);
        let table = TrapTable::new(&bytes[1..], entries.len() as u32);
        assert_eq!(table.iter().collect::<Vec<_>>(), entries);
        assert_eq!(table.find(300), Some(entries[3]));
        assert_eq!(
            table.find(4),
            Some(entries[1]),
            "the first entry at an offset"
        );
        assert_eq!(table.find(5), None);
        assert_eq!(TrapTable::EMPTY.find(0), None);
        // Three bytes an entry, not 12 (the first entry's wasm offset takes two).
        let small: Vec<_> = (0..100u32)
            .map(|i| entry(i * 9, 0x500 + i * 3, TrapCode::MemoryOutOfBounds))
            .collect();
        let mut compact = Vec::new();
        TrapTable::encode(&small, &mut compact);
        assert_eq!(compact.len(), 301);
        // Truncated bytes end the entries early; an over-long LEB128 ends them too.
        let truncated = TrapTable::new(&bytes[1..bytes.len() - 1], entries.len() as u32);
        assert_eq!(truncated.iter().count(), entries.len() - 1);
        let over_long = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0];
        assert_eq!(TrapTable::new(&over_long, 1).iter().count(), 0);
    }
}
