//! Byte loads combined: an integer assembled from adjacent bytes of memory becomes one
//! load (and a byte swap when the bytes are big-endian); and byte swaps written out with
//! shifts and masks become one `bswap` (`find_byte_swaps`, at the end).
//!
//! Wasm has no byte-swapping instruction, so LLVM leaves a big-endian read such as
//! SQLite's `get4byte` (`p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]`) or Rust's
//! `u64::from_be_bytes` of a slice as it is written: a zero-extending byte load per byte,
//! shifted into place and joined with `or` (or `add`). Native code reads such a value with
//! one load and a `bswap` (or `movbe`); Cranelift, which sees only the wasm's shape, keeps
//! every byte load, and since its loads stay in program order while the shifts sink to
//! their use, all the bytes are live at once and fill the registers.
//!
//! This pass runs over a translated function. It finds trees of `bor`/`iadd` over `ishl`
//! by multiples of 8 and `uextend` whose leaves are `uload8` heap accesses at one address
//! with different constant offsets, and when the bytes are 2, 4 or 8 adjacent ones placed
//! in little- or big-endian order from bit 0, replaces the tree's root with one load of
//! that width (then `bswap`, then `uextend` when narrower than the result); the byte
//! loads become constants, and Cranelift drops the tree as dead code. Only where it cannot be observed:
//! - every value inside the tree is used once, by the tree (wasm duplicates values only
//!   through locals; a byte kept in one is used twice and its tree is left alone);
//! - the tree lies in one block, and between its first byte load and its root there is
//!   nothing that stores, calls, traps or has another effect: the combined load, at the
//!   root, reads the bytes the byte loads read, and traps (out of bounds) exactly when one
//!   of them would have trapped; explicit bounds checks trap, so code compiled with them
//!   (and any access the guard region does not cover) is never combined;
//! - the combined load keeps the heap's flags and takes the source location of the
//!   first byte load, so a trap is reported there (the one difference: when several of the
//!   bytes are out of bounds, the first load's offset is named even if a later one was
//!   the first out of bounds in the original order, which runs the same up to that trap).

use super::{constant, defining};
use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::entity::packed_option::PackedOption;
use cranelift_codegen::entity::SecondaryMap;
use cranelift_codegen::ir::{self, types, Inst, InstBuilder, InstructionData, Opcode, Type, Value};
use std::collections::HashSet;

/// At most this many bytes: an i64.
const MAX_BYTES: usize = 8;

/// At most this many instructions between a tree's first byte load and its root (an
/// eight-byte tree with its address computations takes about 60): bounds the scan for
/// effects, so that the pass stays linear in the function's size whatever the nesting.
const MAX_SPAN: usize = 256;

/// Bytes of memory assembled into an integer.
#[derive(Clone)]
struct Piece {
    /// The address of the byte at offset 0, without its constant offset.
    core: Value,
    /// The integer type the bytes are assembled in.
    ty: Type,
    /// Each byte's offset from `core` and the bit its value is shifted to.
    bytes: Vec<(i64, u32)>,
    /// The tree's instructions: byte loads, shifts, extensions, joins.
    insts: Vec<Inst>,
}

/// Combines the byte loads of `func` (see the file's comment).
pub(super) fn combine(func: &mut ir::Function) {
    // Every tree, assuming each value in it is used by it alone (checked below, only when
    // there is a tree to combine: most functions have none).
    let mut pieces: Vec<Piece> = Vec::new();
    let mut piece_index: SecondaryMap<Value, PackedOption<PieceIndex>> = SecondaryMap::new();
    // Sized once: growing it value by value costs more than the pass.
    piece_index.resize(func.dfg.num_values());
    let mut candidates = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            let Some(piece) = piece_of(func, &pieces, &piece_index, inst) else {
                continue;
            };
            let index = PieceIndex::new(pieces.len());
            if byte_order(&piece).is_some() {
                candidates.push(index);
            }
            piece_index[func.dfg.first_result(inst)] = index.into();
            pieces.push(piece);
        }
    }
    if candidates.is_empty() {
        return;
    }
    let uses = use_counts(func);
    // Outer trees first (a tree's root follows its subtrees'): a subtree of a combined
    // tree is gone with it.
    let mut combined: HashSet<Inst> = HashSet::new();
    for &index in candidates.iter().rev() {
        let piece = &pieces[index.index()];
        let root = *piece.insts.last().expect("a piece has instructions");
        let used_once = piece
            .insts
            .iter()
            .filter(|&&inst| inst != root)
            .all(|&inst| uses[func.dfg.first_result(inst)] == 1);
        if combined.contains(&root) || !used_once {
            continue;
        }
        let order = byte_order(piece).expect("candidates have a byte order");
        let piece = piece.clone();
        if replace(func, root, &piece, order) {
            combined.extend(piece.insts.iter().copied());
        }
    }
}

