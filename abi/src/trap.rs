//! Trap codes: why a guest stopped. Compiled code records one per trapping instruction in
//! the trap table; the runtime reports it with the spec's wording. The trap table and the
//! call-site table also map code back to wasm byte offsets, for backtraces; each code
//! entry's two tables are one run of bytes ([`CodeTables`]).

use crate::leb128;

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
/// (0 before the first), shifted left by one, its low bit set when the trap code differs
/// from the previous entry's (always for the first), as an unsigned LEB128; the wasm
/// offset's difference from the previous entry's (0 before the first; wrapping `u32`
/// arithmetic, as a zigzag-encoded `i32`) as an unsigned LEB128; then, when the low bit is
/// set, the trap code byte. Most trap sites are memory accesses, so most entries repeat the
/// previous one's code (a Rust WASI program: 6,328 of 7,867) and take no byte for it.
///
/// The table is its bytes: entries follow one another to its end, with no count.
#[derive(Clone, Copy, Debug)]
pub struct TrapTable<'a> {
    /// The entries' bytes.
    bytes: &'a [u8],
}

impl<'a> TrapTable<'a> {
    /// A table of no entries.
    pub const EMPTY: TrapTable<'static> = TrapTable { bytes: &[] };

    /// The entries encoded in `bytes`.
    pub fn new(bytes: &'a [u8]) -> TrapTable<'a> {
        TrapTable { bytes }
    }

    /// Appends the encoding of `entries` (sorted by code offset) to `out`.
    pub fn encode(entries: &[TrapEntry], out: &mut Vec<u8>) {
        let (mut code, mut wasm, mut trap_code) = (0u32, 0u32, None);
        for entry in entries {
            debug_assert!(entry.code_offset >= code, "trap entries not sorted");
            let new_code = trap_code != Some(entry.trap_code);
            let code_delta = u64::from(entry.code_offset.wrapping_sub(code));
            leb128::write(out, (code_delta << 1) | u64::from(new_code));
            let delta = entry.wasm_offset.wrapping_sub(wasm) as i32;
            leb128::write(out, u64::from(leb128::zigzag(delta)));
            if new_code {
                out.push(entry.trap_code);
            }
            (code, wasm, trap_code) = (entry.code_offset, entry.wasm_offset, Some(entry.trap_code));
        }
    }

    /// The entries, in code-offset order; they end early where an entry is cut short or the
    /// first has no trap code (a corrupt table).
    pub fn iter(&self) -> impl Iterator<Item = TrapEntry> + 'a {
        let mut bytes = self.bytes;
        let (mut code, mut wasm, mut previous_code) = (0u32, 0u32, None);
        core::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            let first = leb128::read(&mut bytes)?;
            let code_delta = u32::try_from(first >> 1).ok()?;
            let wasm_delta = leb128::unzigzag(leb128::read_u32(&mut bytes)?);
            let trap_code = if first & 1 == 1 {
                let (&trap_code, rest) = bytes.split_first()?;
                bytes = rest;
                trap_code
            } else {
                previous_code?
            };
            previous_code = Some(trap_code);
            code = code.wrapping_add(code_delta);
            wasm = wasm.wrapping_add(wasm_delta as u32);
            Some(TrapEntry {
                code_offset: code,
                wasm_offset: wasm,
                trap_code,
            })
        })
        .fuse()
    }

    /// The entry of the instruction at `code_offset`, if it is a trap site.
    pub fn find(&self, code_offset: u32) -> Option<TrapEntry> {
        self.iter()
            .take_while(|entry| entry.code_offset <= code_offset)
            .find(|entry| entry.code_offset == code_offset)
    }
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
    /// The landing pad's offset in the function, if a handler covers the call.
    pub fn handler(&self) -> Option<u32> {
        (self.handler_offset != NO_HANDLER).then_some(self.handler_offset)
    }

    /// The wasm offset, unless the entry has none.
    pub fn wasm_offset(&self) -> Option<u32> {
        (self.wasm_offset != NO_WASM_OFFSET).then_some(self.wasm_offset)
    }
}

