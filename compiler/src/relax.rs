//! Branch shortening for x86_64: every direct jump Cranelift emits there has a 32-bit
//! displacement (`jmp rel32`, 5 bytes; `jcc rel32`, 6 bytes), although most land within
//! a few dozen bytes, where the 2-byte `rel8` forms reach. Cranelift 0.135's x64 emitter
//! has no branch relaxation (its only label uses are 32-bit), so kiln shortens the
//! branches of each compiled function itself, before placement (benches/README.md,
//! "Session 20: short branches on x86_64": 3,443 of the files program's 6,320 branches
//! jumped at most 100 bytes).
//!
//! The pass decodes the function's machine code (`iced-x86`) from its entry on, so it
//! knows every instruction's bounds; it stops where the constants Cranelift puts after
//! the code begin (the lowest address an instruction reads `%rip`-relative that no
//! instruction covers) and steps over the jump tables that follow a `br_table`'s
//! indirect jump (a `lea` of the address right after it, the table running to the next
//! block). Then it lays the code out again, each direct branch without a relocation in
//! its short form where its target is in reach, growing the branches that are not until
//! nothing changes (shrinking one brings others closer, never farther, except across the
//! constants' alignment, which the fixpoint covers too). Everything that names an offset
//! in the function moves with its instruction: branch and `%rip`-relative
//! displacements, jump-table entries, relocations, trap sites, call sites and landing
//! pads, block starts and edges.
//!
//! The same layout rewrites each epilogue's frame teardown, `mov %rbp,%rsp; pop %rbp`,
//! as the 1-byte `leave`, and drops the `add $n,%rsp` Cranelift puts right before it,
//! which the `mov` makes dead (604 epilogues in the files program, 453 with an `add`).
//!
//! It rewrites only what it fully understands: a function whose code holds anything
//! else (an instruction the decoder rejects, a branch of another form, a `%rip`-relative
//! address or a branch target that is not an instruction's start, a jump table without
//! a block after it) keeps its code as Cranelift emitted it, which is always correct.
//! The new code is decoded again and checked against the layout before it replaces the
//! old.

use crate::pipeline::CompiledCode;
use cranelift_module::ModuleRelocTarget;
use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction};
use kiln_abi::trap::NO_HANDLER;

/// The constants after the code keep their offset modulo this (Cranelift aligns none
/// of x86_64's constants to more than 16 bytes).
const CONSTANT_ALIGNMENT: u32 = 16;

/// Growing branches stops after this many rounds (each round grows at least one branch
/// or ends the fixpoint; real functions need three or four), and the function keeps
/// its code: linear time per round, whatever the input.
const MAX_ROUNDS: usize = 32;

/// What a piece of the code is, for its new layout.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Bytes copied as they are.
    Copy,
    /// A direct jump (`cc` `None`) or conditional jump (the condition's 4 bits) to the
    /// piece `target`, in 32-bit form in the old code, where it jumped to `old_target`.
    Branch {
        cc: Option<u8>,
        target: usize,
        old_target: u32,
    },
    /// An instruction with a `%rip`-relative operand whose 32-bit displacement starts
    /// `displacement` bytes into it and that addresses `target` (an old offset).
    RipRelative { displacement: u32, target: u32 },
    /// A jump table: 32-bit entries, each the offset of its target piece from the table.
    Table { targets: Vec<usize> },
    /// `mov %rbp,%rsp; pop %rbp`, written as `leave`.
    Leave,
    /// An instruction left out (an `add` to `%rsp` in front of a [`Kind::Leave`]).
    Gone,
}

/// A run of the old code: one instruction, or a jump table.
#[derive(Debug, Clone)]
struct Piece {
    start: u32,
    len: u32,
    kind: Kind,
}

/// The old code split into pieces, then the tail of constants from `tail` to `len`.
struct Decoded {
    pieces: Vec<Piece>,
    tail: u32,
    len: u32,
}

/// Shortens the branches of `code` (x86_64 machine code, entry at offset 0, before
/// placement) where it can; returns whether the code changed. Leaves `code` unchanged
/// when the function holds anything the pass does not understand.
pub(crate) fn shorten_branches(code: &mut CompiledCode) -> bool {
    if code.entry != 0 || u32::try_from(code.bytes.len()).is_err() {
        return false;
    }
    let Some(decoded) = decode(code) else {
        return false;
    };
    if !decoded
        .pieces
        .iter()
        .any(|piece| matches!(piece.kind, Kind::Branch { .. } | Kind::Leave))
    {
        return false;
    }
    let Some(layout) = Layout::fixpoint(&decoded) else {
        return false;
    };
    let Some(bytes) = emit(code, &decoded, &layout) else {
        return false;
    };
    // Never longer; the same length where the constants' alignment takes back what the
    // branches gave, and then still shorter branches.
    if bytes.len() > code.bytes.len() {
        return false;
    }
    let Some(moved) = move_offsets(code, &decoded, &layout) else {
        return false;
    };
    if !check(&bytes, &decoded, &layout) {
        debug_assert!(false, "the shortened code does not decode as laid out");
        return false;
    }
    *code = CompiledCode { bytes, ..moved };
    true
}

