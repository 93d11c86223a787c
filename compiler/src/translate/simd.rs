//! 128-bit SIMD: every `v128` operator of WebAssembly 2.0 (the `simd` proposal as merged)
//! and the dispatch of Wasm 3.0's relaxed ones, which `relaxed_simd.rs` lowers. Wasm has one `v128` type but Cranelift types vectors by lane, so
//! kiln carries every `v128` on the value stack, in locals and across blocks as `I8X16`
//! (see `abi::ir_type`); each operator bitcasts its operands to the lane type it needs and
//! its result back to `I8X16`. Those bitcasts are free: they only rename the register.
//! Almost every operator is one Cranelift instruction with the wasm semantics (saturating
//! conversions, NaN-propagating `fmin`/`fmax`, shift counts taken modulo the lane width,
//! `swizzle` zeroing out-of-range lanes). The few compositions (dot product, extended
//! multiplies and pairwise adds, `pmin`/`pmax`, the `_zero` conversions) are written in the
//! shapes the backends pattern-match into single machine instructions, as Wasmtime writes
//! them. Memory operands go through `memory.rs`, which owns the bounds checks.

use super::FuncTranslator;
use crate::error::{unsupported, Result};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I16, I16X8, I32, I32X4, I64, I64X2, I8, I8X16};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, Operator};

/// Defines `is_simd_operator` from wasmparser's list of the `simd` and `relaxed-simd`
/// operators (the 0xFD prefix), so the dispatch in `mod.rs` needs one arm for all of them.
macro_rules! define_is_simd_operator {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// Whether `op` is a `simd` or `relaxed-simd` operator.
        pub(super) fn is_simd_operator(op: &Operator<'_>) -> bool {
            matches!(op, $( Operator::$op { .. } )|*)
        }
    };
}
wasmparser::for_each_visit_simd_operator!(define_is_simd_operator);

/// Flags of a bitcast between vector types: lanes are numbered in little-endian order,
/// as wasm numbers them, whatever the target.
pub(super) fn lane_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// How `v128.load8x8_s` and its relatives widen the 64 bits they load.
#[derive(Clone, Copy)]
enum ExtendLoad {
    I8x8S,
    I8x8U,
    I16x4S,
    I16x4U,
    I32x2S,
    I32x2U,
}

