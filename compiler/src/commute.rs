//! The operand order of commutative two-address instructions.
//!
//! x86_64 writes most results over their first operand (`mulpd %xmm2,%xmm1` is
//! `xmm1 *= xmm2`), and Cranelift's x64 back end gives a commutative instruction's first
//! operand that role: when the first operand is still needed afterwards and the second is
//! not, the register allocator copies the first into a fresh register before the
//! instruction (`movdqa %xmm0,%xmm3; mulpd %xmm2,%xmm3`), where the other order needs no
//! copy (`mulpd %xmm0,%xmm2`). Native compilers commute such instructions in their
//! two-address pass. Cranelift does not, so kiln orders the operands before handing a
//! function over: the operand that lives on goes second.
//!
//! Only the order of operands changes, and only of instructions whose result does not
//! depend on it: vector `band`/`bor`/`bxor`/`imul`/`iadd`, min, max, saturating add and
//! rounding average, and float `fadd`/`fmul` (scalar and vector), whose NaN results wasm leaves open
//! (x86 returns the first operand's NaN, and either order gives a canonical NaN from
//! canonical ones and an arithmetic NaN otherwise, as the spec requires).
//!
//! Which operand lives on is judged within the instruction's block, before optimization:
//! the first lives on if it is used later in the block or defined in another (a
//! loop-invariant value lives through the loop), the second dies if it is defined in the
//! block and not used later in it. Where a guess is wrong, both operands live on (the
//! second is used in another block) or both die (the first's last use is here), and either
//! order costs the same copy or none: the swap never costs more than the order it
//! replaces. The result is correct either way.

use cranelift_codegen::entity::EntityRef;
use cranelift_codegen::ir::{Block, Function, Inst, InstructionData, Opcode, Value, ValueDef};

/// Swaps the operands of the commutative two-address instructions of `func` whose first
/// operand lives on and whose second dies there (see the module's documentation).
pub fn order_operands(func: &mut Function) {
    // Most functions have no candidate at all: one look at each instruction's opcode.
    let blocks: Vec<Block> = func
        .layout
        .blocks()
        .filter(|&block| {
            func.layout
                .block_insts(block)
                .any(|inst| candidate(func, inst).is_some())
        })
        .collect();
    if blocks.is_empty() {
        return;
    }
    // Backwards through each block: `used_after[v] == stamp` marks a value (a root) used
    // by an instruction after the current one in the current block.
    let mut used_after: Vec<u32> = vec![0; func.dfg.num_values()];
    for (stamp, block) in (1u32..).zip(blocks) {
        let defined_here = |func: &Function, value: Value| match func.dfg.value_def(value) {
            ValueDef::Result(inst, _) => func.layout.inst_block(inst) == Some(block),
            ValueDef::Param(param_block, _) => param_block == block,
            _ => false,
        };
        let mut inst = func.layout.last_inst(block);
        while let Some(current) = inst {
            if let Some(args) = candidate(func, current) {
                let [first, second] = args.map(|arg| root(func, arg));
                let first_lives_on =
                    used_after[first.index()] == stamp || !defined_here(func, first);
                let second_dies = used_after[second.index()] != stamp && defined_here(func, second);
                if first != second
                    && first_lives_on
                    && second_dies
                    && !is_constant(func, first)
                    && !is_constant(func, second)
                {
                    let opcode = func.dfg.insts[current].opcode();
                    // The instruction's own operands (perhaps bitcasts of the roots).
                    func.dfg.insts[current] = InstructionData::Binary {
                        opcode,
                        args: [args[1], args[0]],
                    };
                }
            }
            for value in func.dfg.inst_values(current) {
                used_after[root(func, value).index()] = stamp;
            }
            inst = func.layout.prev_inst(current);
        }
    }
}