/// A piece's index in `combine`'s list.
#[derive(Clone, Copy, PartialEq, Eq)]
struct PieceIndex(u32);

impl PieceIndex {
    fn new(index: usize) -> Self {
        Self(u32::try_from(index).expect("fewer pieces than instructions"))
    }

    fn index(self) -> usize {
        self.0 as usize
    }
}

impl cranelift_codegen::entity::packed_option::ReservedValue for PieceIndex {
    fn reserved_value() -> Self {
        Self(u32::MAX)
    }

    fn is_reserved_value(&self) -> bool {
        self.0 == u32::MAX
    }
}

/// How many times each value is used as an argument or a block-call argument.
fn use_counts(func: &ir::Function) -> SecondaryMap<Value, u32> {
    let mut uses: SecondaryMap<Value, u32> = SecondaryMap::new();
    uses.resize(func.dfg.num_values());
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            if func.dfg.insts[inst].opcode().is_branch() {
                for arg in func.dfg.inst_values(inst) {
                    uses[func.dfg.resolve_aliases(arg)] += 1;
                }
            } else {
                for &arg in func.dfg.inst_args(inst) {
                    uses[func.dfg.resolve_aliases(arg)] += 1;
                }
            }
        }
    }
    uses
}

/// The piece `inst` computes, if it is a byte load or joins, shifts or extends pieces that
/// are used only by it.
fn piece_of(
    func: &ir::Function,
    pieces: &[Piece],
    piece_index: &SecondaryMap<Value, PackedOption<PieceIndex>>,
    inst: Inst,
) -> Option<Piece> {
    let dfg = &func.dfg;
    // An operand piece in this instruction's block. (An operand that is an alias of a
    // piece is not looked through: its tree is left alone, which is always correct.)
    let operand = |value: Value| {
        let index = piece_index[value].expand()?;
        Some(&pieces[index.index()]).filter(|piece| same_block(func, piece, inst))
    };
    match dfg.insts[inst] {
        InstructionData::Load {
            opcode: Opcode::Uload8,
            arg,
            flags,
            offset,
        } => {
            // A heap access: it traps out of bounds (guard pages).
            dfg.mem_flags[flags].trap_code()?;
            let (core, constant) = split_offset(func, arg);
            let offset = constant.checked_add(i64::from(offset))?;
            Some(Piece {
                core,
                ty: dfg.value_type(dfg.first_result(inst)),
                bytes: vec![(offset, 0)],
                insts: vec![inst],
            })
        }
        InstructionData::Binary {
            opcode: Opcode::Ishl,
            args: [x, amount],
        } => {
            let piece = operand(x)?;
            let amount = u32::try_from(constant(func, amount)?).ok()?;
            if amount % 8 != 0 {
                return None;
            }
            let bits = piece.ty.bits();
            let mut shifted = piece.clone();
            for (_, shift) in &mut shifted.bytes {
                *shift = shift.checked_add(amount).filter(|&s| s + 8 <= bits)?;
            }
            shifted.insts.push(inst);
            Some(shifted)
        }
        InstructionData::Unary {
            opcode: Opcode::Uextend,
            arg,
        } => {
            let mut extended = operand(arg)?.clone();
            extended.ty = dfg.value_type(dfg.first_result(inst));
            extended.insts.push(inst);
            Some(extended)
        }
        InstructionData::Binary {
            opcode: Opcode::Bor | Opcode::Iadd,
            args: [x, y],
        } => {
            let (a, b) = (operand(x)?, operand(y)?);
            if a.ty != b.ty
                || a.bytes.len() + b.bytes.len() > MAX_BYTES
                || !same_address(func, a.core, b.core)
            {
                return None;
            }
            // Disjoint bytes in disjoint bits: `or` and `add` are the same then.
            for (offset, shift) in &b.bytes {
                if a.bytes.iter().any(|(o, s)| o == offset || s == shift) {
                    return None;
                }
            }
            let mut joined = a.clone();
            joined.bytes.extend_from_slice(&b.bytes);
            joined.insts.extend_from_slice(&b.insts);
            joined.insts.push(inst);
            Some(joined)
        }
        _ => None,
    }
}

