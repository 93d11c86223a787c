//! Branch shortening for x86_64: every direct jump Cranelift emits there has a 32-bit
//! displacement (`jmp rel32`, 5 bytes; `jcc rel32`, 6 bytes), although most land within
//! a few dozen bytes, where the 2-byte `rel8` forms reach. Cranelift 0.135's x64 emitter
//! has no branch relaxation (its only label uses are 32-bit), so kiln shortens the
//! branches of each compiled function itself, before placement (benches/README.md,
//! "Session 18" and "Session 20: x86_64 code rewritten after Cranelift": 3,443 of the
//! files program's 6,320 branches jumped at most 100 bytes).
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
//! And where a function saves callee-saved registers in the top of its frame, as
//! Cranelift does with `mov`s after its `sub $n,%rsp` (4 to 8 bytes each, and again to
//! restore), it saves them with `push` (1 or 2 bytes) in front of a smaller `sub` and
//! restores them with `lea -8k(%rbp),%rsp` and `pop`s before the `leave`: the frame keeps
//! its size and every other slot its address (see [`push_saves`] for the conditions).
//! Arithmetic with a 32-bit immediate that fits in 8 bits (`81 /n id`, which Cranelift
//! emits for some) gets the sign-extended 8-bit form (`83 /n ib`), 3 bytes shorter.
//! Where the loop placement starts on a cache line would get more than
//! [`MAX_BRANCHES_PER_LINE`] short branches in one of its lines, that line's branches
//! keep their 32-bit forms, which spreads them (at `--opt-level speed` only).
//!
//! It rewrites only what it fully understands: a function whose code holds anything
//! else (an instruction the decoder rejects, a branch of another form, a `%rip`-relative
//! address or a branch target that is not an instruction's start, a jump table without
//! a block after it) keeps its code as Cranelift emitted it, which is always correct.
//! The new code is decoded again and checked against the layout before it replaces the
//! old.