/// The operands of `inst` if it is a commutative two-address instruction.
fn candidate(func: &Function, inst: Inst) -> Option<[Value; 2]> {
    match func.dfg.insts[inst] {
        InstructionData::Binary { opcode, args } => {
            let vector = func.dfg.value_type(func.dfg.first_result(inst)).is_vector();
            is_two_address_commutative(opcode, vector).then_some(args)
        }
        _ => None,
    }
}

/// Whether `opcode` (on a vector type when `vector`) is commutative and lowered on x86_64
/// to an instruction that writes its first operand.
fn is_two_address_commutative(opcode: Opcode, vector: bool) -> bool {
    match opcode {
        Opcode::Fadd | Opcode::Fmul => true,
        // Not scalar integer instructions: `iadd` is a three-address `lea`, min and max a
        // compare and a conditional move, and swapping `band`/`bor`/`bxor`/`imul`
        // (measured) only moved spills around: blake3 0.979x the instructions, keccak
        // 1.020x (its spills 4,249 -> 4,726).
        Opcode::Band
        | Opcode::Bor
        | Opcode::Bxor
        | Opcode::Imul
        | Opcode::Iadd
        | Opcode::Umin
        | Opcode::Umax
        | Opcode::Smin
        | Opcode::Smax
        | Opcode::SaddSat
        | Opcode::UaddSat
        | Opcode::AvgRound => vector,
        _ => false,
    }
}

/// `value` with aliases resolved and vector-to-vector bitcasts looked through.
fn root(func: &Function, value: Value) -> Value {
    let mut value = func.dfg.resolve_aliases(value);
    while let ValueDef::Result(inst, 0) = func.dfg.value_def(value) {
        let arg = match func.dfg.insts[inst] {
            InstructionData::LoadNoOffset {
                opcode: Opcode::Bitcast,
                arg,
                ..
            } => func.dfg.resolve_aliases(arg),
            _ => break,
        };
        if !(func.dfg.value_type(value).is_vector() && func.dfg.value_type(arg).is_vector()) {
            break;
        }
        value = arg;
    }
    value
}

