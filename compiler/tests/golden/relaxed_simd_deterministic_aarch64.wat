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
;;      8: fmul v6.4s, v0.4s, v1.4s
;;      c: fadd v0.4s, v6.4s, v2.4s
;;     10: ldp x29, x30, [sp], #0x10
;;     14: ret
;; relaxed_nmadd:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: fneg v7.2d, v0.2d
;;      c: fmul v7.2d, v7.2d, v1.2d
;;     10: fadd v0.2d, v7.2d, v2.2d
;;     14: ldp x29, x30, [sp], #0x10
;;     18: ret
