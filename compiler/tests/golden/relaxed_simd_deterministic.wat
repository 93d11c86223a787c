;;! target = "x86_64"
;;! test = "compile"
;;! relaxed_simd = "deterministic"
;;! x86_64_features = "avx2,fma"
;; Relaxed SIMD with `--relaxed-simd=deterministic` on x86_64: the spec's deterministic
;; profile, the non-relaxed operators' code (`i8x16.swizzle`'s saturating add before
;; `pshufb`, `f32x4.min`'s NaN and signed-zero fix-ups), and multiply-add unfused even
;; where FMA is available.
(module
  (func $relaxed_swizzle (export "relaxed_swizzle") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
  (func $relaxed_min (export "relaxed_min") (param v128 v128) (result v128)
    (f32x4.relaxed_min (local.get 0) (local.get 1)))
  (func $relaxed_madd (export "relaxed_madd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))

;; == x86_64 (baseline: SSE4.2) ==
;; relaxed_swizzle:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: paddusb 0x14(%rip), %xmm1
;;      c: pshufb %xmm1, %xmm0
;;     11: movq %rbp, %rsp
;;     14: popq %rbp
;;     15: retq
;;     16: .byte 00 00 00 00 00 00 00 00 00 00 70 70 70 70 70 70
;;     26: .byte 70 70 70 70 70 70 70 70 70 70
;; relaxed_min:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movdqa %xmm0, %xmm2
;;      8: minps %xmm1, %xmm2
;;      b: minps %xmm0, %xmm1
;;      e: orps %xmm1, %xmm2
;;     11: movdqa %xmm2, %xmm0
;;     15: cmpunordps %xmm1, %xmm0
;;     19: orps %xmm0, %xmm2
;;     1c: psrld $0xa, %xmm0
;;     21: andnps %xmm2, %xmm0
;;     24: movq %rbp, %rsp
;;     27: popq %rbp
;;     28: retq
;; relaxed_madd:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: mulps %xmm1, %xmm0
;;      7: addps %xmm2, %xmm0
;;      a: movq %rbp, %rsp
;;      d: popq %rbp
;;      e: retq
;; == x86_64 + avx2 + fma ==
;; relaxed_swizzle:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vpaddusb 0x14(%rip), %xmm1, %xmm4
;;      c: vpshufb %xmm4, %xmm0, %xmm0
;;     11: movq %rbp, %rsp
;;     14: popq %rbp
;;     15: retq
;;     16: .byte 00 00 00 00 00 00 00 00 00 00 70 70 70 70 70 70
;;     26: .byte 70 70 70 70 70 70 70 70 70 70
;; relaxed_min:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vminps %xmm1, %xmm0, %xmm4
;;      8: vminps %xmm0, %xmm1, %xmm6
;;      c: vorps %xmm6, %xmm4, %xmm0
;;     10: vcmpunordps %xmm6, %xmm0, %xmm1
;;     15: vorps %xmm1, %xmm0, %xmm0
;;     19: vpsrld $0xa, %xmm1, %xmm1
;;     1e: vandnps %xmm0, %xmm1, %xmm0
;;     22: movq %rbp, %rsp
;;     25: popq %rbp
;;     26: retq
;; relaxed_madd:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vmulps %xmm1, %xmm0, %xmm6
;;      8: vaddps %xmm2, %xmm6, %xmm0
;;      c: movq %rbp, %rsp
;;      f: popq %rbp
;;     10: retq