/// Whether `value` is a constant (immediates have lowerings of their own on either side).
fn is_constant(func: &Function, value: Value) -> bool {
    match func.dfg.value_def(value) {
        ValueDef::Result(inst, _) => matches!(
            func.dfg.insts[inst].opcode(),
            Opcode::Iconst | Opcode::F32const | Opcode::F64const | Opcode::Vconst
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::{
        types, AbiParam, Block, Endianness, InstBuilder, MemFlagsData, Signature,
    };
    use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
    use cranelift_codegen::settings;
    use cranelift_codegen::verify_function;
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

    /// A function of `(pointer, i32) -> f64x2` built by `body`, then ordered; returns it
    /// with the operands of every binary instruction, in layout order, before and after.
    fn ordered(
        body: impl FnOnce(&mut FunctionBuilder, Block, Value, Value),
    ) -> (Vec<[Value; 2]>, Vec<[Value; 2]>) {
        let mut signature = Signature::new(CallConv::SystemV);
        signature.params.push(AbiParam::new(types::I64));
        signature.params.push(AbiParam::new(types::I32));
        signature.returns.push(AbiParam::new(types::F64X2));
        let mut func = Function::with_name_signature(Default::default(), signature);
        let mut context = FunctionBuilderContext::new();
        let mut builder = FunctionBuilder::new(&mut func, &mut context);
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        let (pointer, int) = (
            builder.block_params(entry)[0],
            builder.block_params(entry)[1],
        );
        body(&mut builder, entry, pointer, int);
        builder.seal_all_blocks();
        builder.finalize(TargetFrontendConfig {
            default_call_conv: CallConv::SystemV,
            pointer_width: target_lexicon::PointerWidth::U64,
            page_size_align_log2: 12,
        });
        let binaries = |func: &Function| -> Vec<[Value; 2]> {
            func.layout
                .blocks()
                .flat_map(|block| func.layout.block_insts(block))
                .filter_map(|inst| match func.dfg.insts[inst] {
                    InstructionData::Binary { args, .. } => Some(args),
                    _ => None,
                })
                .collect()
        };
        let before = binaries(&func);
        order_operands(&mut func);
        verify_function(&func, &settings::Flags::new(settings::builder())).unwrap();
        (before, binaries(&func))
    }

    fn little() -> MemFlagsData {
        MemFlagsData::new().with_endianness(Endianness::Little)
    }

    fn load(builder: &mut FunctionBuilder, ty: types::Type, pointer: Value, at: i32) -> Value {
        builder.ins().load(ty, MemFlagsData::trusted(), pointer, at)
    }

    #[test]
    fn the_operand_that_lives_on_goes_second() {
        let (before, after) = ordered(|builder, _, pointer, _| {
            let x = load(builder, types::F64X2, pointer, 0);
            let y = load(builder, types::F64X2, pointer, 16);
            // `x` is used again below, `y` is not: swapped.
            let product = builder.ins().fmul(x, y);
            // Both die here: left alone.
            let sum = builder.ins().fadd(x, product);
            // Not commutative: left alone although `sum` lives on and `z` dies.
            let z = load(builder, types::F64X2, pointer, 32);
            let difference = builder.ins().fsub(sum, z);
            let result = builder.ins().fadd(difference, sum);
            builder.ins().return_(&[result]);
        });
        let [fmul, fadd, fsub, last] = before[..] else {
            panic!("{before:?}")
        };
        assert_eq!(after, [[fmul[1], fmul[0]], fadd, fsub, last]);
    }

    #[test]
    fn a_value_from_another_block_lives_on_through_bitcasts() {
        let (before, after) = ordered(|builder, _, pointer, int| {
            // `splat` comes from the entry block, as a loop-invariant value would; the
            // loop body bitcasts it, as wasm's `v128` operations do.
            let splat = load(builder, types::I8X16, pointer, 0);
            let body = builder.create_block();
            let exit = builder.create_block();
            builder.ins().jump(body, &[]);
            builder.switch_to_block(body);
            let lanes = builder.ins().bitcast(types::F64X2, little(), splat);
            let loaded = load(builder, types::I8X16, pointer, 16);
            let other = builder.ins().bitcast(types::F64X2, little(), loaded);
            let product = builder.ins().fmul(lanes, other);
            // A scalar `band` with a constant: left alone.
            let mask = builder.ins().iconst(types::I32, 7);
            let masked = builder.ins().band(mask, int);
            builder.ins().brif(masked, body, &[], exit, &[]);
            builder.switch_to_block(exit);
            builder.ins().return_(&[product]);
        });
        let [fmul, band] = before[..] else {
            panic!("{before:?}")
        };
        assert_eq!(after, [[fmul[1], fmul[0]], band]);
    }

    #[test]
    fn scalar_integer_instructions_keep_their_order() {
        let (before, after) = ordered(|builder, _, pointer, int| {
            // `int` lives on and `loaded` dies: a vector instruction would be swapped.
            let loaded = load(builder, types::I32, pointer, 0);
            let mixed = builder.ins().bxor(int, loaded);
            let product = builder.ins().imul(int, mixed);
            let sum = builder.ins().iadd(product, int);
            let wide = builder.ins().uextend(types::I64, sum);
            let result = load(builder, types::F64X2, wide, 0);
            builder.ins().return_(&[result]);
        });
        assert_eq!(before.len(), 3);
        assert_eq!(after, before);
    }

    #[test]
    fn constants_keep_their_place() {
        let (before, after) = ordered(|builder, _, pointer, _| {
            // The constant is used again below and the load dies here: a swap but for the
            // constant.
            let two = builder.ins().f64const(2.0);
            let loaded = load(builder, types::F64, pointer, 0);
            let product = builder.ins().fmul(two, loaded);
            let sum = builder.ins().fadd(product, two);
            let wide = builder.ins().splat(types::F64X2, sum);
            builder.ins().return_(&[wide]);
        });
        assert_eq!(before.len(), 2);
        assert_eq!(after, before);
    }
}
