//! `v128.load`s typed by their use, so that the back end can fold them into the
//! instruction that uses them.
//!
//! kiln carries every `v128` as `I8X16` (`simd.rs`), so a `v128.load` is an `I8X16` load
//! and the `f64x2.mul` that uses it bitcasts it to `F64X2` first. The bitcast costs no
//! instruction, but Cranelift's x86_64 back end folds a load into the instruction using
//! it only when that instruction's operand is the load itself: behind the bitcast, each
//! load stays a `movdqu` of its own (`vmovdqu (%r12,%rax,1),%xmm2; vmulpd
//! %xmm0,%xmm2,%xmm2` where `vmulpd (%r12,%rax,1),%xmm0,%xmm2` would do), and it loads a
//! float vector with an integer move. This pass gives such a load the bitcast's type and
//! drops the bitcast: where the load's value has no other use, loading the bytes as
//! `F64X2` (little-endian lanes, as the bitcast's flags number them) is the same as
//! loading them as `I8X16` and bitcasting, with the same flags, address and trap.

use cranelift_codegen::entity::EntityRef;
use cranelift_codegen::ir::{self, Inst, InstructionData, Opcode, Value, ValueDef};

/// Retypes the `I8X16` loads of `func` that are used by one vector bitcast and nothing
/// else (see the file's comment).
pub(super) fn type_by_use(func: &mut ir::Function) {
    // Uses of each value, counted through aliases: a load used more than once keeps its
    // type (retyped, its other users would need a bitcast back).
    let mut uses = vec![0u32; func.dfg.num_values()];
    let mut candidates: Vec<(Inst, Inst)> = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            for value in func.dfg.inst_values(inst) {
                let value = func.dfg.resolve_aliases(value);
                uses[value.index()] = uses[value.index()].saturating_add(1);
            }
            if let Some(load) = bitcast_of_load(func, inst) {
                candidates.push((load, inst));
            }
        }
    }
    for (load, bitcast) in candidates {
        let loaded = func.dfg.first_result(load);
        if uses[loaded.index()] != 1 {
            continue;
        }
        let result = func.dfg.first_result(bitcast);
        let ty = func.dfg.value_type(result);
        // The load's controlling type is its result's: new results of the bitcast's type.
        func.dfg.clear_results(load);
        func.dfg.make_inst_results(load, ty);
        let retyped = func.dfg.first_result(load);
        func.layout.remove_inst(bitcast);
        func.dfg.clear_results(bitcast);
        func.dfg.change_to_alias(result, retyped);
    }
}

/// The load `inst` bitcasts, when `inst` is a little-endian bitcast to a vector type of a
/// little-endian `I8X16` load.
fn bitcast_of_load(func: &ir::Function, inst: Inst) -> Option<Inst> {
    let InstructionData::LoadNoOffset {
        opcode: Opcode::Bitcast,
        arg,
        flags,
    } = func.dfg.insts[inst]
    else {
        return None;
    };
    let result: Value = func.dfg.first_result(inst);
    if !func.dfg.value_type(result).is_vector() || !little_endian(func, flags) {
        return None;
    }
    let ValueDef::Result(load, 0) = func.dfg.value_def(func.dfg.resolve_aliases(arg)) else {
        return None;
    };
    let InstructionData::Load {
        opcode: Opcode::Load,
        flags: load_flags,
        ..
    } = func.dfg.insts[load]
    else {
        return None;
    };
    let loaded = func.dfg.first_result(load);
    (func.dfg.value_type(loaded) == ir::types::I8X16 && little_endian(func, load_flags))
        .then_some(load)
}

/// Whether memory flags `flags` name little-endian order explicitly.
fn little_endian(func: &ir::Function, flags: ir::MemFlags) -> bool {
    func.dfg.mem_flags[flags].explicit_endianness() == Some(ir::Endianness::Little)
}