/// Whether all of `piece`'s instructions are in `inst`'s block.
fn same_block(func: &ir::Function, piece: &Piece, inst: Inst) -> bool {
    let block = func.layout.inst_block(inst);
    piece
        .insts
        .iter()
        .all(|&i| func.layout.inst_block(i) == block)
}

/// An address as a value without constant offset and the offset: kiln adds a memory
/// access's static offset to its address with an `iadd` of a constant.
fn split_offset(func: &ir::Function, address: Value) -> (Value, i64) {
    let address = func.dfg.resolve_aliases(address);
    if let Some(InstructionData::Binary {
        opcode: Opcode::Iadd,
        args: [x, y],
    }) = defining(func, address)
    {
        if let Some(k) = constant(func, y) {
            return (func.dfg.resolve_aliases(x), k);
        }
    }
    (address, 0)
}

/// Whether two address values are the same address: the same value, or the same
/// computation (each access computes its address anew: base plus extended index, the
/// base a shared value or a load of the same `vmctx` field).
fn same_address(func: &ir::Function, a: Value, b: Value) -> bool {
    same_value(func, a, b, 3)
}

fn same_value(func: &ir::Function, a: Value, b: Value, depth: u32) -> bool {
    let (a, b) = (func.dfg.resolve_aliases(a), func.dfg.resolve_aliases(b));
    if a == b {
        return true;
    }
    if depth == 0 {
        return false;
    }
    match (defining(func, a), defining(func, b)) {
        (
            Some(InstructionData::Binary {
                opcode: Opcode::Iadd,
                args: [a0, a1],
            }),
            Some(InstructionData::Binary {
                opcode: Opcode::Iadd,
                args: [b0, b1],
            }),
        ) => same_value(func, a0, b0, depth - 1) && same_value(func, a1, b1, depth - 1),
        (
            Some(InstructionData::Unary {
                opcode: Opcode::Uextend,
                arg: a0,
            }),
            Some(InstructionData::Unary {
                opcode: Opcode::Uextend,
                arg: b0,
            }),
        ) => func.dfg.value_type(a) == func.dfg.value_type(b) && same_value(func, a0, b0, 0),
        // Loads of a field that never changes (a memory's base in `vmctx`).
        (
            Some(InstructionData::Load {
                opcode: Opcode::Load,
                arg: a0,
                flags: fa,
                offset: oa,
            }),
            Some(InstructionData::Load {
                opcode: Opcode::Load,
                arg: b0,
                flags: fb,
                offset: ob,
            }),
        ) => {
            fa == fb
                && func.dfg.mem_flags[fa].readonly()
                && oa == ob
                && func.dfg.value_type(a) == func.dfg.value_type(b)
                && same_value(func, a0, b0, 0)
        }
        _ => false,
    }
}

#[derive(Clone, Copy)]
enum ByteOrder {
    Little,
    Big,
}

/// Whether `piece` is 2, 4 or 8 adjacent bytes placed from bit 0 in one byte order.
fn byte_order(piece: &Piece) -> Option<ByteOrder> {
    let n = piece.bytes.len();
    if !matches!(n, 2 | 4 | 8) || n as u32 * 8 > piece.ty.bits() {
        return None;
    }
    let first = piece.bytes.iter().map(|(offset, _)| *offset).min()?;
    let position = |offset: i64| u32::try_from(offset.checked_sub(first)?).ok();
    let little = piece
        .bytes
        .iter()
        .all(|&(offset, shift)| position(offset) == Some(shift / 8) && shift % 8 == 0);
    let big = piece.bytes.iter().all(|&(offset, shift)| {
        position(offset).and_then(|p| (n as u32 - 1).checked_sub(p)) == Some(shift / 8)
            && shift % 8 == 0
    });
    match (little, big) {
        (true, _) => Some(ByteOrder::Little),
        (_, true) => Some(ByteOrder::Big),
        _ => None,
    }
}