use crate::pipeline::CompiledCode;
use cranelift_module::ModuleRelocTarget;
use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic, OpKind, Register};
use kiln_abi::trap::NO_HANDLER;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
    /// An arithmetic instruction with a 32-bit immediate that fits in 8 bits (opcode
    /// `0x81` at `opcode`), written with the sign-extended 8-bit one (`0x83`): the same
    /// operation and flags, 3 bytes shorter.
    ShortImmediate { opcode: u32 },
    /// An instruction left out (an `add` to `%rsp` in front of a [`Kind::Leave`], a save
    /// or restore that [`Kind::Pushes`] or [`Kind::Pops`] does instead).
    Gone,
    /// The prologue's `sub $n,%rsp`, written as a `push` of each of `registers` (callee-
    /// saved, by number) and then `sub` of what is left of `n`, `sub`.
    Pushes { registers: Vec<u8>, sub: u32 },
    /// An epilogue's first restore, written as `lea -8k(%rbp),%rsp` (the `k` registers
    /// pushed) and a `pop` of each of `registers`, in reverse.
    Pops { registers: Vec<u8> },
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
/// placement) where it can, and with `spread_loops` (placement starts the function's
/// innermost loop on a cache line, `--opt-level speed`) not where that puts more than
/// [`MAX_BRANCHES_PER_LINE`] in one of the loop's lines; returns whether the code changed.
/// Leaves `code` unchanged when the function holds anything the pass does not understand.
pub(crate) fn shorten_branches(code: &mut CompiledCode, spread_loops: bool) -> bool {
    if code.entry != 0 || u32::try_from(code.bytes.len()).is_err() {
        return false;
    }
    let Some(decoded) = decode(code) else {
        return false;
    };
    if !decoded
        .pieces
        .iter()
        .any(|piece| piece.kind != Kind::Copy && !matches!(piece.kind, Kind::RipRelative { .. }))
    {
        return false;
    }
    let Some(mut layout) = Layout::fixpoint(&decoded, None) else {
        return false;
    };
    if let Some(long) = spread_loops
        .then(|| dense_loop_branches(code, &decoded, &layout))
        .flatten()
    {
        let Some(spread) = Layout::fixpoint(&decoded, Some(&long)) else {
            return false;
        };
        layout = spread;
    }
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
    // Addresses read `%rip`-relative, lowest first: those below `offset` are dropped as
    // the decoding passes them (it only moves forward).
    let mut data: BinaryHeap<Reverse<u32>> = BinaryHeap::new();
    let mut after_indirect_jump = false;
    let mut offset = 0u32;
    // Where the constants start, once found.
    let mut constants = None;
    while offset < len {
        while data
            .peek()
            .is_some_and(|&Reverse(address)| address < offset)
        {
            data.pop();
        }
        let next_data = data.peek().map(|&Reverse(address)| address);
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
            Kind::RipRelative { target, .. } => data.push(Reverse(*target)),
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
    let mut targets: Vec<u32> = block_starts.clone();
    targets.extend(branch_targets.iter().map(|&(_, target)| target));
    targets.extend(
        table_targets
            .iter()
            .flat_map(|(_, targets)| targets.iter().copied()),
    );
    targets.extend(code.call_sites.iter().map(|site| site.handler_offset));
    targets.extend(code.traps.iter().map(|trap| trap.code_offset));
    targets.sort_unstable();
    push_saves(&mut pieces, bytes, &targets);
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
        matches!(piece.kind, Kind::Copy | Kind::ShortImmediate { .. })
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

/// Saves callee-saved registers with `push` and restores them with `pop` where Cranelift
/// stores them (`mov %r,d(%rsp)`, 4 to 8 bytes each, twice) in the top of its frame, right
/// under the saved `%rbp`: the prologue's `sub $n,%rsp` becomes the pushes and a smaller
/// `sub`, and each epilogue's restores become `lea -8k(%rbp),%rsp` and the pops, in front
/// of its `leave`. The frame keeps its size, so every other slot keeps its address; the
/// pushes land in the save area (`k` slots rounded up to 16 bytes), which nothing else
/// reads or writes.
///
/// Only when everything is as expected: the function starts `push %rbp; mov %rsp,%rbp`,
/// then instructions that do not move `%rsp` (the stack check), then `sub $n,%rsp` and
/// the saves, each within the save area; every load of a saved register from its slot is
/// in an epilogue that restores them all, one after the other, with nothing but a dropped
/// `add` between them and its `leave`; no other instruction addresses `%rsp` at or above
/// the save area; and nothing jumps (or returns, or resumes) into a prologue or epilogue
/// past its first restore (`targets`, sorted). Anything else keeps Cranelift's saves.
fn push_saves(pieces: &mut [Piece], bytes: &[u8], targets: &[u32]) {
    // The old instruction (a shortened immediate does the same as the old one).
    let decode = |piece: &Piece| -> Option<Instruction> {
        if !matches!(piece.kind, Kind::Copy | Kind::ShortImmediate { .. }) {
            return None;
        }
        let code = &bytes[piece.start as usize..(piece.start + piece.len) as usize];
        let instruction = Decoder::new(64, code, DecoderOptions::NONE).decode();
        (!instruction.is_invalid()).then_some(instruction)
    };
    // `d(%rsp)`: the displacement, for a memory operand based on `%rsp` alone.
    let rsp_slot = |instruction: &Instruction, operand: u32| -> Option<i64> {
        (instruction.op_kind(operand) == OpKind::Memory
            && instruction.memory_base() == Register::RSP
            && instruction.memory_index() == Register::None)
            .then(|| instruction.memory_displacement64() as i64)
    };
    let is = |piece: &Piece, pattern: &[u8]| {
        piece.kind == Kind::Copy
            && bytes[piece.start as usize..(piece.start + piece.len) as usize] == *pattern
    };
    let targeted = |piece: &Piece| targets.binary_search(&piece.start).is_ok();
    if !(pieces.len() > 2 && is(&pieces[0], &[0x55]) && is(&pieces[1], &[0x48, 0x89, 0xe5])) {
        return;
    }
    // Up to the `sub` that makes the frame: nothing that moves `%rsp`.
    let mut sub_index = 2;
    let frame = loop {
        let piece = pieces.get(sub_index);
        if let Some(Piece {
            kind: Kind::Branch { cc: Some(_), .. },
            ..
        }) = piece
        {
            // The stack check's branch to its trap.
            sub_index += 1;
            continue;
        }
        let Some(instruction) = piece.and_then(decode) else {
            return;
        };
        let op0 = (instruction.op_count() > 0 && instruction.op0_kind() == OpKind::Register)
            .then(|| instruction.op0_register());
        match instruction.mnemonic() {
            Mnemonic::Sub if op0 == Some(Register::RSP) => {
                match instruction.op1_kind() {
                    OpKind::Immediate8to64 | OpKind::Immediate32to64 => {}
                    _ => return,
                }
                break instruction.immediate(1) as i64;
            }
            Mnemonic::Mov | Mnemonic::Add | Mnemonic::Lea
                if op0.is_some_and(|register| register != Register::RSP) => {}
            Mnemonic::Cmp => {}
            _ => return,
        }
        if targeted(&pieces[sub_index]) {
            return;
        }
        sub_index += 1;
    };
    // The saves, and the save area they must lie in.
    let mut saves: Vec<(u8, i64)> = Vec::new();
    let mut index = sub_index + 1;
    while let Some(instruction) = pieces.get(index).and_then(decode) {
        let (Mnemonic::Mov, Some(slot)) = (instruction.mnemonic(), rsp_slot(&instruction, 0))
        else {
            break;
        };
        let Some(register) = callee_saved(instruction.op1_register()) else {
            break;
        };
        if targeted(&pieces[index]) || saves.iter().any(|&(r, d)| r == register || d == slot) {
            return;
        }
        saves.push((register, slot));
        index += 1;
    }
    let area = (8 * saves.len() as i64 + 15) / 16 * 16;
    if saves.is_empty()
        || frame < area
        || frame > i64::from(u32::MAX)
        || saves
            .iter()
            .any(|&(_, slot)| slot < frame - area || slot >= frame || slot % 8 != 0)
    {
        return;
    }
    let saves_end = index;
    // The epilogues: each first restore's index; every other touch of the area fails.
    let mut epilogues = Vec::new();
    let mut index = saves_end;
    while index < pieces.len() {
        // Only an instruction with a SIB byte of base `%rsp` and no index can address
        // `d(%rsp)`: one without any such byte is neither a restore nor a touch, and is
        // not decoded again.
        let piece = &pieces[index];
        let piece_bytes = &bytes[piece.start as usize..(piece.start + piece.len) as usize];
        if !piece_bytes.iter().any(|&byte| byte & 0x3f == 0x24) {
            index += 1;
            continue;
        }
        let Some(instruction) = decode(&pieces[index]) else {
            index += 1;
            continue;
        };
        let restores = |instruction: &Instruction| -> Option<(u8, i64)> {
            let register = callee_saved(instruction.op0_register())?;
            let slot = rsp_slot(instruction, 1)?;
            (instruction.mnemonic() == Mnemonic::Mov && instruction.op_count() == 2)
                .then_some((register, slot))
        };
        if restores(&instruction).is_some_and(|restore| saves.contains(&restore)) {
            // All of them, one after the other, then an optional dropped `add`, `leave`.
            let first = index;
            let mut restored = Vec::new();
            while let Some(restore) = pieces
                .get(index)
                .and_then(decode)
                .and_then(|i| restores(&i))
            {
                if !saves.contains(&restore) || restored.contains(&restore) {
                    return;
                }
                restored.push(restore);
                index += 1;
            }
            if restored.len() != saves.len() {
                return;
            }
            if pieces
                .get(index)
                .is_some_and(|piece| piece.kind == Kind::Gone)
            {
                index += 1;
            }
            if pieces
                .get(index)
                .is_none_or(|piece| piece.kind != Kind::Leave)
                || pieces[first + 1..=index].iter().any(targeted)
            {
                return;
            }
            epilogues.push(first);
            index += 1;
            continue;
        }
        let touches = (0..instruction.op_count())
            .filter_map(|operand| rsp_slot(&instruction, operand))
            .any(|slot| slot >= frame - area);
        if touches {
            return;
        }
        index += 1;
    }
    let registers: Vec<u8> = saves.iter().map(|&(register, _)| register).collect();
    pieces[sub_index].kind = Kind::Pushes {
        registers: registers.clone(),
        sub: (frame - 8 * saves.len() as i64) as u32,
    };
    for piece in &mut pieces[sub_index + 1..saves_end] {
        piece.kind = Kind::Gone;
    }
    for first in epilogues {
        pieces[first].kind = Kind::Pops {
            registers: registers.clone(),
        };
        for piece in &mut pieces[first + 1..first + saves.len()] {
            piece.kind = Kind::Gone;
        }
    }
}

/// The number of a register the System V ABI makes callee-saved (besides `%rbp`).
fn callee_saved(register: Register) -> Option<u8> {
    match register {
        Register::RBX => Some(3),
        Register::R12 => Some(12),
        Register::R13 => Some(13),
        Register::R14 => Some(14),
        Register::R15 => Some(15),
        _ => None,
    }
}

/// The length of a `push` or `pop` of register number `register`.
fn push_len(register: u8) -> u32 {
    if register >= 8 {
        2
    } else {
        1
    }
}

/// Appends `push` (`opcode` 0x50) or `pop` (0x58) of register number `register`.
fn push_pop(bytes: &mut Vec<u8>, opcode: u8, register: u8) {
    if register >= 8 {
        bytes.push(0x41);
    }
    bytes.push(opcode + (register & 7));
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
        // A relocation may sit in the immediate: the linker's, as it is.
        _ if relocated => Some(Kind::Copy),
        _ => {
            Some(short_immediate(decoder, instruction, &bytes[at..at + len]).unwrap_or(Kind::Copy))
        }
    }
}

/// [`Kind::ShortImmediate`] for an arithmetic instruction with a 32-bit immediate that
/// fits in 8 bits (`81 /n id`: `add`, `or`, `adc`, `sbb`, `and`, `sub`, `xor`, `cmp` on 32
/// or 64 bits, with at most a REX prefix); `None` for anything else.
fn short_immediate(decoder: &Decoder<'_>, instruction: &Instruction, bytes: &[u8]) -> Option<Kind> {
    let opcode = match bytes {
        [0x81, ..] => 0,
        [0x40..=0x4f, 0x81, ..] => 1,
        _ => return None,
    };
    let offsets = decoder.get_constant_offsets(instruction);
    let at = offsets.immediate_offset();
    if !offsets.has_immediate() || offsets.immediate_size() != 4 || at + 4 != bytes.len() {
        return None;
    }
    let immediate = i32::from_le_bytes(bytes[at..].try_into().ok()?);
    i8::try_from(immediate).ok()?;
    Some(Kind::ShortImmediate { opcode })
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
    fn fixpoint(decoded: &Decoded, long: Option<&[bool]>) -> Option<Layout> {
        let mut short: Vec<bool> = decoded
            .pieces
            .iter()
            .enumerate()
            .map(|(index, piece)| {
                matches!(piece.kind, Kind::Branch { .. }) && !long.is_some_and(|long| long[index])
            })
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

/// Branches in one 64-byte line of the loop placement starts on a line (lines counted
/// from its header), above which the line's branches keep their 32-bit form. On this AMD
/// EPYC (Zen 4), quicksort's hot function with five short branches in its inner loop's
/// line ran 1.18x as long as with them spread over two lines (benches/README.md, "Session
/// 21"); four and fewer are left short.
const MAX_BRANCHES_PER_LINE: usize = 4;

/// The branches in the lines of the loop placement starts on a line
/// (`placement::innermost_loop`) where `layout` puts more than [`MAX_BRANCHES_PER_LINE`] in
/// one line (by piece, `true` for each), if there are any.
fn dense_loop_branches(
    code: &CompiledCode,
    decoded: &Decoded,
    layout: &Layout,
) -> Option<Vec<bool>> {
    let (header, end) = crate::placement::innermost_loop(&code.block_starts, &code.block_edges)?;
    let new_header = new_boundary(decoded, layout, header)?;
    // The line of new offset `new`, counted from the header's (`None` before it).
    let line = |new: u32| {
        new.checked_sub(new_header)
            .map(|distance| (distance / 64) as usize)
    };
    // The loop runs from its header to the end of the block of its farthest back edge
    // (`u32::MAX`: the end of the code).
    let new_end = match end {
        u32::MAX => layout.code_end,
        end => new_boundary(decoded, layout, end)?,
    };
    let last_line = line(new_end.checked_sub(1)?)?;
    // Each branch's line: the line of its last byte.
    let branch_line = |index: usize| {
        let piece = &decoded.pieces[index];
        matches!(piece.kind, Kind::Branch { .. })
            .then(|| line(layout.starts[index] + new_len(piece, layout.short[index]) - 1))
            .flatten()
            .filter(|&line| line <= last_line)
    };
    let mut counts = vec![0; last_line + 1];
    for index in 0..decoded.pieces.len() {
        if let Some(line) = branch_line(index) {
            counts[line] += 1;
        }
    }
    let long: Vec<bool> = (0..decoded.pieces.len())
        .map(|index| branch_line(index).is_some_and(|line| counts[line] > MAX_BRANCHES_PER_LINE))
        .collect();
    long.contains(&true).then_some(long)
}

/// A piece's length in the new code.
fn new_len(piece: &Piece, short: bool) -> u32 {
    match piece.kind {
        Kind::Branch { .. } if short => 2,
        Kind::Leave => 1,
        Kind::ShortImmediate { .. } => piece.len - 3,
        Kind::Gone => 0,
        Kind::Pushes { ref registers, sub } => {
            let pushes: u32 = registers.iter().map(|&r| push_len(r)).sum();
            pushes
                + match sub {
                    0 => 0,
                    1..=127 => 4,
                    _ => 7,
                }
        }
        Kind::Pops { ref registers } => 4 + registers.iter().map(|&r| push_len(r)).sum::<u32>(),
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
            Kind::ShortImmediate { opcode } => {
                let opcode = *opcode as usize;
                let end = old_bytes.len() - 4;
                bytes.extend_from_slice(&old_bytes[..opcode]);
                bytes.push(0x83);
                bytes.extend_from_slice(&old_bytes[opcode + 1..end]);
                bytes.push(old_bytes[end]);
            }
            Kind::Gone => {}
            Kind::Pushes { registers, sub } => {
                for &register in registers {
                    push_pop(&mut bytes, 0x50, register);
                }
                match *sub {
                    0 => {}
                    sub @ 1..=127 => bytes.extend([0x48, 0x83, 0xec, sub as u8]),
                    sub => {
                        bytes.extend([0x48, 0x81, 0xec]);
                        bytes.extend(sub.to_le_bytes());
                    }
                }
            }
            Kind::Pops { registers } => {
                let pushed = i8::try_from(8 * registers.len()).ok()?;
                bytes.extend([0x48, 0x8d, 0x65, pushed.wrapping_neg() as u8]);
                for &register in registers.iter().rev() {
                    push_pop(&mut bytes, 0x58, register);
                }
            }
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
        let mut end = start + instruction.len() as u32;
        if matches!(piece.kind, Kind::Pushes { .. } | Kind::Pops { .. }) {
            // Several instructions: each must decode, the last end where the piece does.
            let mut next = Instruction::default();
            while end < start + len {
                decoder.decode_out(&mut next);
                if next.is_invalid() {
                    return false;
                }
                end += next.len() as u32;
            }
        }
        if instruction.is_invalid() || end != start + len {
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

        assert!(shorten_branches(&mut compiled, false));
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

    /// A loop of `exits` `jne`s to the `ret` after it and a `jmp` back to its header, with
    /// its blocks.
    fn branchy_loop(exits: u32) -> CompiledCode {
        let mut bytes = Vec::new();
        let ret = 6 * exits + 5;
        for exit in 0..exits {
            bytes.extend([0x0f, 0x85]);
            bytes.extend(rel32(6 * exit + 6, ret)); // jne ret
        }
        bytes.push(0xe9);
        bytes.extend(rel32(ret, 0)); // jmp 0
        bytes.push(0xc3); // ret
        let mut compiled = code(bytes);
        compiled.block_starts = (0..=exits).map(|block| 6 * block).chain([ret]).collect();
        compiled.block_edges = (0..exits)
            .flat_map(|block| [(6 * block, 6 * block + 6), (6 * block, ret)])
            .chain([(6 * exits, 0)])
            .collect();
        compiled
    }

    /// With `spread_loops`, the branches of a loop's line that would hold more than four
    /// short ones keep their 32-bit form; four stay short, and without `spread_loops` all
    /// are short.
    #[test]
    fn loops_keep_more_than_four_branches_a_line_long() {
        let mut spread = branchy_loop(4);
        assert!(shorten_branches(&mut spread, true));
        assert_eq!(
            spread.bytes,
            branchy_loop(4).bytes,
            "five branches in the line stay long"
        );
        let mut short = branchy_loop(4);
        assert!(shorten_branches(&mut short, false));
        assert_eq!(short.bytes.len(), 5 * 2 + 1);

        let mut shortened = branchy_loop(3);
        assert!(shorten_branches(&mut shortened, true));
        assert_eq!(
            shortened.bytes.len(),
            4 * 2 + 1,
            "four branches become short"
        );
        assert_eq!(shortened.block_edges.last(), Some(&(6, 0)));
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
        assert!(shorten_branches(&mut compiled, false));
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
        assert!(shorten_branches(&mut compiled, false));
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
        assert!(shorten_branches(&mut compiled, false));
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
        assert!(shorten_branches(&mut compiled, false));
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
        assert!(shorten_branches(&mut compiled, false));
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
        assert!(shorten_branches(&mut compiled, false));
        assert_eq!(compiled.bytes, [0xc9, 0xc3, 0xeb, 0x00, 0x74, 0xfa, 0xc3]);
        assert_eq!(compiled.block_starts, [0, 0x02, 0x04, 0x06]);

        // Without a branch to shorten, the epilogue alone is rewritten; with a block at
        // its `pop`, it is not.
        let mut compiled = code(vec![0x48, 0x89, 0xec, 0x5d, 0xc3]);
        assert!(shorten_branches(&mut compiled, false));
        assert_eq!(compiled.bytes, [0xc9, 0xc3]);
        let mut compiled = code(vec![0x48, 0x89, 0xec, 0x5d, 0xc3]);
        compiled.block_starts = vec![0, 3];
        assert!(!shorten_branches(&mut compiled, false));
        assert_eq!(compiled.bytes, [0x48, 0x89, 0xec, 0x5d, 0xc3]);
    }

    /// A function that saves `%rbx` and `%r12` in the top of a 32-byte frame.
    fn saving(body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x55, 0x48, 0x89, 0xe5]; // 00: push rbp; mov rbp, rsp
        bytes.extend([0x48, 0x83, 0xec, 0x20]); // 04: sub rsp, 0x20
        bytes.extend([0x48, 0x89, 0x5c, 0x24, 0x10]); // 08: mov [rsp+0x10], rbx
        bytes.extend([0x4c, 0x89, 0x64, 0x24, 0x18]); // 0d: mov [rsp+0x18], r12
        bytes.extend(body); // 12
        bytes.extend([0x48, 0x8b, 0x5c, 0x24, 0x10]); // mov rbx, [rsp+0x10]
        bytes.extend([0x4c, 0x8b, 0x64, 0x24, 0x18]); // mov r12, [rsp+0x18]
        bytes.extend([0x48, 0x83, 0xc4, 0x20]); // add rsp, 0x20
        bytes.extend([0x48, 0x89, 0xec, 0x5d, 0xc3]); // mov rsp, rbp; pop rbp; ret
        bytes
    }

    /// Saves in the top of the frame become pushes and a smaller `sub`, the restores a
    /// `lea` from `%rbp` and pops; a spill below the save area stays where it is.
    #[test]
    fn saves_become_pushes_and_restores_pops() {
        let mut compiled = code(saving(&[0x48, 0x89, 0x04, 0x24])); // mov [rsp], rax
        assert!(shorten_branches(&mut compiled, false));
        let expected = [
            0x55, 0x48, 0x89, 0xe5, // push rbp; mov rbp, rsp
            0x53, 0x41, 0x54, // push rbx; push r12
            0x48, 0x83, 0xec, 0x10, // sub rsp, 0x10
            0x48, 0x89, 0x04, 0x24, // mov [rsp], rax
            0x48, 0x8d, 0x65, 0xf0, // lea rsp, [rbp-16]
            0x41, 0x5c, 0x5b, // pop r12; pop rbx
            0xc9, 0xc3, // leave; ret
        ];
        assert_eq!(compiled.bytes, expected, "{:x?}", compiled.bytes);
    }

    /// The saves stay as Cranelift wrote them (the epilogue still becomes `leave`) when
    /// another instruction touches the save area, or a block starts inside the restores.
    #[test]
    fn saves_stay_where_anything_else_touches_them() {
        let leave_only = |bytes: &[u8]| {
            let end = bytes.len();
            let mut expected = bytes[..end - 9].to_vec();
            expected.extend([0xc9, 0xc3]);
            expected
        };
        // mov rax, [rsp+0x18]: reads r12's slot.
        let bytes = saving(&[0x48, 0x8b, 0x44, 0x24, 0x18]);
        let mut compiled = code(bytes.clone());
        assert!(shorten_branches(&mut compiled, false));
        assert_eq!(compiled.bytes, leave_only(&bytes));
        // A block at the second restore.
        let bytes = saving(&[0x90]);
        let mut compiled = code(bytes.clone());
        compiled.block_starts = vec![0, 0x18];
        assert!(shorten_branches(&mut compiled, false));
        assert_eq!(compiled.bytes, leave_only(&bytes));
        // lea rax, [rsp+0x10]: the address of rbx's slot.
        let bytes = saving(&[0x48, 0x8d, 0x44, 0x24, 0x10]);
        let mut compiled = code(bytes.clone());
        assert!(shorten_branches(&mut compiled, false));
        assert_eq!(compiled.bytes, leave_only(&bytes));
    }

    /// Arithmetic with a 32-bit immediate that fits in 8 bits gets the 8-bit form; one
    /// that does not fit, or a 16-bit one, stays; a trap on it moves with it.
    #[test]
    fn immediates_that_fit_become_short() {
        let mut bytes = vec![0x81, 0xc0, 0x04, 0, 0, 0]; // 00: add eax, 4
        bytes.extend([0x49, 0x81, 0xea, 0x80, 0xff, 0xff, 0xff]); // 06: sub r10, -128
        bytes.extend([0x81, 0x7f, 0x10, 0x7f, 0, 0, 0]); // 0d: cmp dword [rdi+16], 127
        bytes.extend([0x81, 0xc1, 0x80, 0, 0, 0]); // 14: add ecx, 128
        bytes.extend([0x66, 0x81, 0xc1, 0x04, 0]); // 1a: add cx, 4
        bytes.push(0xc3); // 1f: ret
        let mut compiled = code(bytes);
        compiled.traps.push(TrapEntry {
            code_offset: 0x0d,
            wasm_offset: 1,
            trap_code: 2,
        });
        assert!(shorten_branches(&mut compiled, false));
        let expected = [
            0x83, 0xc0, 0x04, // add eax, 4
            0x49, 0x83, 0xea, 0x80, // sub r10, -128
            0x83, 0x7f, 0x10, 0x7f, // cmp dword [rdi+16], 127
            0x81, 0xc1, 0x80, 0, 0, 0, // add ecx, 128
            0x66, 0x81, 0xc1, 0x04, 0, // add cx, 4
            0xc3,
        ];
        assert_eq!(compiled.bytes, expected, "{:x?}", compiled.bytes);
        assert_eq!(compiled.traps[0].code_offset, 0x07);
    }

    /// AVX-512's EVEX-encoded instructions (Cranelift's with `--target-features native` on
    /// such a machine; the `vpermi2b` of an `i8x16.shuffle` is from libsodium-sign) decode
    /// whole: the branch over them becomes short and their bytes stay as they are. A
    /// decoder built without its EVEX tables (iced-x86's `no_evex`) rejects some of them
    /// and takes others for shorter instructions, and then the pass rewrote code it had
    /// cut at the wrong places (benches/README.md, "Session 24").
    #[test]
    fn evex_instructions_decode_whole() {
        let evex: [&[u8]; 5] = [
            &[0x62, 0xf2, 0xfd, 0x08, 0x1f, 0xc1], // vpabsq %xmm1,%xmm0
            &[0x62, 0xf2, 0xf5, 0x08, 0x40, 0xc2], // vpmullq %xmm2,%xmm1,%xmm0
            &[0x62, 0xf2, 0xfd, 0x08, 0x1f, 0x40, 0x01], // vpabsq 0x10(%rax),%xmm0
            &[0x62, 0xf3, 0x75, 0x48, 0x25, 0xc2, 0xca], // vpternlogd $0xca,%zmm2,%zmm1,%zmm0
            &[0x62, 0xf2, 0x6d, 0x08, 0x75, 0xd8], // vpermi2b %xmm0,%xmm2,%xmm3
        ];
        let body: Vec<u8> = evex.concat();
        let over = body.len() as u32;
        let mut bytes = vec![0xe9];
        bytes.extend(rel32(5, 5 + over)); // jmp over them, to the ret
        bytes.extend(&body);
        bytes.push(0xc3);
        let mut compiled = code(bytes);
        assert!(shorten_branches(&mut compiled, false));
        let mut expected = vec![0xeb, over as u8];
        expected.extend(&body);
        expected.push(0xc3);
        assert_eq!(compiled.bytes, expected);
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
            assert!(!shorten_branches(&mut compiled, false), "{bytes:02x?}");
            assert_eq!(compiled.bytes, bytes);
        }
    }
}
