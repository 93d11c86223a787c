;;! target = "x86_64"
;;! test = "compile"
;;! x86_64_features = "avx2,fma"
;; Relaxed SIMD in the default (fast) mode on x86_64: each operator is the one native
;; instruction whose results the spec allows. `relaxed_swizzle` is a bare `pshufb` (no
;; saturating add, unlike `i8x16.swizzle`), `relaxed_trunc` a bare `cvttps2dq`,
;; `relaxed_laneselect` a `blendvps`, `relaxed_min` a `minps`, `relaxed_dot` a
;; `pmaddubsw`, and `relaxed_madd` a multiply and an add, or one `vfmadd` with FMA.
(module
  (func $relaxed_swizzle (export "relaxed_swizzle") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
  (func $relaxed_trunc_f32x4_s (export "relaxed_trunc_f32x4_s") (param v128) (result v128)
    (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
  (func $relaxed_laneselect (export "relaxed_laneselect") (param v128 v128 v128) (result v128)
    (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func $relaxed_min (export "relaxed_min") (param v128 v128) (result v128)
    (f32x4.relaxed_min (local.get 0) (local.get 1)))
  (func $relaxed_dot (export "relaxed_dot") (param v128 v128) (result v128)
    (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
  (func $relaxed_madd (export "relaxed_madd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))

;; == x86_64 (baseline: SSE4.2) ==
;; relaxed_swizzle:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: pshufb %xmm1, %xmm0
;;      9: leave
;;      a: retq
;; relaxed_trunc_f32x4_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cvttps2dq %xmm0, %xmm0
;;      8: leave
;;      9: retq
;; relaxed_laneselect:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movdqa %xmm0, %xmm7
;;      8: movdqa %xmm2, %xmm0
;;      c: movdqa %xmm1, %xmm5
;;     10: blendvps %xmm0, %xmm7, %xmm5
;;     15: movdqa %xmm5, %xmm0
;;     19: leave
;;     1a: retq
;; relaxed_min:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: minps %xmm1, %xmm0
;;      7: leave
;;      8: retq
;; relaxed_dot:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movdqa %xmm0, %xmm5
;;      8: movdqa %xmm1, %xmm0
;;      c: pmaddubsw %xmm5, %xmm0
;;     11: leave
;;     12: retq
;; relaxed_madd:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: mulps %xmm1, %xmm0
;;      7: addps %xmm2, %xmm0
;;      a: leave
;;      b: retq
;; == x86_64 + avx2 + fma ==
;; relaxed_swizzle:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vpshufb %xmm1, %xmm0, %xmm0
;;      9: leave
;;      a: retq
;; relaxed_trunc_f32x4_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vcvttps2dq %xmm0, %xmm0
;;      8: leave
;;      9: retq
;; relaxed_laneselect:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vblendvps %xmm2, %xmm0, %xmm1, %xmm0
;;      a: leave
;;      b: retq
;; relaxed_min:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vminps %xmm1, %xmm0, %xmm0
;;      8: leave
;;      9: retq
;; relaxed_dot:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vpmaddubsw %xmm0, %xmm1, %xmm0
;;      9: leave
;;      a: retq
;; relaxed_madd:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vfmadd213ps %xmm2, %xmm1, %xmm0
;;      9: leave
;;      a: retq