/// Splits the code into pieces; `None` when it holds something the pass does not handle.
fn decode(code: &CompiledCode) -> Option<Decoded> {
    let bytes = &code.bytes;
    let len = bytes.len() as u32;
    if code
        .relocs
        .iter()
        .any(|reloc| matches!(reloc.name, ModuleRelocTarget::FunctionOffset(..)))
    {
        return None;
    }
    let mut reloc_offsets: Vec<u32> = code.relocs.iter().map(|reloc| reloc.offset).collect();
    reloc_offsets.sort_unstable();
    let has_reloc = |start: u32, end: u32| {
        let first = reloc_offsets.partition_point(|&offset| offset < start);
        reloc_offsets.get(first).is_some_and(|&offset| offset < end)
    };
    let mut block_starts = code.block_starts.clone();
    block_starts.sort_unstable();

    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut instruction = Instruction::default();
    let mut pieces: Vec<Piece> = Vec::new();
    // Branches and tables by their old offsets, and their targets as old offsets:
    // resolved to pieces once all are known (and epilogues fused).
    let mut branch_targets: Vec<(u32, u32)> = Vec::new();
    let mut table_targets: Vec<(u32, Vec<u32>)> = Vec::new();
    // Addresses read `%rip`-relative beyond the code decoded so far, lowest first.
    let mut data: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
    let mut after_indirect_jump = false;
    let mut offset = 0u32;
    // Where the constants start, once found.
    let mut constants = None;
    while offset < len {
        let next_data = data.range(offset..).next().copied();
        if next_data == Some(offset) {
            if !after_indirect_jump {
                constants = next_data;
                break;
            }
            // A jump table: 32-bit entries up to the next block.
            let end = block_starts[block_starts.partition_point(|&start| start <= offset)..]
                .first()
                .copied()?;
            if !(end - offset).is_multiple_of(4) || end > len {
                return None;
            }
            let targets = bytes[offset as usize..end as usize]
                .chunks_exact(4)
                .map(|entry| {
                    let relative = i32::from_le_bytes(entry.try_into().expect("4 bytes"));
                    u32::try_from(i64::from(offset) + i64::from(relative)).ok()
                })
                .collect::<Option<Vec<u32>>>()?;
            table_targets.push((offset, targets));
            pieces.push(Piece {
                start: offset,
                len: end - offset,
                kind: Kind::Table {
                    targets: Vec::new(),
                },
            });
            offset = end;
            after_indirect_jump = false;
            continue;
        }
        decoder.set_position(offset as usize).ok()?;
        decoder.set_ip(u64::from(offset));
        decoder.decode_out(&mut instruction);
        if instruction.is_invalid() {
            // Padding in front of the constants decodes as it likes; anything else is
            // not code the pass knows. (The tail may hold no trap, call or block, which
            // `move_offsets` checks, so code is never taken for constants.)
            constants = Some(next_data?);
            break;
        }
        let end = offset + instruction.len() as u32;
        if next_data.is_some_and(|data| end > data) {
            constants = next_data; // Padding running into the constants.
            break;
        }
        let kind = classify(
            &decoder,
            &instruction,
            bytes,
            offset,
            has_reloc(offset, end),
        )?;
        match &kind {
            Kind::Branch { .. } => {
                branch_targets.push((offset, instruction.near_branch_target() as u32))
            }
            Kind::RipRelative { target, .. } => {
                data.insert(*target);
            }
            _ => {}
        }
        after_indirect_jump = instruction.flow_control() == FlowControl::IndirectBranch;
        pieces.push(Piece {
            start: offset,
            len: end - offset,
            kind,
        });
        offset = end;
    }
    // The constants' alignment padding, where it decoded as instructions (`00 00` is an
    // `add`): laid out anew in front of them. Nothing may point into it (the tail may
    // hold no trap, call or block: `move_offsets` checks).
    let tail = match constants {
        Some(constants) => {
            while pieces.last().is_some_and(|piece| {
                piece.kind == Kind::Copy
                    && bytes[piece.start as usize..(piece.start + piece.len) as usize]
                        .iter()
                        .all(|&byte| byte == 0)
            }) {
                pieces.pop();
            }
            constants
        }
        None => offset,
    };
    fuse_epilogues(&mut pieces, bytes, &block_starts);
    let piece_at = |target: u32| -> Option<usize> {
        let index = pieces.partition_point(|piece| piece.start < target);
        (pieces.get(index)?.start == target).then_some(index)
    };
    let mut resolved = Vec::with_capacity(branch_targets.len());
    for &(start, target) in &branch_targets {
        resolved.push((piece_at(start)?, piece_at(target)?));
    }
    let mut tables = Vec::with_capacity(table_targets.len());
    for (start, targets) in table_targets {
        let index = piece_at(start)?;
        let targets = targets
            .iter()
            .map(|&target| piece_at(target))
            .collect::<Option<Vec<usize>>>()?;
        tables.push((index, targets));
    }
    for piece in &pieces {
        if let Kind::RipRelative { target, .. } = piece.kind {
            if target < tail && piece_at(target).is_none() || target > len {
                return None;
            }
        }
    }
    for (index, target) in resolved {
        if let Kind::Branch { target: slot, .. } = &mut pieces[index].kind {
            *slot = target;
        }
    }
    for (index, targets) in tables {
        pieces[index].kind = Kind::Table { targets };
    }
    Some(Decoded { pieces, tail, len })
}