impl FuncTranslator<'_, '_> {
    /// Translates one operator for which `is_simd_operator` holds.
    pub(super) fn translate_simd(&mut self, op: Operator<'_>) -> Result<()> {
        use ExtendLoad::{I16x4S, I16x4U, I32x2S, I32x2U, I8x8S, I8x8U};
        use Operator as O;
        match op {
            // Memory.
            O::V128Load { memarg } => {
                self.vector_loads = self.vector_loads.saturating_add(1);
                self.translate_load(&memarg, I8X16, I8X16, false)?
            }
            O::V128Store { memarg } => self.translate_store(&memarg, None)?,
            O::V128Load8x8S { memarg } => self.translate_load_extend(&memarg, I8x8S)?,
            O::V128Load8x8U { memarg } => self.translate_load_extend(&memarg, I8x8U)?,
            O::V128Load16x4S { memarg } => self.translate_load_extend(&memarg, I16x4S)?,
            O::V128Load16x4U { memarg } => self.translate_load_extend(&memarg, I16x4U)?,
            O::V128Load32x2S { memarg } => self.translate_load_extend(&memarg, I32x2S)?,
            O::V128Load32x2U { memarg } => self.translate_load_extend(&memarg, I32x2U)?,
            O::V128Load8Splat { memarg } => self.translate_load_splat(&memarg, I8)?,
            O::V128Load16Splat { memarg } => self.translate_load_splat(&memarg, I16)?,
            O::V128Load32Splat { memarg } => self.translate_load_splat(&memarg, I32)?,
            O::V128Load64Splat { memarg } => self.translate_load_splat(&memarg, I64)?,
            O::V128Load32Zero { memarg } => self.translate_load_zero(&memarg, I32)?,
            O::V128Load64Zero { memarg } => self.translate_load_zero(&memarg, I64)?,
            O::V128Load8Lane { memarg, lane } => self.translate_load_lane(&memarg, I8, lane)?,
            O::V128Load16Lane { memarg, lane } => self.translate_load_lane(&memarg, I16, lane)?,
            O::V128Load32Lane { memarg, lane } => self.translate_load_lane(&memarg, I32, lane)?,
            O::V128Load64Lane { memarg, lane } => self.translate_load_lane(&memarg, I64, lane)?,
            O::V128Store8Lane { memarg, lane } => self.translate_store_lane(&memarg, I8, lane)?,
            O::V128Store16Lane { memarg, lane } => self.translate_store_lane(&memarg, I16, lane)?,
            O::V128Store32Lane { memarg, lane } => self.translate_store_lane(&memarg, I32, lane)?,
            O::V128Store64Lane { memarg, lane } => self.translate_store_lane(&memarg, I64, lane)?,

            // Constants, lanes and shuffles.
            O::V128Const { value } => self.translate_v128_const(value.bytes()),
            O::I8x16Shuffle { lanes } => self.translate_shuffle(&lanes),
            O::I8x16Swizzle => self.simd_binary(I8X16, |b, x, y| b.ins().swizzle(x, y)),
            O::I8x16Splat => self.translate_splat(I8X16),
            O::I16x8Splat => self.translate_splat(I16X8),
            O::I32x4Splat => self.translate_splat(I32X4),
            O::I64x2Splat => self.translate_splat(I64X2),
            O::F32x4Splat => self.translate_splat(F32X4),
            O::F64x2Splat => self.translate_splat(F64X2),
            O::I8x16ExtractLaneS { lane } => self.translate_extract_lane(I8X16, lane, Some(true)),
            O::I8x16ExtractLaneU { lane } => self.translate_extract_lane(I8X16, lane, Some(false)),
            O::I16x8ExtractLaneS { lane } => self.translate_extract_lane(I16X8, lane, Some(true)),
            O::I16x8ExtractLaneU { lane } => self.translate_extract_lane(I16X8, lane, Some(false)),
            O::I32x4ExtractLane { lane } => self.translate_extract_lane(I32X4, lane, None),
            O::I64x2ExtractLane { lane } => self.translate_extract_lane(I64X2, lane, None),
            O::F32x4ExtractLane { lane } => self.translate_extract_lane(F32X4, lane, None),
            O::F64x2ExtractLane { lane } => self.translate_extract_lane(F64X2, lane, None),
            O::I8x16ReplaceLane { lane } => self.translate_replace_lane(I8X16, lane),
            O::I16x8ReplaceLane { lane } => self.translate_replace_lane(I16X8, lane),
            O::I32x4ReplaceLane { lane } => self.translate_replace_lane(I32X4, lane),
            O::I64x2ReplaceLane { lane } => self.translate_replace_lane(I64X2, lane),
            O::F32x4ReplaceLane { lane } => self.translate_replace_lane(F32X4, lane),
            O::F64x2ReplaceLane { lane } => self.translate_replace_lane(F64X2, lane),

            // Integer comparisons: all-ones or all-zeros lanes.
            O::I8x16Eq => self.simd_icmp(I8X16, IntCC::Equal),
            O::I8x16Ne => self.simd_icmp(I8X16, IntCC::NotEqual),
            O::I8x16LtS => self.simd_icmp(I8X16, IntCC::SignedLessThan),
            O::I8x16LtU => self.simd_icmp(I8X16, IntCC::UnsignedLessThan),
            O::I8x16GtS => self.simd_icmp(I8X16, IntCC::SignedGreaterThan),
            O::I8x16GtU => self.simd_icmp(I8X16, IntCC::UnsignedGreaterThan),
            O::I8x16LeS => self.simd_icmp(I8X16, IntCC::SignedLessThanOrEqual),
            O::I8x16LeU => self.simd_icmp(I8X16, IntCC::UnsignedLessThanOrEqual),
            O::I8x16GeS => self.simd_icmp(I8X16, IntCC::SignedGreaterThanOrEqual),
            O::I8x16GeU => self.simd_icmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            O::I16x8Eq => self.simd_icmp(I16X8, IntCC::Equal),
            O::I16x8Ne => self.simd_icmp(I16X8, IntCC::NotEqual),
            O::I16x8LtS => self.simd_icmp(I16X8, IntCC::SignedLessThan),
            O::I16x8LtU => self.simd_icmp(I16X8, IntCC::UnsignedLessThan),
            O::I16x8GtS => self.simd_icmp(I16X8, IntCC::SignedGreaterThan),
            O::I16x8GtU => self.simd_icmp(I16X8, IntCC::UnsignedGreaterThan),
            O::I16x8LeS => self.simd_icmp(I16X8, IntCC::SignedLessThanOrEqual),
            O::I16x8LeU => self.simd_icmp(I16X8, IntCC::UnsignedLessThanOrEqual),
            O::I16x8GeS => self.simd_icmp(I16X8, IntCC::SignedGreaterThanOrEqual),
            O::I16x8GeU => self.simd_icmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            O::I32x4Eq => self.simd_icmp(I32X4, IntCC::Equal),
            O::I32x4Ne => self.simd_icmp(I32X4, IntCC::NotEqual),
            O::I32x4LtS => self.simd_icmp(I32X4, IntCC::SignedLessThan),
            O::I32x4LtU => self.simd_icmp(I32X4, IntCC::UnsignedLessThan),
            O::I32x4GtS => self.simd_icmp(I32X4, IntCC::SignedGreaterThan),
            O::I32x4GtU => self.simd_icmp(I32X4, IntCC::UnsignedGreaterThan),
            O::I32x4LeS => self.simd_icmp(I32X4, IntCC::SignedLessThanOrEqual),
            O::I32x4LeU => self.simd_icmp(I32X4, IntCC::UnsignedLessThanOrEqual),
            O::I32x4GeS => self.simd_icmp(I32X4, IntCC::SignedGreaterThanOrEqual),
            O::I32x4GeU => self.simd_icmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            O::I64x2Eq => self.simd_icmp(I64X2, IntCC::Equal),
            O::I64x2Ne => self.simd_icmp(I64X2, IntCC::NotEqual),
            O::I64x2LtS => self.simd_icmp(I64X2, IntCC::SignedLessThan),
            O::I64x2GtS => self.simd_icmp(I64X2, IntCC::SignedGreaterThan),
            O::I64x2LeS => self.simd_icmp(I64X2, IntCC::SignedLessThanOrEqual),
            O::I64x2GeS => self.simd_icmp(I64X2, IntCC::SignedGreaterThanOrEqual),

            // Float comparisons.
            O::F32x4Eq => self.simd_fcmp(F32X4, FloatCC::Equal),
            O::F32x4Ne => self.simd_fcmp(F32X4, FloatCC::NotEqual),
            O::F32x4Lt => self.simd_fcmp(F32X4, FloatCC::LessThan),
            O::F32x4Gt => self.simd_fcmp(F32X4, FloatCC::GreaterThan),
            O::F32x4Le => self.simd_fcmp(F32X4, FloatCC::LessThanOrEqual),
            O::F32x4Ge => self.simd_fcmp(F32X4, FloatCC::GreaterThanOrEqual),
            O::F64x2Eq => self.simd_fcmp(F64X2, FloatCC::Equal),
            O::F64x2Ne => self.simd_fcmp(F64X2, FloatCC::NotEqual),
            O::F64x2Lt => self.simd_fcmp(F64X2, FloatCC::LessThan),
            O::F64x2Gt => self.simd_fcmp(F64X2, FloatCC::GreaterThan),
            O::F64x2Le => self.simd_fcmp(F64X2, FloatCC::LessThanOrEqual),
            O::F64x2Ge => self.simd_fcmp(F64X2, FloatCC::GreaterThanOrEqual),

            // Bitwise operators and lane tests.
            O::V128Not => self.simd_unary(I8X16, |b, x| b.ins().bnot(x)),
            O::V128And => self.simd_binary(I8X16, |b, x, y| b.ins().band(x, y)),
            O::V128AndNot => self.simd_binary(I8X16, |b, x, y| b.ins().band_not(x, y)),
            O::V128Or => self.simd_binary(I8X16, |b, x, y| b.ins().bor(x, y)),
            O::V128Xor => self.simd_binary(I8X16, |b, x, y| b.ins().bxor(x, y)),
            O::V128Bitselect => self.translate_bitselect(),
            O::V128AnyTrue => self.translate_lane_test(I8X16, |b, x| b.ins().vany_true(x)),
            O::I8x16AllTrue => self.translate_lane_test(I8X16, |b, x| b.ins().vall_true(x)),
            O::I16x8AllTrue => self.translate_lane_test(I16X8, |b, x| b.ins().vall_true(x)),
            O::I32x4AllTrue => self.translate_lane_test(I32X4, |b, x| b.ins().vall_true(x)),
            O::I64x2AllTrue => self.translate_lane_test(I64X2, |b, x| b.ins().vall_true(x)),
            O::I8x16Bitmask => self.translate_bitmask(I8X16),
            O::I16x8Bitmask => self.translate_bitmask(I16X8),
            O::I32x4Bitmask => self.translate_bitmask(I32X4),
            O::I64x2Bitmask => self.translate_bitmask(I64X2),

            // Shifts: Cranelift takes the count modulo the lane width, as wasm does.
            O::I8x16Shl => self.simd_shift(I8X16, |b, x, y| b.ins().ishl(x, y)),
            O::I8x16ShrS => self.simd_shift(I8X16, |b, x, y| b.ins().sshr(x, y)),
            O::I8x16ShrU => self.simd_shift(I8X16, |b, x, y| b.ins().ushr(x, y)),
            O::I16x8Shl => self.simd_shift(I16X8, |b, x, y| b.ins().ishl(x, y)),
            O::I16x8ShrS => self.simd_shift(I16X8, |b, x, y| b.ins().sshr(x, y)),
            O::I16x8ShrU => self.simd_shift(I16X8, |b, x, y| b.ins().ushr(x, y)),
            O::I32x4Shl => self.simd_shift(I32X4, |b, x, y| b.ins().ishl(x, y)),
            O::I32x4ShrS => self.simd_shift(I32X4, |b, x, y| b.ins().sshr(x, y)),
            O::I32x4ShrU => self.simd_shift(I32X4, |b, x, y| b.ins().ushr(x, y)),
            O::I64x2Shl => self.simd_shift(I64X2, |b, x, y| b.ins().ishl(x, y)),
            O::I64x2ShrS => self.simd_shift(I64X2, |b, x, y| b.ins().sshr(x, y)),
            O::I64x2ShrU => self.simd_shift(I64X2, |b, x, y| b.ins().ushr(x, y)),

            // Integer arithmetic.
            O::I8x16Add => self.simd_binary(I8X16, |b, x, y| b.ins().iadd(x, y)),
            O::I16x8Add => self.simd_binary(I16X8, |b, x, y| b.ins().iadd(x, y)),
            O::I32x4Add => self.simd_binary(I32X4, |b, x, y| b.ins().iadd(x, y)),
            O::I64x2Add => self.simd_binary(I64X2, |b, x, y| b.ins().iadd(x, y)),
            O::I8x16Sub => self.simd_binary(I8X16, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Sub => self.simd_binary(I16X8, |b, x, y| b.ins().isub(x, y)),
            O::I32x4Sub => self.simd_binary(I32X4, |b, x, y| b.ins().isub(x, y)),
            O::I64x2Sub => self.simd_binary(I64X2, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Mul => self.simd_binary(I16X8, |b, x, y| b.ins().imul(x, y)),
            O::I32x4Mul => self.simd_binary(I32X4, |b, x, y| b.ins().imul(x, y)),
            O::I64x2Mul => self.simd_binary(I64X2, |b, x, y| b.ins().imul(x, y)),
            O::I8x16AddSatS => self.simd_binary(I8X16, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I8x16AddSatU => self.simd_binary(I8X16, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I8x16SubSatS => self.simd_binary(I8X16, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I8x16SubSatU => self.simd_binary(I8X16, |b, x, y| b.ins().usub_sat(x, y)),
            O::I16x8AddSatS => self.simd_binary(I16X8, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I16x8AddSatU => self.simd_binary(I16X8, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I16x8SubSatS => self.simd_binary(I16X8, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I16x8SubSatU => self.simd_binary(I16X8, |b, x, y| b.ins().usub_sat(x, y)),
            O::I8x16MinS => self.simd_binary(I8X16, |b, x, y| b.ins().smin(x, y)),
            O::I8x16MinU => self.simd_binary(I8X16, |b, x, y| b.ins().umin(x, y)),
            O::I8x16MaxS => self.simd_binary(I8X16, |b, x, y| b.ins().smax(x, y)),
            O::I8x16MaxU => self.simd_binary(I8X16, |b, x, y| b.ins().umax(x, y)),
            O::I16x8MinS => self.simd_binary(I16X8, |b, x, y| b.ins().smin(x, y)),
            O::I16x8MinU => self.simd_binary(I16X8, |b, x, y| b.ins().umin(x, y)),
            O::I16x8MaxS => self.simd_binary(I16X8, |b, x, y| b.ins().smax(x, y)),
            O::I16x8MaxU => self.simd_binary(I16X8, |b, x, y| b.ins().umax(x, y)),
            O::I32x4MinS => self.simd_binary(I32X4, |b, x, y| b.ins().smin(x, y)),
            O::I32x4MinU => self.simd_binary(I32X4, |b, x, y| b.ins().umin(x, y)),
            O::I32x4MaxS => self.simd_binary(I32X4, |b, x, y| b.ins().smax(x, y)),
            O::I32x4MaxU => self.simd_binary(I32X4, |b, x, y| b.ins().umax(x, y)),
            O::I8x16AvgrU => self.simd_binary(I8X16, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8AvgrU => self.simd_binary(I16X8, |b, x, y| b.ins().avg_round(x, y)),
            O::I8x16Abs => self.simd_unary(I8X16, |b, x| b.ins().iabs(x)),
            O::I16x8Abs => self.simd_unary(I16X8, |b, x| b.ins().iabs(x)),
            O::I32x4Abs => self.simd_unary(I32X4, |b, x| b.ins().iabs(x)),
            O::I64x2Abs => self.simd_unary(I64X2, |b, x| b.ins().iabs(x)),
            O::I8x16Neg => self.simd_unary(I8X16, |b, x| b.ins().ineg(x)),
            O::I16x8Neg => self.simd_unary(I16X8, |b, x| b.ins().ineg(x)),
            O::I32x4Neg => self.simd_unary(I32X4, |b, x| b.ins().ineg(x)),
            O::I64x2Neg => self.simd_unary(I64X2, |b, x| b.ins().ineg(x)),
            O::I8x16Popcnt => self.simd_unary(I8X16, |b, x| b.ins().popcnt(x)),
            O::I16x8Q15MulrSatS => self.simd_binary(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y)),
            O::I32x4DotI16x8S => self.simd_binary(I16X8, dot_i16x8_s),

            // Narrowing, widening and the widening arithmetic built on it.
            O::I8x16NarrowI16x8S => self.simd_binary(I16X8, |b, x, y| b.ins().snarrow(x, y)),
            O::I8x16NarrowI16x8U => self.simd_binary(I16X8, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8NarrowI32x4S => self.simd_binary(I32X4, |b, x, y| b.ins().snarrow(x, y)),
            O::I16x8NarrowI32x4U => self.simd_binary(I32X4, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8ExtendLowI8x16S => self.simd_unary(I8X16, |b, x| b.ins().swiden_low(x)),
            O::I16x8ExtendHighI8x16S => self.simd_unary(I8X16, |b, x| b.ins().swiden_high(x)),
            O::I16x8ExtendLowI8x16U => self.simd_unary(I8X16, |b, x| b.ins().uwiden_low(x)),
            O::I16x8ExtendHighI8x16U => self.simd_unary(I8X16, |b, x| b.ins().uwiden_high(x)),
            O::I32x4ExtendLowI16x8S => self.simd_unary(I16X8, |b, x| b.ins().swiden_low(x)),
            O::I32x4ExtendHighI16x8S => self.simd_unary(I16X8, |b, x| b.ins().swiden_high(x)),
            O::I32x4ExtendLowI16x8U => self.simd_unary(I16X8, |b, x| b.ins().uwiden_low(x)),
            O::I32x4ExtendHighI16x8U => self.simd_unary(I16X8, |b, x| b.ins().uwiden_high(x)),
            O::I64x2ExtendLowI32x4S => self.simd_unary(I32X4, |b, x| b.ins().swiden_low(x)),
            O::I64x2ExtendHighI32x4S => self.simd_unary(I32X4, |b, x| b.ins().swiden_high(x)),
            O::I64x2ExtendLowI32x4U => self.simd_unary(I32X4, |b, x| b.ins().uwiden_low(x)),
            O::I64x2ExtendHighI32x4U => self.simd_unary(I32X4, |b, x| b.ins().uwiden_high(x)),
            O::I16x8ExtAddPairwiseI8x16S => self.simd_unary(I8X16, extadd_pairwise_s),
            O::I16x8ExtAddPairwiseI8x16U => self.simd_unary(I8X16, extadd_pairwise_u),
            O::I32x4ExtAddPairwiseI16x8S => self.simd_unary(I16X8, extadd_pairwise_s),
            O::I32x4ExtAddPairwiseI16x8U => self.simd_unary(I16X8, extadd_pairwise_u),
            O::I16x8ExtMulLowI8x16S => self.simd_binary(I8X16, extmul_low_s),
            O::I16x8ExtMulHighI8x16S => self.simd_binary(I8X16, extmul_high_s),
            O::I16x8ExtMulLowI8x16U => self.simd_binary(I8X16, extmul_low_u),
            O::I16x8ExtMulHighI8x16U => self.simd_binary(I8X16, extmul_high_u),
            O::I32x4ExtMulLowI16x8S => self.simd_binary(I16X8, extmul_low_s),
            O::I32x4ExtMulHighI16x8S => self.simd_binary(I16X8, extmul_high_s),
            O::I32x4ExtMulLowI16x8U => self.simd_binary(I16X8, extmul_low_u),
            O::I32x4ExtMulHighI16x8U => self.simd_binary(I16X8, extmul_high_u),
            O::I64x2ExtMulLowI32x4S => self.simd_binary(I32X4, extmul_low_s),
            O::I64x2ExtMulHighI32x4S => self.simd_binary(I32X4, extmul_high_s),
            O::I64x2ExtMulLowI32x4U => self.simd_binary(I32X4, extmul_low_u),
            O::I64x2ExtMulHighI32x4U => self.simd_binary(I32X4, extmul_high_u),

            // Float arithmetic.
            O::F32x4Add => self.simd_binary(F32X4, |b, x, y| b.ins().fadd(x, y)),
            O::F32x4Sub => self.simd_binary(F32X4, |b, x, y| b.ins().fsub(x, y)),
            O::F32x4Mul => self.simd_binary(F32X4, |b, x, y| b.ins().fmul(x, y)),
            O::F32x4Div => self.simd_binary(F32X4, |b, x, y| b.ins().fdiv(x, y)),
            O::F32x4Min => self.simd_binary(F32X4, |b, x, y| b.ins().fmin(x, y)),
            O::F32x4Max => self.simd_binary(F32X4, |b, x, y| b.ins().fmax(x, y)),
            O::F32x4PMin => self.simd_binary(F32X4, pmin),
            O::F32x4PMax => self.simd_binary(F32X4, pmax),
            O::F32x4Abs => self.simd_unary(F32X4, |b, x| b.ins().fabs(x)),
            O::F32x4Neg => self.simd_unary(F32X4, |b, x| b.ins().fneg(x)),
            O::F32x4Sqrt => self.simd_unary(F32X4, |b, x| b.ins().sqrt(x)),
            O::F32x4Ceil => self.simd_unary(F32X4, |b, x| b.ins().ceil(x)),
            O::F32x4Floor => self.simd_unary(F32X4, |b, x| b.ins().floor(x)),
            O::F32x4Trunc => self.simd_unary(F32X4, |b, x| b.ins().trunc(x)),
            O::F32x4Nearest => self.simd_unary(F32X4, |b, x| b.ins().nearest(x)),
            O::F64x2Add => self.simd_binary(F64X2, |b, x, y| b.ins().fadd(x, y)),
            O::F64x2Sub => self.simd_binary(F64X2, |b, x, y| b.ins().fsub(x, y)),
            O::F64x2Mul => self.simd_binary(F64X2, |b, x, y| b.ins().fmul(x, y)),
            O::F64x2Div => self.simd_binary(F64X2, |b, x, y| b.ins().fdiv(x, y)),
            O::F64x2Min => self.simd_binary(F64X2, |b, x, y| b.ins().fmin(x, y)),
            O::F64x2Max => self.simd_binary(F64X2, |b, x, y| b.ins().fmax(x, y)),
            O::F64x2PMin => self.simd_binary(F64X2, pmin),
            O::F64x2PMax => self.simd_binary(F64X2, pmax),
            O::F64x2Abs => self.simd_unary(F64X2, |b, x| b.ins().fabs(x)),
            O::F64x2Neg => self.simd_unary(F64X2, |b, x| b.ins().fneg(x)),
            O::F64x2Sqrt => self.simd_unary(F64X2, |b, x| b.ins().sqrt(x)),
            O::F64x2Ceil => self.simd_unary(F64X2, |b, x| b.ins().ceil(x)),
            O::F64x2Floor => self.simd_unary(F64X2, |b, x| b.ins().floor(x)),
            O::F64x2Trunc => self.simd_unary(F64X2, |b, x| b.ins().trunc(x)),
            O::F64x2Nearest => self.simd_unary(F64X2, |b, x| b.ins().nearest(x)),

            // Conversions.
            O::I32x4TruncSatF32x4S => self.simd_convert(F32X4, I32X4, true),
            O::I32x4TruncSatF32x4U => self.simd_convert(F32X4, I32X4, false),
            O::I32x4TruncSatF64x2SZero => self.simd_unary(F64X2, trunc_sat_f64x2_s_zero),
            O::I32x4TruncSatF64x2UZero => self.simd_unary(F64X2, trunc_sat_f64x2_u_zero),
            O::F32x4ConvertI32x4S => self.simd_convert(I32X4, F32X4, true),
            O::F32x4ConvertI32x4U => self.simd_convert(I32X4, F32X4, false),
            O::F64x2ConvertLowI32x4S => self.simd_unary(I32X4, convert_low_i32x4_s),
            O::F64x2ConvertLowI32x4U => self.simd_unary(I32X4, convert_low_i32x4_u),
            O::F32x4DemoteF64x2Zero => self.simd_unary(F64X2, |b, x| b.ins().fvdemote(x)),
            O::F64x2PromoteLowF32x4 => self.simd_unary(F32X4, |b, x| b.ins().fvpromote_low(x)),

            // Relaxed SIMD (Wasm 3.0), lowered as `relaxed_simd.rs` explains.
            O::I8x16RelaxedSwizzle => self.translate_relaxed_swizzle(),
            O::I32x4RelaxedTruncF32x4S => self.translate_relaxed_trunc_f32x4_s(),
            O::I32x4RelaxedTruncF32x4U => self.simd_convert(F32X4, I32X4, false),
            O::I32x4RelaxedTruncF64x2SZero => self.translate_relaxed_trunc_f64x2_s_zero(),
            O::I32x4RelaxedTruncF64x2UZero => self.simd_unary(F64X2, trunc_sat_f64x2_u_zero),
            O::F32x4RelaxedMadd => self.translate_relaxed_madd(F32X4, false),
            O::F32x4RelaxedNmadd => self.translate_relaxed_madd(F32X4, true),
            O::F64x2RelaxedMadd => self.translate_relaxed_madd(F64X2, false),
            O::F64x2RelaxedNmadd => self.translate_relaxed_madd(F64X2, true),
            O::I8x16RelaxedLaneselect => self.translate_relaxed_laneselect(I8X16),
            O::I16x8RelaxedLaneselect => self.translate_relaxed_laneselect(I16X8),
            O::I32x4RelaxedLaneselect => self.translate_relaxed_laneselect(I32X4),
            O::I64x2RelaxedLaneselect => self.translate_relaxed_laneselect(I64X2),
            O::F32x4RelaxedMin => self.translate_relaxed_min_max(F32X4, false),
            O::F32x4RelaxedMax => self.translate_relaxed_min_max(F32X4, true),
            O::F64x2RelaxedMin => self.translate_relaxed_min_max(F64X2, false),
            O::F64x2RelaxedMax => self.translate_relaxed_min_max(F64X2, true),
            O::I16x8RelaxedQ15mulrS => self.translate_relaxed_q15mulr_s(),
            O::I16x8RelaxedDotI8x16I7x16S => self.translate_relaxed_dot_i8x16_i7x16_s(),
            O::I32x4RelaxedDotI8x16I7x16AddS => self.translate_relaxed_dot_i8x16_i7x16_add_s(),

            // `is_simd_operator` lets only the operators above reach here.
            other => return Err(unsupported(format!("operator {other:?}"), self.offset)),
        }
        Ok(())
    }
}

/// Stack shapes: every `v128` operand arrives as `I8X16` and every result leaves as one.
impl FuncTranslator<'_, '_> {
    /// Pops a `v128` and views it as `ty`.
    pub(super) fn pop_vector(&mut self, ty: Type) -> Value {
        let value = self.pop();
        self.cast_vector(value, ty)
    }

    /// Pushes a vector result as the canonical `I8X16`.
    pub(super) fn push_vector(&mut self, value: Value) {
        let value = self.cast_vector(value, I8X16);
        self.push(value);
    }

    /// `value` reinterpreted as vector type `ty`; no instruction when it already is one.
    fn cast_vector(&mut self, value: Value, ty: Type) -> Value {
        if self.builder.func.dfg.value_type(value) == ty {
            value
        } else {
            self.builder.ins().bitcast(ty, lane_flags(), value)
        }
    }

    pub(super) fn simd_unary(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder, Value) -> Value,
    ) {
        let x = self.pop_vector(ty);
        let value = f(&mut self.builder, x);
        self.push_vector(value);
    }

    pub(super) fn simd_binary(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder, Value, Value) -> Value,
    ) {
        let y = self.pop_vector(ty);
        let x = self.pop_vector(ty);
        let value = f(&mut self.builder, x, y);
        self.push_vector(value);
    }

    /// A shift of every lane of a `ty` vector by an i32 count.
    fn simd_shift(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder, Value, Value) -> Value,
    ) {
        let count = self.pop();
        let x = self.pop_vector(ty);
        let value = f(&mut self.builder, x, count);
        self.push_vector(value);
    }

    fn simd_icmp(&mut self, ty: Type, cc: IntCC) {
        self.simd_binary(ty, |b, x, y| b.ins().icmp(cc, x, y));
    }

    fn simd_fcmp(&mut self, ty: Type, cc: FloatCC) {
        self.simd_binary(ty, |b, x, y| b.ins().fcmp(cc, x, y));
    }

    /// Lane-wise conversion between `I32X4` and `F32X4`: float to int saturates (NaN
    /// becomes 0), int to float rounds to nearest.
    fn simd_convert(&mut self, from: Type, to: Type, signed: bool) {
        self.simd_unary(from, |b, x| match (to.lane_type().is_float(), signed) {
            (false, true) => b.ins().fcvt_to_sint_sat(to, x),
            (false, false) => b.ins().fcvt_to_uint_sat(to, x),
            (true, true) => b.ins().fcvt_from_sint(to, x),
            (true, false) => b.ins().fcvt_from_uint(to, x),
        });
    }

    /// `any_true` / `all_true`: Cranelift's i8 truth value becomes wasm's i32.
    fn translate_lane_test(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut FunctionBuilder, Value) -> Value,
    ) {
        let x = self.pop_vector(ty);
        let flag = f(&mut self.builder, x);
        let value = self.builder.ins().uextend(I32, flag);
        self.push(value);
    }

    fn translate_bitmask(&mut self, ty: Type) {
        let x = self.pop_vector(ty);
        let value = self.builder.ins().vhigh_bits(I32, x);
        self.push(value);
    }

    /// `v128.bitselect(a, b, mask)` is Cranelift's `bitselect(mask, a, b)`.
    fn translate_bitselect(&mut self) {
        let mask = self.pop_vector(I8X16);
        let (a, b) = self.pop2();
        let value = self.builder.ins().bitselect(mask, a, b);
        self.push(value);
    }

    fn translate_v128_const(&mut self, bytes: &[u8]) {
        let constant = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(bytes));
        let value = self.builder.ins().vconst(I8X16, constant);
        self.push(value);
    }

    /// `i8x16.shuffle`: the 16 lane indices are an immediate selecting from `a ++ b`.
    fn translate_shuffle(&mut self, lanes: &[u8; 16]) {
        let (a, b) = self.pop2();
        let mask = self
            .builder
            .func
            .dfg
            .immediates
            .push(ConstantData::from(&lanes[..]));
        let value = self.builder.ins().shuffle(a, b, mask);
        self.push(value);
    }

    /// `splat`: i8 and i16 lanes come from an i32 operand and take its low bits.
    fn translate_splat(&mut self, ty: Type) {
        let scalar = self.pop();
        let scalar = self.narrow_to_lane(scalar, ty);
        let value = self.builder.ins().splat(ty, scalar);
        self.push_vector(value);
    }

    /// `extract_lane`: i8 and i16 lanes are extended to i32, signed when `signed` says so.
    fn translate_extract_lane(&mut self, ty: Type, lane: u8, signed: Option<bool>) {
        let x = self.pop_vector(ty);
        let lane_value = self.builder.ins().extractlane(x, lane);
        let value = match signed {
            None => lane_value,
            Some(true) => self.builder.ins().sextend(I32, lane_value),
            Some(false) => self.builder.ins().uextend(I32, lane_value),
        };
        self.push(value);
    }

    fn translate_replace_lane(&mut self, ty: Type, lane: u8) {
        let scalar = self.pop();
        let scalar = self.narrow_to_lane(scalar, ty);
        let x = self.pop_vector(ty);
        let value = self.builder.ins().insertlane(x, scalar, lane);
        self.push_vector(value);
    }

    /// A wasm scalar operand for a lane of `ty`: i32 operands of i8 and i16 lanes are
    /// truncated, every other lane type is the operand's own.
    fn narrow_to_lane(&mut self, scalar: Value, ty: Type) -> Value {
        match ty.lane_type() {
            lane @ (I8 | I16) => self.builder.ins().ireduce(lane, scalar),
            _ => scalar,
        }
    }
}

/// Loads and stores. Addresses and bounds checks come from `memory.rs`.
impl FuncTranslator<'_, '_> {
    /// `v128.load8x8_s` and relatives: 64 bits loaded and widened to 128 in one instruction.
    fn translate_load_extend(&mut self, memarg: &MemArg, kind: ExtendLoad) -> Result<()> {
        let address = self.heap_address(memarg, 8)?;
        let flags = self.heap_flags();
        let ins = self.builder.ins();
        let value = match kind {
            ExtendLoad::I8x8S => ins.sload8x8(flags, address, 0),
            ExtendLoad::I8x8U => ins.uload8x8(flags, address, 0),
            ExtendLoad::I16x4S => ins.sload16x4(flags, address, 0),
            ExtendLoad::I16x4U => ins.uload16x4(flags, address, 0),
            ExtendLoad::I32x2S => ins.sload32x2(flags, address, 0),
            ExtendLoad::I32x2U => ins.uload32x2(flags, address, 0),
        };
        self.push_vector(value);
        Ok(())
    }

    /// Loads a scalar of type `lane` from memory.
    fn load_lane_value(&mut self, memarg: &MemArg, lane: Type) -> Result<Value> {
        let address = self.heap_address(memarg, u64::from(lane.bytes()))?;
        let flags = self.heap_flags();
        Ok(self.builder.ins().load(lane, flags, address, 0))
    }

    /// `v128.loadN_splat`: a scalar of type `lane` loaded into every lane.
    fn translate_load_splat(&mut self, memarg: &MemArg, lane: Type) -> Result<()> {
        let scalar = self.load_lane_value(memarg, lane)?;
        let value = self.builder.ins().splat(vector_of(lane), scalar);
        self.push_vector(value);
        Ok(())
    }

    /// `v128.load32_zero` / `load64_zero`: the scalar in lane 0, zeros elsewhere.
    fn translate_load_zero(&mut self, memarg: &MemArg, lane: Type) -> Result<()> {
        let scalar = self.load_lane_value(memarg, lane)?;
        let value = self.builder.ins().scalar_to_vector(vector_of(lane), scalar);
        self.push_vector(value);
        Ok(())
    }

    /// `v128.loadN_lane`: the operands are `address vector`, so the vector pops first.
    fn translate_load_lane(&mut self, memarg: &MemArg, lane: Type, index: u8) -> Result<()> {
        let x = self.pop_vector(vector_of(lane));
        let scalar = self.load_lane_value(memarg, lane)?;
        let value = self.builder.ins().insertlane(x, scalar, index);
        self.push_vector(value);
        Ok(())
    }

    /// `v128.storeN_lane`: lane `index` extracted and stored as a scalar of type `lane`.
    fn translate_store_lane(&mut self, memarg: &MemArg, lane: Type, index: u8) -> Result<()> {
        let x = self.pop_vector(vector_of(lane));
        let scalar = self.builder.ins().extractlane(x, index);
        self.push(scalar);
        self.translate_store(memarg, None)
    }
}

/// The 128-bit vector type with lanes of type `lane`.
fn vector_of(lane: Type) -> Type {
    lane.by(128 / lane.bits())
        .expect("wasm lane types fill 128 bits")
}

/// `i32x4.dot_i16x8_s`: products of the low halves and of the high halves, added pairwise.
/// The x64 backend matches this whole tree into one `pmaddwd`.
fn dot_i16x8_s(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let x_low = b.ins().swiden_low(x);
    let y_low = b.ins().swiden_low(y);
    let low = b.ins().imul(x_low, y_low);
    let x_high = b.ins().swiden_high(x);
    let y_high = b.ins().swiden_high(y);
    let high = b.ins().imul(x_high, y_high);
    b.ins().iadd_pairwise(low, high)
}

/// `extadd_pairwise_s`: adjacent lanes sign-extended and added (x64: `pmaddubsw` /
/// `pmaddwd` against a vector of ones).
pub(super) fn extadd_pairwise_s(b: &mut FunctionBuilder, x: Value) -> Value {
    let low = b.ins().swiden_low(x);
    let high = b.ins().swiden_high(x);
    b.ins().iadd_pairwise(low, high)
}

/// `extadd_pairwise_u`: adjacent lanes zero-extended and added.
fn extadd_pairwise_u(b: &mut FunctionBuilder, x: Value) -> Value {
    let low = b.ins().uwiden_low(x);
    let high = b.ins().uwiden_high(x);
    b.ins().iadd_pairwise(low, high)
}

/// `extmul_low_s`: the low halves sign-extended, then multiplied at the wider width.
fn extmul_low_s(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let x = b.ins().swiden_low(x);
    let y = b.ins().swiden_low(y);
    b.ins().imul(x, y)
}

/// `extmul_high_s`: the high halves sign-extended, then multiplied.
fn extmul_high_s(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let x = b.ins().swiden_high(x);
    let y = b.ins().swiden_high(y);
    b.ins().imul(x, y)
}

/// `extmul_low_u`: the low halves zero-extended, then multiplied.
fn extmul_low_u(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let x = b.ins().uwiden_low(x);
    let y = b.ins().uwiden_low(y);
    b.ins().imul(x, y)
}

/// `extmul_high_u`: the high halves zero-extended, then multiplied.
fn extmul_high_u(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let x = b.ins().uwiden_high(x);
    let y = b.ins().uwiden_high(y);
    b.ins().imul(x, y)
}

/// `pmin(a, b) = b < a ? b : a`, lane by lane. The operand order is the one the x64
/// backend matches into a single `minps`/`minpd`, which has exactly these semantics.
pub(super) fn pmin(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let less = b.ins().fcmp(FloatCC::LessThan, y, x);
    let mask = b.ins().bitcast(ty, lane_flags(), less);
    b.ins().bitselect(mask, y, x)
}

/// `pmax(a, b) = a < b ? b : a`, lane by lane (x64: `maxps`/`maxpd`).
pub(super) fn pmax(b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let less = b.ins().fcmp(FloatCC::LessThan, x, y);
    let mask = b.ins().bitcast(ty, lane_flags(), less);
    b.ins().bitselect(mask, y, x)
}

/// An all-zeros `I64X2`, the high half of the `_zero` conversions.
pub(super) fn zero_i64x2(b: &mut FunctionBuilder) -> Value {
    let zero = b
        .func
        .dfg
        .constants
        .insert(ConstantData::from(&[0u8; 16][..]));
    b.ins().vconst(I64X2, zero)
}

/// `i32x4.trunc_sat_f64x2_s_zero`: saturate to 64-bit lanes, then narrow (saturating, so
/// the already-saturated values pass unchanged) into the low half next to zeros. The x64
/// backend matches the pair into `cvttpd2dq` with NaN and overflow fix-ups.
pub(super) fn trunc_sat_f64x2_s_zero(b: &mut FunctionBuilder, x: Value) -> Value {
    let wide = b.ins().fcvt_to_sint_sat(I64X2, x);
    let zero = zero_i64x2(b);
    b.ins().snarrow(wide, zero)
}

/// `i32x4.trunc_sat_f64x2_u_zero`: as the signed form, with an unsigned narrow.
fn trunc_sat_f64x2_u_zero(b: &mut FunctionBuilder, x: Value) -> Value {
    let wide = b.ins().fcvt_to_uint_sat(I64X2, x);
    let zero = zero_i64x2(b);
    b.ins().uunarrow(wide, zero)
}

/// `f64x2.convert_low_i32x4_s`: the low two lanes widened exactly, then converted.
fn convert_low_i32x4_s(b: &mut FunctionBuilder, x: Value) -> Value {
    let wide = b.ins().swiden_low(x);
    b.ins().fcvt_from_sint(F64X2, wide)
}

/// `f64x2.convert_low_i32x4_u`: as the signed form, zero-extending.
fn convert_low_i32x4_u(b: &mut FunctionBuilder, x: Value) -> Value {
    let wide = b.ins().uwiden_low(x);
    b.ins().fcvt_from_uint(F64X2, wide)
}
