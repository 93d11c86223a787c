;;! target = "aarch64"
;;! test = "compile"
;;! relaxed_simd = "deterministic"
;; Relaxed multiply-add with `--relaxed-simd=deterministic` on aarch64: unfused, `fmul`
;; then `fadd`, as on x86_64, instead of the fast mode's `fmla`.
(module
  (func $relaxed_madd (export "relaxed_madd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func $relaxed_nmadd (export "relaxed_nmadd") (param v128 v128 v128) (result v128)
    (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2))))

;; == aarch64 ==
;; relaxed_madd:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: fmul v16.4s, v0.4s, v1.4s
;;      c: fadd v16.4s, v16.4s, v2.4s
;;     10: fcmeq v17.4s, v16.4s, v16.4s
;;     14: mvn v0.16b, v17.16b
;;     18: mov x10, #0x7fc00000
;;     1c: dup v17.4s, w10
;;     20: bsl v0.16b, v17.16b, v16.16b
;;     24: ldp x29, x30, [sp], #0x10
;;     28: ret
;; relaxed_nmadd:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: fneg v16.2d, v0.2d
;;      c: fmul v16.2d, v16.2d, v1.2d
;;     10: fadd v16.2d, v16.2d, v2.2d
;;     14: fcmeq v17.2d, v16.2d, v16.2d
;;     18: mvn v0.16b, v17.16b
;;     1c: mov x11, #0x7ff8000000000000
;;     20: dup v17.2d, x11
;;     24: bsl v0.16b, v17.16b, v16.16b
;;     28: ldp x29, x30, [sp], #0x10
;;     2c: ret