/// Rewrites the frame teardown of Cranelift's epilogues, `mov %rbp,%rsp; pop %rbp` (4
/// bytes), as `leave` (1 byte, the same two steps), and drops an `add $n,%rsp` right in
/// front of it, which the `mov` overwrites (only `ret` follows, which reads no flags).
/// Only where no block starts at the `pop` (Cranelift's epilogues start at their first
/// instruction); anything else pointing into the fused piece makes the pass leave the
/// function as it is.
fn fuse_epilogues(pieces: &mut Vec<Piece>, bytes: &[u8], block_starts: &[u32]) {
    let is = |piece: &Piece, pattern: &[u8]| {
        piece.kind == Kind::Copy
            && bytes[piece.start as usize..(piece.start + piece.len) as usize] == *pattern
    };
    let is_add_to_rsp = |piece: &Piece| {
        let at = piece.start as usize;
        piece.kind == Kind::Copy
            && matches!(
                (&bytes[at..(piece.start + piece.len) as usize], piece.len),
                ([0x48, 0x83, 0xc4, _], 4) | ([0x48, 0x81, 0xc4, ..], 7)
            )
    };
    let mut fused = Vec::with_capacity(pieces.len());
    let mut index = 0;
    while index < pieces.len() {
        let piece = &pieces[index];
        let epilogue = is(piece, &[0x48, 0x89, 0xec])
            && pieces.get(index + 1).is_some_and(|pop| {
                is(pop, &[0x5d]) && block_starts.binary_search(&pop.start).is_err()
            });
        if !epilogue {
            fused.push(piece.clone());
            index += 1;
            continue;
        }
        if let Some(add) = fused.last_mut().filter(|add| is_add_to_rsp(add)) {
            add.kind = Kind::Gone;
        }
        fused.push(Piece {
            start: piece.start,
            len: 4,
            kind: Kind::Leave,
        });
        index += 2;
    }
    *pieces = fused;
}

/// The kind of the instruction at `start`; `None` for a control transfer the pass does
/// not rewrite safely.
fn classify(
    decoder: &Decoder<'_>,
    instruction: &Instruction,
    bytes: &[u8],
    start: u32,
    relocated: bool,
) -> Option<Kind> {
    let at = start as usize;
    let len = instruction.len();
    match instruction.flow_control() {
        FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch | FlowControl::Call
            if relocated =>
        {
            // A tail call or call to another symbol: the linker resolves it.
            Some(Kind::Copy)
        }
        FlowControl::UnconditionalBranch => {
            (instruction.is_jmp_near() && len == 5 && bytes[at] == 0xe9).then_some(Kind::Branch {
                cc: None,
                target: 0,
                old_target: instruction.near_branch_target() as u32,
            })
        }
        FlowControl::ConditionalBranch => (instruction.is_jcc_near()
            && len == 6
            && bytes[at] == 0x0f
            && bytes[at + 1] & 0xf0 == 0x80)
            .then_some(Kind::Branch {
                cc: Some(bytes[at + 1] & 0x0f),
                target: 0,
                old_target: instruction.near_branch_target() as u32,
            }),
        // A call to a label of the function itself: not something Cranelift emits here.
        FlowControl::Call | FlowControl::XbeginXabortXend => None,
        _ if instruction.is_ip_rel_memory_operand() => {
            let offsets = decoder.get_constant_offsets(instruction);
            if !offsets.has_displacement() || offsets.displacement_size() != 4 {
                return None;
            }
            if relocated {
                // A symbol's address: the linker fills the displacement in.
                return Some(Kind::Copy);
            }
            let target = u32::try_from(instruction.ip_rel_memory_address()).ok()?;
            Some(Kind::RipRelative {
                displacement: offsets.displacement_offset() as u32,
                target,
            })
        }
        _ => Some(Kind::Copy),
    }
}