/// A code entry's call-site entries, encoded compactly as its trap entries are (see
/// [`TrapTable`]): about 2.5 bytes a call instead of 16 (a Rust WASI program: 33 KB of
/// 16-byte entries). A call site is looked up by a scan of one function's entries that
/// allocates nothing, for each frame of a backtrace and each frame the exception unwinder
/// passes.
///
/// Each entry, in return-offset order: the return offset's increase over the previous
/// entry's (0 before the first), shifted left by one, its low bit set when a handler covers
/// the call, as an unsigned LEB128; the wasm offset's difference from the previous entry's
/// (from the table's wasm start before the first: in [`CodeTables`] the first trap entry's
/// wasm offset, near the function's own, so the first call's takes a byte rather than
/// three; wrapping `u32` arithmetic, as a zigzag-encoded `i32`) as an unsigned LEB128;
/// then, for a covered call only, the handler offset and the frame offset, each an unsigned
/// LEB128. Most calls are not covered, so they cost nothing for either. As in a
/// [`TrapTable`], the entries follow one another to the end of the bytes.
#[derive(Clone, Copy, Debug)]
pub struct CallSiteTable<'a> {
    /// The entries' bytes.
    bytes: &'a [u8],
    /// The wasm offset the first entry's is a difference from.
    wasm_start: u32,
}

impl<'a> CallSiteTable<'a> {
    /// A table of no entries.
    pub const EMPTY: CallSiteTable<'static> = CallSiteTable {
        bytes: &[],
        wasm_start: 0,
    };

    /// The entries encoded in `bytes` from wasm offset `wasm_start`.
    pub fn new(bytes: &'a [u8], wasm_start: u32) -> CallSiteTable<'a> {
        CallSiteTable { bytes, wasm_start }
    }

    /// Appends the encoding of `entries` (sorted by return offset) from wasm offset
    /// `wasm_start` to `out`. A covered entry is one whose `handler_offset` is not
    /// [`NO_HANDLER`]; an uncovered one's `frame_offset` is not written (it decodes as 0).
    pub fn encode(entries: &[CallSiteEntry], wasm_start: u32, out: &mut Vec<u8>) {
        let (mut ret, mut wasm) = (0u32, wasm_start);
        for entry in entries {
            debug_assert!(entry.return_offset >= ret, "call sites not sorted");
            let covered = entry.handler_offset != NO_HANDLER;
            let ret_delta = u64::from(entry.return_offset.wrapping_sub(ret));
            leb128::write(out, (ret_delta << 1) | u64::from(covered));
            let delta = entry.wasm_offset.wrapping_sub(wasm) as i32;
            leb128::write(out, u64::from(leb128::zigzag(delta)));
            if covered {
                leb128::write(out, u64::from(entry.handler_offset));
                leb128::write(out, u64::from(entry.frame_offset));
            }
            (ret, wasm) = (entry.return_offset, entry.wasm_offset);
        }
    }

    /// The entries, in return-offset order; they end early where an entry is cut short (a
    /// corrupt table).
    pub fn iter(&self) -> impl Iterator<Item = CallSiteEntry> + 'a {
        let mut bytes = self.bytes;
        let (mut ret, mut wasm) = (0u32, self.wasm_start);
        core::iter::from_fn(move || {
            if bytes.is_empty() {
                return None;
            }
            let first = leb128::read(&mut bytes)?;
            let ret_delta = u32::try_from(first >> 1).ok()?;
            let wasm_delta = leb128::unzigzag(leb128::read_u32(&mut bytes)?);
            let (handler_offset, frame_offset) = if first & 1 == 1 {
                let handler = leb128::read_u32(&mut bytes)?;
                (handler, leb128::read_u32(&mut bytes)?)
            } else {
                (NO_HANDLER, 0)
            };
            ret = ret.wrapping_add(ret_delta);
            wasm = wasm.wrapping_add(wasm_delta as u32);
            Some(CallSiteEntry {
                return_offset: ret,
                wasm_offset: wasm,
                handler_offset,
                frame_offset,
            })
        })
        .fuse()
    }

    /// The entry of the call whose return address is at `return_offset`, if there is one.
    pub fn find(&self, return_offset: u32) -> Option<CallSiteEntry> {
        self.iter()
            .take_while(|entry| entry.return_offset <= return_offset)
            .find(|entry| entry.return_offset == return_offset)
    }
}

