//! Relaxed SIMD (Wasm 3.0): the twenty operators whose results the spec lets depend on the
//! hardware, within a small set of allowed results per edge case (out-of-range swizzle
//! indices and float-to-int conversions, fused or unfused multiply-add, NaNs and signed
//! zeros in min/max, masks that are not all-ones or all-zeros, the i7 operand of the dot
//! products being negative, q15 multiplication overflowing).
//!
//! Two policies, chosen by `CompileOptions::relaxed_simd` and fixed per compilation (the
//! spec requires an implementation to make the same choice every time an operator runs):
//!
//! - `Fast` (default): each operator becomes what the target does natively, as long as
//!   that is one of the allowed results. x86_64: `pshufb` for the swizzle, `cvttps2dq` /
//!   `cvttpd2dq` for the signed truncations, `blendvps` / `blendvpd` / `pblendvb` for lane
//!   selects with 8-, 32- and 64-bit lanes, `minps` / `maxps` (and `pd`) for min and max,
//!   `pmulhrsw` for q15 multiplication, `pmaddubsw` (the i7 operand read as unsigned) for
//!   the dot products, and `vfmadd` / `vfnmadd` for multiply-add when the `fma` and `avx`
//!   features are enabled, a multiply then an add otherwise. aarch64: its native
//!   instructions already give the deterministic results (`tbl`, `fcvtzs`/`fcvtzu`, `bsl`,
//!   `fmin`/`fmax`, `sqrdmulh`, `mul` and `sqadd` for the dot products) except
//!   multiply-add, which is fused (`fmla` / `fmls`).
//! - `Deterministic`: the spec's deterministic profile, the first allowed result of every
//!   operator, which is the non-relaxed equivalent (`swizzle`, `trunc_sat`, `bitselect`,
//!   `min`/`max`, `q15mulr_sat_s`, signed products added with signed saturation) and, for
//!   multiply-add, the unfused multiply then add. Lowered from target-independent
//!   Cranelift instructions only, so x86_64 and aarch64 compute the same lanes; and the
//!   NaN lanes of the float operators (multiply-add, min, max) are the canonical NaN
//!   (positive, quiet, payload 0), since which operand's NaN the hardware passes on
//!   differs between targets. Other float operators keep the hardware's NaN bits, as
//!   everywhere in kiln.
//!
//! Unsigned truncation has no native x86 form below AVX-512, so both policies use the
//! saturating conversion there.

use super::FuncTranslator;
use crate::RelaxedSimd;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32X4, F64X2, I16X8, I32, I32X4, I64X2, I8X16};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::FunctionBuilder;
use target_lexicon::Architecture;

/// What the relaxed operators of one compilation lower to: the policy and the target facts
/// the fast forms depend on.
#[derive(Clone, Copy, Debug)]
pub struct RelaxedLowering {
    /// The deterministic profile rather than the target's fast forms.
    deterministic: bool,
    /// The target is x86_64 (which has the `x86_*` Cranelift instructions).
    x86: bool,
    /// The target has a fused multiply-add (aarch64 always; x86_64 with the `fma` and
    /// `avx` features, which Cranelift needs both of to emit `vfmadd`).
    fma: bool,
}

impl RelaxedLowering {
    /// The lowering for `isa` under `policy`.
    pub fn new(isa: &dyn TargetIsa, policy: RelaxedSimd) -> Self {
        let x86 = isa.triple().architecture == Architecture::X86_64;
        let features = crate::isa::enabled_cpu_features(isa);
        let fma = !x86 || (features.contains(&"fma") && features.contains(&"avx"));
        RelaxedLowering {
            deterministic: policy == RelaxedSimd::Deterministic,
            x86,
            fma,
        }
    }

    /// Whether the x86_64 fast forms apply.
    fn x86_fast(self) -> bool {
        self.x86 && !self.deterministic
    }
}

/// The relaxed operators, each called from `simd.rs`'s dispatch.
impl FuncTranslator<'_, '_> {
    fn relaxed(&self) -> RelaxedLowering {
        self.env.relaxed_simd
    }

    /// `i8x16.relaxed_swizzle`: indices 16..=127 may select lane `index % 16` (x86
    /// `pshufb`) or give 0 (`swizzle`, aarch64 `tbl`, the deterministic result).
    pub(super) fn translate_relaxed_swizzle(&mut self) {
        let pshufb = self.relaxed().x86_fast();
        self.simd_binary(I8X16, |b, x, y| {
            if pshufb {
                b.ins().x86_pshufb(x, y)
            } else {
                b.ins().swizzle(x, y)
            }
        });
    }