/// Replaces the tree of `piece` ending at `root` with one load, when nothing between its
/// first byte load and the root could observe the difference; whether it did.
fn replace(func: &mut ir::Function, root: Inst, piece: &Piece, order: ByteOrder) -> bool {
    // The tree's first instruction in the layout, and nothing with an effect from there
    // to the root.
    let Some(first) = piece
        .insts
        .iter()
        .copied()
        .filter(|&inst| inst != root)
        .min_by(|&a, &b| func.layout.pp_cmp(a, b))
    else {
        return false;
    };
    let mut inst = first;
    for _ in 0..MAX_SPAN {
        if inst == root {
            break;
        }
        if !piece.insts.contains(&inst) && has_effect(func, inst) {
            return false;
        }
        match func.layout.next_inst(inst) {
            Some(next) => inst = next,
            None => return false,
        }
    }
    if inst != root {
        return false;
    }
    // The load of the lowest byte supplies the address and the flags.
    let lowest = piece
        .bytes
        .iter()
        .map(|(offset, _)| *offset)
        .min()
        .expect("a piece has bytes");
    let Some(&lowest_load) = piece.insts.iter().find(|&&inst| {
        matches!(func.dfg.insts[inst], InstructionData::Load { .. })
            && load_offset(func, inst) == Some(lowest)
    }) else {
        return false;
    };
    let InstructionData::Load {
        arg: address,
        flags,
        offset,
        ..
    } = func.dfg.insts[lowest_load]
    else {
        return false;
    };
    let width = match piece.bytes.len() {
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    };
    let flags = func.dfg.mem_flags[flags];
    let location = func.srcloc(first);
    let ty = piece.ty;
    let mut cursor = FuncCursor::new(func).at_inst(root);
    cursor.set_srcloc(location);
    match (order, width == ty) {
        (ByteOrder::Little, true) => {
            func.replace(root).load(width, flags, address, offset);
        }
        (ByteOrder::Little, false) if width == types::I16 => {
            func.replace(root).uload16(ty, flags, address, offset);
        }
        (ByteOrder::Little, false) => {
            func.replace(root).uload32(flags, address, offset);
        }
        (ByteOrder::Big, true) => {
            let loaded = cursor.ins().load(width, flags, address, offset);
            func.replace(root).bswap(loaded);
        }
        (ByteOrder::Big, false) => {
            let loaded = cursor.ins().load(width, flags, address, offset);
            let swapped = cursor.ins().bswap(loaded);
            func.replace(root).uextend(ty, swapped);
        }
    }
    func.set_srcloc(root, location);
    // The byte loads become constants: nothing uses them now (each was used once, by the
    // tree), so Cranelift drops them with the rest of the tree, which is pure.
    for &inst in piece.insts.iter().filter(|&&inst| inst != root) {
        if let InstructionData::Load { .. } = func.dfg.insts[inst] {
            let ty = func.dfg.value_type(func.dfg.first_result(inst));
            func.replace(inst).iconst(ty, 0);
        }
    }
    true
}

/// The constant offset of byte load `inst` from its core address.
fn load_offset(func: &ir::Function, inst: Inst) -> Option<i64> {
    let InstructionData::Load { arg, offset, .. } = func.dfg.insts[inst] else {
        return None;
    };
    let (_, constant) = split_offset(func, arg);
    constant.checked_add(i64::from(offset))
}

/// Whether `inst` stores, calls, may trap or has another effect.
fn has_effect(func: &ir::Function, inst: Inst) -> bool {
    let data = &func.dfg.insts[inst];
    let opcode = data.opcode();
    if opcode.can_load() {
        // Loads that cannot trap (a `vmctx` field) are free to stay between.
        return data.memflags_trap_code(&func.dfg).is_some() || data.memflags().is_none();
    }
    opcode.can_store()
        || opcode.is_call()
        || opcode.can_trap()
        || opcode.other_side_effects()
        || opcode.is_branch()
        || opcode.is_terminator()
}

// Byte swaps. LLVM has no wasm instruction for `bswap` either, so a swap of a whole
// value (a big-endian read of a full-width load, as libsodium's `load64_be` and SHA-512's
// input) becomes eight shifts by whole bytes, masks of whole bytes and `or`s. Each value of
// such a tree is followed byte by byte back to one source value; a tree whose bytes are
// the source's in reverse order is that source's `bswap`. All its instructions are pure,
// so the root is replaced whatever else uses the values inside, and the rest is dead code.
// Runs where the function has four or more shifts by whole bytes.