/// A code entry's part of the module's code tables: its trap table and its call-site
/// table, one run of bytes: the length in bytes of the trap entries and of the call sites,
/// each an unsigned LEB128, then the [`TrapTable`]'s entries, then the [`CallSiteTable`]'s,
/// from the first trap entry's wasm offset (0 without trap entries). The code entries'
/// tables follow one another in code-entry order, so the runtime finds each by reading the
/// lengths of those before it, once, when it registers the module; the code entries hold
/// only their code (8 bytes an entry). A trampoline with neither table costs two bytes.
#[derive(Clone, Copy, Debug)]
pub struct CodeTables<'a> {
    /// The trap sites.
    pub traps: TrapTable<'a>,
    /// The call sites.
    pub calls: CallSiteTable<'a>,
}

impl<'a> CodeTables<'a> {
    /// Appends a code entry's tables to `out`: its trap entries (sorted by code offset)
    /// and its call sites (sorted by return offset). `None` when a table's length passes
    /// `u32`.
    pub fn encode(traps: &[TrapEntry], calls: &[CallSiteEntry], out: &mut Vec<u8>) -> Option<()> {
        let mut trap_bytes = Vec::new();
        TrapTable::encode(traps, &mut trap_bytes);
        let wasm_start = traps.first().map_or(0, |trap| trap.wasm_offset);
        let mut call_bytes = Vec::new();
        CallSiteTable::encode(calls, wasm_start, &mut call_bytes);
        for table in [&trap_bytes, &call_bytes] {
            leb128::write(out, u64::from(u32::try_from(table.len()).ok()?));
        }
        out.extend_from_slice(&trap_bytes);
        out.extend_from_slice(&call_bytes);
        Some(())
    }

