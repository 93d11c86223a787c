;;! target = "aarch64"
;;! test = "compile"
;; Relaxed SIMD in the default (fast) mode on aarch64: NEON's own instructions already
;; give the deterministic results (`tbl`, `fcvtzs`, `bsl`, `fmin`, signed multiplies with a
;; saturating add), except multiply-add, which is fused: one `fmla`.
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

;; == aarch64 ==
;; relaxed_swizzle:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: tbl v0.16b, {v0.16b}, v1.16b
;;      c: ldp x29, x30, [sp], #0x10
;;     10: ret
;; relaxed_trunc_f32x4_s:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: fcvtzs v0.4s, v0.4s
;;      c: ldp x29, x30, [sp], #0x10
;;     10: ret
;; relaxed_laneselect:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: mov v6.16b, v0.16b
;;      c: mov v0.16b, v2.16b
;;     10: bsl v0.16b, v6.16b, v1.16b
;;     14: ldp x29, x30, [sp], #0x10
;;     18: ret
;; relaxed_min:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: fmin v0.4s, v0.4s, v1.4s
;;      c: ldp x29, x30, [sp], #0x10
;;     10: ret
;; relaxed_dot:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: shl v16.8h, v0.8h, #8
;;      c: sshr v16.8h, v16.8h, #8
;;     10: shl v17.8h, v1.8h, #8
;;     14: sshr v17.8h, v17.8h, #8
;;     18: mul v16.8h, v16.8h, v17.8h
;;     1c: sshr v17.8h, v0.8h, #8
;;     20: sshr v18.8h, v1.8h, #8
;;     24: mul v17.8h, v17.8h, v18.8h
;;     28: sqadd v0.8h, v16.8h, v17.8h
;;     2c: ldp x29, x30, [sp], #0x10
;;     30: ret
;; relaxed_madd:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: mov v6.16b, v0.16b
;;      c: mov v0.16b, v2.16b
;;     10: fmla v0.4s, v6.4s, v1.4s
;;     14: ldp x29, x30, [sp], #0x10
;;     18: ret