/// Where each piece goes in the new code, and which branches are short.
struct Layout {
    starts: Vec<u32>,
    short: Vec<bool>,
    /// The new offset of the first byte after the pieces.
    code_end: u32,
    /// The new offset of the tail of constants.
    tail: u32,
}

impl Layout {
    /// Starts with every branch short and grows those that do not reach until none
    /// changes; `None` past [`MAX_ROUNDS`] rounds.
    fn fixpoint(decoded: &Decoded) -> Option<Layout> {
        let mut short: Vec<bool> = decoded
            .pieces
            .iter()
            .map(|piece| matches!(piece.kind, Kind::Branch { .. }))
            .collect();
        for _ in 0..MAX_ROUNDS {
            let layout = Layout::with(decoded, short.clone());
            let mut grown = false;
            for (index, piece) in decoded.pieces.iter().enumerate() {
                if let Kind::Branch { target, .. } = piece.kind {
                    if short[index] && !layout.reaches_short(index, target) {
                        short[index] = false;
                        grown = true;
                    }
                }
            }
            if !grown {
                return Some(layout);
            }
        }
        None
    }

    fn with(decoded: &Decoded, short: Vec<bool>) -> Layout {
        let mut starts = Vec::with_capacity(decoded.pieces.len());
        let mut offset = 0u32;
        for (index, piece) in decoded.pieces.iter().enumerate() {
            starts.push(offset);
            offset += new_len(piece, short[index]);
        }
        let code_end = offset;
        // The constants keep their offset modulo their alignment.
        let misalignment = if decoded.tail == decoded.len {
            0
        } else {
            decoded.tail.wrapping_sub(code_end) % CONSTANT_ALIGNMENT
        };
        Layout {
            starts,
            short,
            code_end,
            tail: code_end + misalignment,
        }
    }

    /// Whether the branch at piece `index` reaches piece `target` with an 8-bit
    /// displacement (counted from the end of its 2 bytes).
    fn reaches_short(&self, index: usize, target: usize) -> bool {
        let from = i64::from(self.starts[index]) + 2;
        let displacement = i64::from(self.starts[target]) - from;
        i8::try_from(displacement).is_ok()
    }
}

/// A piece's length in the new code.
fn new_len(piece: &Piece, short: bool) -> u32 {
    match piece.kind {
        Kind::Branch { .. } if short => 2,
        Kind::Leave => 1,
        Kind::Gone => 0,
        _ => piece.len,
    }
}

/// The new offset of old offset `old`: inside a piece (the same distance from its
/// start), at the end of the code, or in the tail.
fn new_offset(decoded: &Decoded, layout: &Layout, old: u32) -> Option<u32> {
    if old >= decoded.tail {
        return Some(layout.tail + (old - decoded.tail));
    }
    let index = decoded
        .pieces
        .partition_point(|piece| piece.start <= old)
        .checked_sub(1)?;
    let piece = &decoded.pieces[index];
    let within = old - piece.start;
    let whole = !matches!(piece.kind, Kind::Copy | Kind::RipRelative { .. });
    if within >= piece.len || within != 0 && whole {
        return None;
    }
    Some(layout.starts[index] + within)
}

/// The new offset of an old instruction boundary (a piece's start or the end of the
/// code); `None` for an offset inside an instruction.
fn new_boundary(decoded: &Decoded, layout: &Layout, old: u32) -> Option<u32> {
    let index = decoded.pieces.partition_point(|piece| piece.start < old);
    match decoded.pieces.get(index) {
        Some(piece) => (piece.start == old).then(|| layout.starts[index]),
        None => {
            let end = decoded
                .pieces
                .last()
                .map_or(0, |last| last.start + last.len);
            (old == end).then_some(layout.code_end)
        }
    }
}