    /// The tables encoded at the start of `bytes`, which is advanced past them (to the
    /// next code entry's); `None` when the lengths do not decode or pass the bytes.
    pub fn decode(bytes: &mut &'a [u8]) -> Option<CodeTables<'a>> {
        let mut rest = *bytes;
        let trap_bytes = usize::try_from(leb128::read_u32(&mut rest)?).ok()?;
        let call_bytes = usize::try_from(leb128::read_u32(&mut rest)?).ok()?;
        let (traps, rest) = rest.split_at_checked(trap_bytes)?;
        let (calls, rest) = rest.split_at_checked(call_bytes)?;
        *bytes = rest;
        let traps = TrapTable::new(traps);
        let wasm_start = traps.iter().next().map_or(0, |trap| trap.wasm_offset);
        Some(CodeTables {
            traps,
            calls: CallSiteTable::new(calls, wasm_start),
        })
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
    fn trap_entries_encode_at_their_fields_offsets() {
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
        assert_eq!(call.wasm_offset(), None);
        assert_eq!(call.handler(), None);
        let covered = CallSiteEntry {
            handler_offset: 0x40,
            frame_offset: 0x20,
            ..call
        };
        assert_eq!(covered.handler(), Some(0x40));
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
        let table = TrapTable::new(&bytes[1..]);
        assert_eq!(table.iter().collect::<Vec<_>>(), entries);
        assert_eq!(table.find(300), Some(entries[3]));
        assert_eq!(
            table.find(4),
            Some(entries[1]),
            "the first entry at an offset"
        );
        assert_eq!(table.find(5), None);
        assert_eq!(TrapTable::EMPTY.find(0), None);
        // Two bytes an entry that repeats the previous one's code, not 12 (the first entry
        // takes four: its wasm offset two, its code one).
        let small: Vec<_> = (0..100u32)
            .map(|i| entry(i * 9, 0x500 + i * 3, TrapCode::MemoryOutOfBounds))
            .collect();
        let mut compact = Vec::new();
        TrapTable::encode(&small, &mut compact);
        assert_eq!(compact.len(), 4 + 99 * 2);
        // A new code costs its byte, and a code that comes back costs it again.
        let mut mixed = small.clone();
        mixed[50].trap_code = TrapCode::Unreachable as u8;
        let mut bytes_mixed = Vec::new();
        TrapTable::encode(&mixed, &mut bytes_mixed);
        assert_eq!(bytes_mixed.len(), compact.len() + 2);
        let table_mixed = TrapTable::new(&bytes_mixed);
        assert_eq!(table_mixed.iter().collect::<Vec<_>>(), mixed);
        assert_eq!(table_mixed.find(51 * 9), Some(mixed[51]));
        // Truncated bytes end the entries early; an over-long LEB128 ends them too.
        let truncated = TrapTable::new(&bytes[1..bytes.len() - 1]);
        assert_eq!(truncated.iter().count(), entries.len() - 1);
        let over_long = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0];
        assert_eq!(TrapTable::new(&over_long).iter().count(), 0);
        // A first entry that repeats a code no entry gave, or a code-offset delta past
        // `u32` (the flag bit aside), ends the entries too.
        assert_eq!(TrapTable::new(&[4 << 1, 0, 2]).iter().count(), 0);
        let too_far = [0xff, 0xff, 0xff, 0xff, 0x7f, 0, 2];
        assert_eq!(TrapTable::new(&too_far).iter().count(), 0);
        // Each cut of a table decodes to the entries whole before it, and finds nothing
        // past them.
        for cut in 0..bytes_mixed.len() {
            let table = TrapTable::new(&bytes_mixed[..cut]);
            let decoded: Vec<_> = table.iter().collect();
            assert_eq!(decoded, mixed[..decoded.len()], "cut at {cut}");
            assert!(decoded.len() < 100);
            assert_eq!(table.find(99 * 9), None);
        }
    }

    fn call(return_offset: u32, wasm_offset: u32, handler: Option<(u32, u32)>) -> CallSiteEntry {
        CallSiteEntry {
            return_offset,
            wasm_offset,
            handler_offset: handler.map_or(NO_HANDLER, |(offset, _)| offset),
            frame_offset: handler.map_or(0, |(_, frame)| frame),
        }
    }

    #[test]
    fn call_site_tables_round_trip_with_covered_calls_and_backward_wasm_offsets() {
        let entries = [
            call(5, NO_WASM_OFFSET, None),
            call(12, 0x2000, Some((0x90, 0x30))),
            call(12, 0x1ff0, None),
            call(40, 0x10, Some((0, 0))),
            call(41, u32::MAX - 1, None),
            call(u32::MAX, 0, Some((u32::MAX - 1, u32::MAX))),
        ];
        let mut bytes = vec![0xaa];
        CallSiteTable::encode(&entries, 0, &mut bytes);
        let table = CallSiteTable::new(&bytes[1..], 0);
        assert_eq!(table.iter().collect::<Vec<_>>(), entries);
        assert_eq!(
            table.find(12),
            Some(entries[1]),
            "the first entry at an offset"
        );
        assert_eq!(table.find(40).and_then(|c| c.handler()), Some(0));
        assert_eq!(table.find(41).and_then(|c| c.handler()), None);
        assert_eq!(table.find(u32::MAX), Some(entries[5]));
        assert_eq!(table.find(13), None);
        assert_eq!(table.find(0), None);
        assert_eq!(CallSiteTable::EMPTY.find(0), None);
        // From a wasm start, the first entry's wasm offset is a difference from it.
        let mut from_start = Vec::new();
        CallSiteTable::encode(&entries[1..2], 0x1ffe, &mut from_start);
        assert_eq!(from_start[..2], [(12 << 1) | 1, 4]);
        let table_from_start = CallSiteTable::new(&from_start, 0x1ffe);
        assert_eq!(table_from_start.find(12), Some(entries[1]));
    }

    #[test]
    fn uncovered_call_sites_take_two_bytes_and_covered_ones_their_handler_more() {
        let size = |entries: &[CallSiteEntry]| {
            let mut bytes = Vec::new();
            CallSiteTable::encode(entries, 0, &mut bytes);
            bytes.len()
        };
        // Calls a few dozen bytes apart, from wasm instructions a few bytes apart.
        let plain: Vec<_> = (1..=100u32)
            .map(|i| call(i * 20, 0x500 + i * 4, None))
            .collect();
        // The first entry's wasm offset takes two bytes, every other field one.
        assert_eq!(size(&plain), 201);
        let mut covered = plain.clone();
        covered[50] = call(
            covered[50].return_offset,
            covered[50].wasm_offset,
            Some((3000, 16)),
        );
        // The handler offset takes two bytes, the frame offset one.
        assert_eq!(size(&covered), 204);
    }

    #[test]
    fn corrupt_call_site_tables_give_fewer_entries() {
        let entries = [call(4, 0x10, None), call(8, 0x14, Some((0x20, 0x10)))];
        let mut bytes = Vec::new();
        CallSiteTable::encode(&entries, 0, &mut bytes);
        assert_eq!(bytes, [4 << 1, 0x20, (4 << 1) | 1, 8, 0x20, 0x10]);
        for cut in 0..bytes.len() {
            let expected = if cut >= 2 { 1 } else { 0 };
            let table = CallSiteTable::new(&bytes[..cut], 0);
            assert_eq!(table.iter().count(), expected, "cut at {cut}");
            assert_eq!(table.find(8), None);
        }
        assert_eq!(CallSiteTable::new(&bytes, 0).iter().count(), 2);
        // A return-offset delta past `u32` (the flag bit aside), an over-long LEB128 and a
        // handler offset past `u32` end the entries.
        let too_far = [0xff, 0xff, 0xff, 0xff, 0x7f, 0];
        assert_eq!(CallSiteTable::new(&too_far, 0).iter().count(), 0);
        let over_long = [0x80; 12];
        assert_eq!(CallSiteTable::new(&over_long, 0).iter().count(), 0);
        let handler_too_far = [0x01, 0, 0xff, 0xff, 0xff, 0xff, 0x1f, 0];
        assert_eq!(CallSiteTable::new(&handler_too_far, 0).iter().count(), 0);
    }

    #[test]
    fn code_tables_hold_both_tables_behind_their_lengths_one_after_another() {
        let traps = [TrapEntry {
            code_offset: 3,
            wasm_offset: 0x20,
            trap_code: TrapCode::Unreachable as u8,
        }];
        let calls = [call(9, 0x44, None), call(20, 0x48, Some((30, 8)))];
        let mut bytes = vec![0xaa];
        CodeTables::encode(&traps, &calls, &mut bytes).unwrap();
        let start = bytes.len();
        CodeTables::encode(&[], &[], &mut bytes).unwrap();
        CodeTables::encode(&traps, &[], &mut bytes).unwrap();
        // The lengths, one trap entry of 3 bytes, then the calls (6 bytes), whose first
        // wasm offset is a difference from the trap entry's.
        assert_eq!(bytes[1..3], [3, 6]);
        assert_eq!(
            bytes[3..6],
            [(3 << 1) | 1, 0x20 << 1, TrapCode::Unreachable as u8]
        );
        assert_eq!(bytes[6..8], [9 << 1, 0x24 << 1]);
        assert_eq!(
            bytes[start..start + 2],
            [0, 0],
            "a trampoline's empty tables"
        );
        // Each decode moves on to the next code entry's tables.
        let mut rest = &bytes[1..];
        let tables = CodeTables::decode(&mut rest).unwrap();
        assert_eq!(tables.traps.iter().collect::<Vec<_>>(), traps);
        assert_eq!(tables.calls.iter().collect::<Vec<_>>(), calls);
        let empty = CodeTables::decode(&mut rest).unwrap();
        assert_eq!(
            (empty.traps.iter().count(), empty.calls.iter().count()),
            (0, 0)
        );
        let third = CodeTables::decode(&mut rest).unwrap();
        assert_eq!(third.traps.iter().collect::<Vec<_>>(), traps);
        assert_eq!(third.calls.iter().count(), 0);
        assert!(rest.is_empty());
        assert!(CodeTables::decode(&mut rest).is_none(), "no lengths");
        // Lengths cut short, over-long or past the bytes do not decode, and leave the
        // bytes where they were.
        for corrupt in [
            &[1][..],
            &[1, 2, 4],
            &[0, 2, 0],
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0],
        ] {
            let mut rest = corrupt;
            assert!(CodeTables::decode(&mut rest).is_none(), "{corrupt:?}");
            assert_eq!(rest, corrupt);
        }
    }
}