    /// `i32x4.relaxed_trunc_f32x4_s`: NaN and out-of-range lanes may give `i32::MIN`
    /// (x86 `cvttps2dq`) or saturate with NaN as 0 (`trunc_sat`, aarch64 `fcvtzs`).
    pub(super) fn translate_relaxed_trunc_f32x4_s(&mut self) {
        let cvtt = self.relaxed().x86_fast();
        self.simd_unary(F32X4, |b, x| {
            if cvtt {
                b.ins().x86_cvtt2dq(I32X4, x)
            } else {
                b.ins().fcvt_to_sint_sat(I32X4, x)
            }
        });
    }

    /// `i32x4.relaxed_trunc_f64x2_s_zero`: as the f32 form, with `cvttpd2dq` on x86 (the
    /// backend matches this narrow of `x86_cvtt2dq` into that one instruction).
    pub(super) fn translate_relaxed_trunc_f64x2_s_zero(&mut self) {
        let cvtt = self.relaxed().x86_fast();
        self.simd_unary(F64X2, |b, x| {
            if cvtt {
                let wide = b.ins().x86_cvtt2dq(I64X2, x);
                let zero = super::simd::zero_i64x2(b);
                b.ins().snarrow(wide, zero)
            } else {
                super::simd::trunc_sat_f64x2_s_zero(b, x)
            }
        });
    }

    /// `f32x4/f64x2.relaxed_madd` (`negate`: `relaxed_nmadd`, which is `madd(-a, b, c)`):
    /// one rounding where the target fuses, two otherwise and in the deterministic profile.
    pub(super) fn translate_relaxed_madd(&mut self, ty: Type, negate: bool) {
        let fused = self.relaxed().fma && !self.relaxed().deterministic;
        let c = self.pop_vector(ty);
        let b = self.pop_vector(ty);
        let a = self.pop_vector(ty);
        let a = if negate {
            self.builder.ins().fneg(a)
        } else {
            a
        };
        let value = if fused {
            self.builder.ins().fma(a, b, c)
        } else {
            let product = self.builder.ins().fmul(a, b);
            self.builder.ins().fadd(product, c)
        };
        let value = self.canonical_nans_if_deterministic(ty, value);
        self.push_vector(value);
    }

    /// `value` (of float vector type `ty`) with every NaN lane the canonical NaN, in the
    /// deterministic profile; `value` itself otherwise.
    fn canonical_nans_if_deterministic(&mut self, ty: Type, value: Value) -> Value {
        if !self.relaxed().deterministic {
            return value;
        }
        let b = &mut self.builder;
        let nan = if ty == F32X4 {
            let lane = b.ins().f32const(f32::from_bits(0x7fc0_0000));
            b.ins().splat(F32X4, lane)
        } else {
            let lane = b.ins().f64const(f64::from_bits(0x7ff8_0000_0000_0000));
            b.ins().splat(F64X2, lane)
        };
        // `x != x` (unordered or unequal) holds exactly for NaN lanes, in one compare
        // on both targets where `Unordered` takes two on aarch64.
        let is_nan = b.ins().fcmp(FloatCC::NotEqual, value, value);
        let is_nan = b.ins().bitcast(ty, super::simd::lane_flags(), is_nan);
        b.ins().bitselect(is_nan, nan, value)
    }

    /// `iNxM.relaxed_laneselect(a, b, mask)`: lanes whose mask is neither all-ones nor
    /// all-zeros may be chosen by the mask's top bit alone (x86 `blendv`, which exists for
    /// 8-, 32- and 64-bit lanes) or bit by bit (`bitselect`, aarch64 `bsl`, deterministic).
    pub(super) fn translate_relaxed_laneselect(&mut self, ty: Type) {
        let blendv = self.relaxed().x86_fast() && ty != I16X8;
        let mask = self.pop_vector(ty);
        let b = self.pop_vector(ty);
        let a = self.pop_vector(ty);
        let value = if blendv {
            self.builder.ins().blendv(mask, a, b)
        } else {
            self.builder.ins().bitselect(mask, a, b)
        };
        self.push_vector(value);
    }