/// Where each byte of a value comes from: byte `d` of the value is byte `from[d]` of
/// `source`, or zero.
#[derive(Clone, Copy)]
struct Bytes {
    source: Value,
    from: [Option<u8>; MAX_BYTES],
}

/// Replaces byte swaps written out with shifts and masks by `bswap` (see the file's
/// comment).
pub(super) fn find_byte_swaps(func: &mut ir::Function) {
    let mut maps: Vec<Bytes> = Vec::new();
    let mut map_index: SecondaryMap<Value, PackedOption<PieceIndex>> = SecondaryMap::new();
    // Sized once, as in `combine`.
    map_index.resize(func.dfg.num_values());
    let mut swaps = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            let Some(bytes) = bytes_of(func, &maps, &map_index, inst) else {
                continue;
            };
            let width = func.dfg.value_type(bytes.source).bytes() as usize;
            let reversed = (0..width).all(|d| bytes.from[d] == Some((width - 1 - d) as u8));
            if reversed {
                swaps.push((inst, bytes.source));
            }
            map_index[func.dfg.first_result(inst)] = PieceIndex::new(maps.len()).into();
            maps.push(bytes);
        }
    }
    for (inst, source) in swaps {
        // Pure instructions all: the swap's value is the same wherever it is used, and
        // what computed it is dropped by Cranelift when nothing else uses it.
        func.replace(inst).bswap(source);
    }
}

/// The bytes `inst` computes, when it shifts by whole bytes, masks whole bytes or joins
/// disjoint bytes of one source value (an i32 or i64).
fn bytes_of(
    func: &ir::Function,
    maps: &[Bytes],
    map_index: &SecondaryMap<Value, PackedOption<PieceIndex>>,
    inst: Inst,
) -> Option<Bytes> {
    let dfg = &func.dfg;
    let InstructionData::Binary { opcode, args } = dfg.insts[inst] else {
        return None;
    };
    let ty = dfg.value_type(dfg.first_result(inst));
    if ty != types::I32 && ty != types::I64 {
        return None;
    }
    let width = ty.bytes() as usize;
    // An operand's bytes: its own map, or the value itself, byte for byte.
    let of = |value: Value| match map_index[value].expand() {
        Some(index) => maps[index.index()],
        None => {
            let mut from = [None; MAX_BYTES];
            for (d, byte) in from.iter_mut().enumerate().take(width) {
                *byte = Some(d as u8);
            }
            Bytes {
                source: value,
                from,
            }
        }
    };
    let whole_bytes = |value: Value| {
        constant(func, value)
            .filter(|k| k % 8 == 0 && (1..width as i64 * 8).contains(k))
            .map(|k| (k / 8) as usize)
    };
    let [x, y] = args;
    match opcode {
        Opcode::Ishl => {
            let shift = whole_bytes(y)?;
            let input = of(x);
            let mut from = [None; MAX_BYTES];
            from[shift..width].copy_from_slice(&input.from[..width - shift]);
            Some(Bytes { from, ..input })
        }
        Opcode::Ushr => {
            let shift = whole_bytes(y)?;
            let input = of(x);
            let mut from = [None; MAX_BYTES];
            from[..width - shift].copy_from_slice(&input.from[shift..width]);
            Some(Bytes { from, ..input })
        }
        Opcode::Band => {
            let (value, mask) = match (constant(func, x), constant(func, y)) {
                (None, Some(mask)) => (x, mask),
                (Some(mask), None) => (y, mask),
                _ => return None,
            };
            let mut input = of(value);
            for (d, byte) in input.from.iter_mut().enumerate().take(width) {
                match (mask >> (8 * d)) & 0xff {
                    0xff => {}
                    0 => *byte = None,
                    _ => return None,
                }
            }
            Some(input)
        }
        Opcode::Bor => {
            // Only joins of shifted or masked pieces: a plain value joined with another is
            // no byte shuffle.
            map_index[x].expand()?;
            map_index[y].expand()?;
            let (a, b) = (of(x), of(y));
            if a.source != b.source {
                return None;
            }
            let mut from = [None; MAX_BYTES];
            for (d, byte) in from.iter_mut().enumerate().take(width) {
                *byte = match (a.from[d], b.from[d]) {
                    (Some(i), Some(j)) if i != j => return None,
                    (i, j) => i.or(j),
                };
            }
            Some(Bytes { from, ..a })
        }
        _ => None,
    }
}