/// The new code.
fn emit(code: &CompiledCode, decoded: &Decoded, layout: &Layout) -> Option<Vec<u8>> {
    let old = &code.bytes;
    let mut bytes = Vec::with_capacity(old.len());
    for (index, piece) in decoded.pieces.iter().enumerate() {
        let start = layout.starts[index];
        debug_assert_eq!(bytes.len() as u32, start);
        let old_bytes = &old[piece.start as usize..(piece.start + piece.len) as usize];
        match &piece.kind {
            Kind::Copy => bytes.extend_from_slice(old_bytes),
            Kind::Branch { cc, target, .. } => {
                let to = i64::from(layout.starts[*target]);
                if layout.short[index] {
                    let displacement = i8::try_from(to - i64::from(start) - 2).ok()?;
                    bytes.push(cc.map_or(0xeb, |cc| 0x70 | cc));
                    bytes.push(displacement as u8);
                } else {
                    let head = &old_bytes[..piece.len as usize - 4];
                    let end = i64::from(start + piece.len);
                    let displacement = i32::try_from(to - end).ok()?;
                    bytes.extend_from_slice(head);
                    bytes.extend_from_slice(&displacement.to_le_bytes());
                }
            }
            Kind::RipRelative {
                displacement,
                target,
            } => {
                let to = i64::from(new_offset(decoded, layout, *target)?);
                let end = i64::from(start + piece.len);
                let value = i32::try_from(to - end).ok()?;
                let at = bytes.len() + *displacement as usize;
                bytes.extend_from_slice(old_bytes);
                bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            Kind::Table { targets } => {
                for &target in targets {
                    let relative = i64::from(layout.starts[target]) - i64::from(start);
                    bytes.extend_from_slice(&i32::try_from(relative).ok()?.to_le_bytes());
                }
            }
            Kind::Leave => bytes.push(0xc9),
            Kind::Gone => {}
        }
    }
    // Never executed: after the last instruction, before the constants.
    bytes.resize(layout.tail as usize, 0);
    bytes.extend_from_slice(&old[decoded.tail as usize..]);
    Some(bytes)
}

/// `code` with every offset into it moved to the new code (its bytes left as they
/// are); `None` when one is not where an offset of its kind must be.
fn move_offsets(code: &CompiledCode, decoded: &Decoded, layout: &Layout) -> Option<CompiledCode> {
    let boundary = |old: u32| new_boundary(decoded, layout, old);
    let mut relocs = code.relocs.clone();
    for reloc in &mut relocs {
        // Constants have no relocations: one in the tail would be code not decoded.
        if reloc.offset >= decoded.tail {
            return None;
        }
        reloc.offset = new_offset(decoded, layout, reloc.offset)?;
    }
    let mut traps = code.traps.clone();
    for trap in &mut traps {
        trap.code_offset = boundary(trap.code_offset)?;
    }
    let mut call_sites = code.call_sites.clone();
    for call_site in &mut call_sites {
        call_site.return_offset = boundary(call_site.return_offset)?;
        if call_site.handler_offset != NO_HANDLER {
            call_site.handler_offset = boundary(call_site.handler_offset)?;
        }
    }
    let block_starts = code
        .block_starts
        .iter()
        .map(|&start| boundary(start))
        .collect::<Option<Vec<u32>>>()?;
    let block_edges = code
        .block_edges
        .iter()
        .map(|&(from, to)| Some((boundary(from)?, boundary(to)?)))
        .collect::<Option<Vec<(u32, u32)>>>()?;
    Some(CompiledCode {
        bytes: Vec::new(),
        entry: 0,
        alignment: code.alignment,
        relocs,
        traps,
        call_sites,
        block_starts,
        block_edges,
    })
}

/// Decodes the new code piece by piece and checks that each instruction has the
/// length, branch target and `%rip`-relative address the layout gave it.
fn check(bytes: &[u8], decoded: &Decoded, layout: &Layout) -> bool {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut instruction = Instruction::default();
    for (index, piece) in decoded.pieces.iter().enumerate() {
        let start = layout.starts[index];
        let len = new_len(piece, layout.short[index]);
        if matches!(piece.kind, Kind::Table { .. } | Kind::Gone) {
            continue;
        }
        if decoder.set_position(start as usize).is_err() {
            return false;
        }
        decoder.set_ip(u64::from(start));
        decoder.decode_out(&mut instruction);
        if instruction.is_invalid() || instruction.len() as u32 != len {
            return false;
        }
        let consistent = match piece.kind {
            // The target piece, and the new place of the old target (found apart).
            Kind::Branch {
                target, old_target, ..
            } => {
                let to = instruction.near_branch_target();
                to == u64::from(layout.starts[target])
                    && new_boundary(decoded, layout, old_target) == Some(to as u32)
            }
            Kind::RipRelative { target, .. } => new_offset(decoded, layout, target)
                .is_some_and(|to| instruction.ip_rel_memory_address() == u64::from(to)),
            _ => true,
        };
        if !consistent {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::binemit::Reloc;
    use kiln_abi::trap::{CallSiteEntry, TrapEntry};

    fn code(bytes: Vec<u8>) -> CompiledCode {
        CompiledCode {
            bytes,
            entry: 0,
            alignment: 16,
            relocs: Vec::new(),
            traps: Vec::new(),
            call_sites: Vec::new(),
            block_starts: Vec::new(),
            block_edges: Vec::new(),
        }
    }

    fn rel32(from_end: u32, to: u32) -> [u8; 4] {
        (to as i32 - from_end as i32).to_le_bytes()
    }

    /// `je`, a trap, a relocated call, `jmp` and `ret`: both branches become short, and
    /// the trap, the call's return address and relocation, and the blocks move with them.
    #[test]
    fn near_branches_become_short_and_offsets_move() {
        let mut bytes = vec![0x0f, 0x84];
        bytes.extend(rel32(6, 0x14)); // 00: je 14
        bytes.extend([0x0f, 0x0b]); // 06: ud2
        bytes.extend([0x48, 0x89, 0xc0]); // 08: mov rax, rax
        bytes.extend([0xe8, 0, 0, 0, 0]); // 0b: call (relocated)
        bytes.extend([0x90, 0x90, 0x90, 0x90]); // 10: nops
        bytes.push(0xe9);
        bytes.extend(rel32(0x19, 0x19)); // 14: jmp 19
        bytes.push(0xc3); // 19: ret
        let mut compiled = code(bytes);
        compiled.relocs.push(cranelift_module::ModuleReloc {
            offset: 0x0c,
            kind: Reloc::X86CallPCRel4,
            name: ModuleRelocTarget::user(0, 7),
            addend: -4,
        });
        compiled.traps.push(TrapEntry {
            code_offset: 0x06,
            wasm_offset: 1,
            trap_code: 2,
        });
        compiled.call_sites.push(CallSiteEntry {
            return_offset: 0x10,
            wasm_offset: 3,
            handler_offset: 0x19,
            frame_offset: 16,
        });
        compiled.block_starts = vec![0, 0x06, 0x14, 0x19];
        compiled.block_edges = vec![(0, 0x06), (0, 0x14), (0x14, 0x19)];

        assert!(shorten_branches(&mut compiled));
        let expected = [
            0x74, 0x0e, // 00: je 10
            0x0f, 0x0b, // 02: ud2
            0x48, 0x89, 0xc0, // 04
            0xe8, 0, 0, 0, 0, // 07
            0x90, 0x90, 0x90, 0x90, // 0c
            0xeb, 0x00, // 10: jmp 12
            0xc3, // 12: ret
        ];
        assert_eq!(compiled.bytes, expected);
        assert_eq!(compiled.relocs[0].offset, 0x08);
        assert_eq!(compiled.traps[0].code_offset, 0x02);
        assert_eq!(compiled.call_sites[0].return_offset, 0x0c);
        assert_eq!(compiled.call_sites[0].handler_offset, 0x12);
        assert_eq!(compiled.block_starts, [0, 0x02, 0x10, 0x12]);
        assert_eq!(compiled.block_edges, [(0, 0x02), (0, 0x10), (0x10, 0x12)]);
    }

    /// A branch over 200 bytes keeps its 32-bit form (with its new displacement), and a
    /// branch whose short form stops reaching once another branch has grown grows too.
    #[test]
    fn branches_out_of_reach_stay_long() {
        let mut bytes = vec![0xe9];
        bytes.extend(rel32(5, 5 + 6 + 200)); // 00: jmp past the nops
        bytes.extend([0x0f, 0x85]);
        bytes.extend(rel32(11, 11 + 124)); // 05: jne, 124 bytes into the nops
        bytes.extend(vec![0x90; 200]); // 0b: nops
        bytes.push(0xc3); // d3: ret
        let mut compiled = code(bytes);
        assert!(shorten_branches(&mut compiled));
        // The jmp stays long (200 nops and the jne between), the jne becomes short.
        assert_eq!(compiled.bytes[0], 0xe9);
        assert_eq!(compiled.bytes[1..5], rel32(5, 5 + 2 + 200));
        assert_eq!(compiled.bytes[5..7], [0x75, 124]);
        assert_eq!(compiled.bytes.len(), 5 + 2 + 200 + 1);

        // A jne over a jmp and 123 nops reaches while the jmp is short (125 bytes), not
        // once the jmp has grown because its own target is 200 bytes farther (128).
        let mut bytes = vec![0x0f, 0x85];
        bytes.extend(rel32(6, 0x86)); // 00: jne 86
        bytes.push(0xe9);
        bytes.extend(rel32(0x0b, 0x14f)); // 06: jmp 14f
        bytes.extend(vec![0x90; 123]); // 0b
        bytes.push(0xc3); // 86: ret
        bytes.extend(vec![0x90; 200]); // 87
        bytes.push(0xc3); // 14f: ret
        bytes.push(0xe9);
        bytes.extend(rel32(0x155, 0x14f)); // 150: jmp 14f
        let mut compiled = code(bytes);
        assert!(shorten_branches(&mut compiled));
        assert_eq!(compiled.bytes[..2], [0x0f, 0x85]);
        assert_eq!(compiled.bytes[2..6], rel32(6, 0x86));
        assert_eq!(compiled.bytes[6], 0xe9);
        assert_eq!(compiled.bytes[7..11], rel32(0x0b, 0x14f));
        assert_eq!(compiled.bytes[0x150..], [0xeb, 0xfd]);
    }

    /// Constants after the code: the `%rip`-relative load follows its constant, which
    /// keeps its offset modulo 16, and the zero padding in front of it (which decodes
    /// as `add` instructions) is laid out anew.
    #[test]
    fn constants_keep_their_alignment_and_loads_follow_them() {
        let mut bytes = Vec::new();
        for (opcode, end) in [
            (&[0x0f, 0x85][..], 6),
            (&[0x0f, 0x85][..], 0x0c),
            (&[0xe9][..], 0x11),
        ] {
            bytes.extend(opcode);
            bytes.extend(rel32(end, 0x20)); // 00, 06, 0c: jne, jne, jmp 20
        }
        bytes.extend(vec![0x90; 15]); // 11
        bytes.extend([0xf2, 0x0f, 0x10, 0x05]); // 20: movsd xmm0, [rip + 30]
        bytes.extend(rel32(0x28, 0x30));
        bytes.push(0xc3); // 28: ret
        bytes.extend(vec![0; 7]); // 29: padding
        bytes.extend(1.5f64.to_le_bytes()); // 30: the constant
        let mut compiled = code(bytes);
        assert!(shorten_branches(&mut compiled));
        assert_eq!(compiled.bytes[..6], [0x75, 0x13, 0x75, 0x11, 0xeb, 0x0f]);
        assert_eq!(compiled.bytes[0x15..0x19], [0xf2, 0x0f, 0x10, 0x05]);
        assert_eq!(compiled.bytes[0x19..0x1d], rel32(0x1d, 0x20));
        assert_eq!(compiled.bytes[0x1d], 0xc3);
        assert_eq!(compiled.bytes[0x1e..0x20], [0, 0]);
        assert_eq!(compiled.bytes[0x20..], 1.5f64.to_le_bytes());
    }

    /// A `br_table`'s sequence: the table after the indirect jump moves with the code
    /// and its entries follow their targets.
    #[test]
    fn jump_tables_follow_their_targets() {
        let mut bytes = vec![0x0f, 0x83];
        bytes.extend(rel32(6, 0x28)); // 00: jae 28 (default)
        bytes.extend([0x48, 0x8d, 0x05]); // 06: lea rax, [rip + 16]
        bytes.extend(rel32(0x0d, 0x16));
        bytes.extend([0x48, 0x63, 0x0c, 0xb8]); // 0d: movsxd rcx, [rax + rdi*4]
        bytes.extend([0x48, 0x01, 0xc8]); // 11: add rax, rcx
        bytes.extend([0xff, 0xe0]); // 14: jmp rax
        for target in [0x22i32, 0x28, 0x28] {
            bytes.extend((target - 0x16).to_le_bytes()); // 16: the table
        }
        bytes.push(0xe9);
        bytes.extend(rel32(0x27, 0x28)); // 22: jmp 28
        bytes.push(0x90); // 27
        bytes.push(0xc3); // 28: ret
        let mut compiled = code(bytes);
        // The table ends where the next block starts.
        compiled.block_starts = vec![0, 0x22, 0x28];
        assert!(shorten_branches(&mut compiled));
        assert_eq!(compiled.bytes[..2], [0x73, 0x1f]);
        assert_eq!(compiled.bytes[2..5], [0x48, 0x8d, 0x05]);
        assert_eq!(compiled.bytes[5..9], rel32(0x09, 0x12));
        let table: Vec<i32> = compiled.bytes[0x12..0x1e]
            .chunks_exact(4)
            .map(|entry| i32::from_le_bytes(entry.try_into().unwrap()))
            .collect();
        assert_eq!(table, [0x0c, 0x0f, 0x0f]);
        assert_eq!(compiled.bytes[0x1e..], [0xeb, 0x01, 0x90, 0xc3]);
        assert_eq!(compiled.block_starts, [0, 0x1e, 0x21]);
    }

    /// Epilogues: `add $n,%rsp; mov %rbp,%rsp; pop %rbp` becomes `leave`, a branch to the
    /// dropped `add` lands on the `leave`, and an epilogue whose `pop` starts a block is
    /// kept.
    #[test]
    fn epilogues_become_leave() {
        let mut bytes = vec![0x0f, 0x84];
        bytes.extend(rel32(6, 0x11)); // 00: je 11
        bytes.extend([0x48, 0x83, 0xc4, 0x10]); // 06: add rsp, 16
        bytes.extend([0x48, 0x89, 0xec, 0x5d, 0xc3]); // 0a: mov rsp, rbp; pop rbp; ret
        bytes.push(0xc3); // 0f: ret
        bytes.push(0x90); // 10: nop
        bytes.extend([0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00]); // 11: add rsp, 256
        bytes.extend([0x48, 0x89, 0xec, 0x5d, 0xc3]); // 18: mov rsp, rbp; pop rbp; ret
        let mut compiled = code(bytes);
        compiled.block_starts = vec![0, 0x06, 0x0f, 0x10, 0x11];
        assert!(shorten_branches(&mut compiled));
        assert_eq!(
            compiled.bytes,
            [0x74, 0x04, 0xc9, 0xc3, 0xc3, 0x90, 0xc9, 0xc3],
            "{:x?}",
            compiled.bytes
        );
        assert_eq!(compiled.block_starts, [0, 0x02, 0x04, 0x05, 0x06]);

        // Branches after an epilogue keep their targets (the fused epilogue is one piece
        // fewer in front of them).
        let mut bytes = vec![0x48, 0x89, 0xec, 0x5d, 0xc3]; // 00: epilogue
        bytes.push(0xe9);
        bytes.extend(rel32(0x0a, 0x0a)); // 05: jmp 0a
        bytes.extend([0x0f, 0x84]);
        bytes.extend(rel32(0x10, 0)); // 0a: je 00
        bytes.push(0xc3); // 10: ret
        let mut compiled = code(bytes);
        compiled.block_starts = vec![0, 0x05, 0x0a, 0x10];
        assert!(shorten_branches(&mut compiled));
        assert_eq!(compiled.bytes, [0xc9, 0xc3, 0xeb, 0x00, 0x74, 0xfa, 0xc3]);
        assert_eq!(compiled.block_starts, [0, 0x02, 0x04, 0x06]);

        // Without a branch to shorten, the epilogue alone is rewritten; with a block at
        // its `pop`, it is not.
        let mut compiled = code(vec![0x48, 0x89, 0xec, 0x5d, 0xc3]);
        assert!(shorten_branches(&mut compiled));
        assert_eq!(compiled.bytes, [0xc9, 0xc3]);
        let mut compiled = code(vec![0x48, 0x89, 0xec, 0x5d, 0xc3]);
        compiled.block_starts = vec![0, 3];
        assert!(!shorten_branches(&mut compiled));
        assert_eq!(compiled.bytes, [0x48, 0x89, 0xec, 0x5d, 0xc3]);
    }

    /// What the pass does not understand leaves the code as it is: a branch into the
    /// middle of an instruction, a trap site inside one, a jump table with no block
    /// after it, bytes that do not decode.
    #[test]
    fn code_it_does_not_understand_is_left_alone() {
        let mut into_middle = vec![0xe9];
        into_middle.extend(rel32(5, 6)); // jmp into the mov
        into_middle.extend([0x48, 0x89, 0xc0, 0xc3]);
        let mut trap_inside = vec![0xe9];
        trap_inside.extend(rel32(5, 5));
        trap_inside.extend([0x48, 0x89, 0xc0, 0xc3]);
        let mut table_without_block = vec![0xe9];
        table_without_block.extend(rel32(5, 5)); // 00: jmp 05
        table_without_block.extend([0x48, 0x8d, 0x05]); // 05: lea rax, [rip + 0e]
        table_without_block.extend(rel32(0x0c, 0x0e));
        table_without_block.extend([0xff, 0xe0]); // 0c: jmp rax
        table_without_block.extend((-9i32).to_le_bytes()); // 0e: the table
        let mut undecodable = vec![0xe9];
        undecodable.extend(rel32(5, 5));
        undecodable.extend([0x0f, 0xff]); // ud0 without its operand byte
        for (bytes, trap) in [
            (into_middle, None),
            (trap_inside, Some(6)),
            (table_without_block, None),
            (undecodable, None),
        ] {
            let mut compiled = code(bytes.clone());
            if let Some(offset) = trap {
                compiled.traps.push(TrapEntry {
                    code_offset: offset,
                    wasm_offset: 0,
                    trap_code: 0,
                });
            }
            assert!(!shorten_branches(&mut compiled), "{bytes:02x?}");
            assert_eq!(compiled.bytes, bytes);
        }
    }
}