    /// `f32x4/f64x2.relaxed_min` (`max`: `relaxed_max`): with a NaN operand or zeros of
    /// opposite signs, x86's `minps`/`maxps` return the second operand, one of the allowed
    /// results; aarch64's `fmin`/`fmax` and the deterministic profile are wasm's `min`/`max`.
    pub(super) fn translate_relaxed_min_max(&mut self, ty: Type, max: bool) {
        let native_x86 = self.relaxed().x86_fast();
        let y = self.pop_vector(ty);
        let x = self.pop_vector(ty);
        let b = &mut self.builder;
        let value = match (native_x86, max) {
            // `pmin(y, x)` is `x < y ? x : y`, which the backend matches into `minps x, y`.
            (true, false) => super::simd::pmin(b, y, x),
            (true, true) => super::simd::pmax(b, y, x),
            (false, false) => b.ins().fmin(x, y),
            (false, true) => b.ins().fmax(x, y),
        };
        let value = self.canonical_nans_if_deterministic(ty, value);
        self.push_vector(value);
    }

    /// `i16x8.relaxed_q15mulr_s`: `i16::MIN * i16::MIN` may give `i16::MIN` (x86
    /// `pmulhrsw`) or saturate to `i16::MAX` (`q15mulr_sat_s`, aarch64 `sqrdmulh`).
    pub(super) fn translate_relaxed_q15mulr_s(&mut self) {
        let pmulhrsw = self.relaxed().x86_fast();
        self.simd_binary(I16X8, |b, x, y| {
            if pmulhrsw {
                b.ins().x86_pmulhrsw(x, y)
            } else {
                b.ins().sqmul_round_sat(x, y)
            }
        });
    }

    /// `i16x8.relaxed_dot_i8x16_i7x16_s`: adjacent products of `a` and `b`, added.
    pub(super) fn translate_relaxed_dot_i8x16_i7x16_s(&mut self) {
        let lowering = self.relaxed();
        self.simd_binary(I8X16, |b, x, y| relaxed_dot_i8x16(b, lowering, x, y));
    }

    /// `i32x4.relaxed_dot_i8x16_i7x16_add_s`: the 16-bit dot product, its adjacent lanes
    /// added into 32 bits (x86: `pmaddwd` with ones), plus `c`.
    pub(super) fn translate_relaxed_dot_i8x16_i7x16_add_s(&mut self) {
        let lowering = self.relaxed();
        let c = self.pop_vector(I32X4);
        let y = self.pop_vector(I8X16);
        let x = self.pop_vector(I8X16);
        let b = &mut self.builder;
        let dot = relaxed_dot_i8x16(b, lowering, x, y);
        let dot = super::simd::extadd_pairwise_s(b, dot);
        let value = b.ins().iadd(dot, c);
        self.push_vector(value);
    }
}

/// The 16-bit relaxed dot product of `x` and `y`. x86 fast form: `pmaddubsw`, which reads
/// one operand as unsigned: Cranelift's `x86_pmaddubsw` takes the signed bytes first, so
/// `y` (the i7 operand, which the spec allows to be read as unsigned) goes second; its pair
/// sums saturate. Elsewhere the deterministic result:
/// signed products (each fits in 16 bits) of the even and of the odd lanes, added with
/// signed saturation as the spec adds them.
fn relaxed_dot_i8x16(
    b: &mut FunctionBuilder,
    lowering: RelaxedLowering,
    x: Value,
    y: Value,
) -> Value {
    if lowering.x86_fast() {
        return b.ins().x86_pmaddubsw(x, y);
    }
    let flags = super::simd::lane_flags();
    let x = b.ins().bitcast(I16X8, flags, x);
    let y = b.ins().bitcast(I16X8, flags, y);
    // Each 16-bit lane holds an even byte (low) and an odd byte (high): shifting left then
    // arithmetically right by 8 sign-extends the even one, shifting right the odd one.
    let eight = b.ins().iconst(I32, 8);
    let even = |b: &mut FunctionBuilder, v: Value| {
        let high = b.ins().ishl(v, eight);
        b.ins().sshr(high, eight)
    };
    let x_even = even(b, x);
    let y_even = even(b, y);
    let x_odd = b.ins().sshr(x, eight);
    let y_odd = b.ins().sshr(y, eight);
    let even_products = b.ins().imul(x_even, y_even);
    let odd_products = b.ins().imul(x_odd, y_odd);
    b.ins().sadd_sat(even_products, odd_products)
}
