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
;;     11: leave
;;     12: retq
;;     13: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 70 70 70
;;     23: .byte 70 70 70 70 70 70 70 70 70 70 70 70 70
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
;;     24: movdqa %xmm0, %xmm1
;;     28: cmpneqps %xmm0, %xmm1
;;     2c: movups 0x1d(%rip), %xmm2
;;     33: movdqa %xmm0, %xmm3
;;     37: movdqa %xmm1, %xmm0
;;     3b: movdqa %xmm3, %xmm1
;;     3f: pblendvb %xmm0, %xmm2, %xmm1
;;     44: movdqa %xmm1, %xmm0
;;     48: leave
;;     49: retq
;;     4a: .byte 00 00 00 00 00 00 00 00 c0 7f 00 00 c0 7f 00 00
;;     5a: .byte c0 7f 00 00 c0 7f
;; relaxed_madd:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: mulps %xmm1, %xmm0
;;      7: addps %xmm2, %xmm0
;;      a: movdqa %xmm0, %xmm1
;;      e: cmpneqps %xmm0, %xmm1
;;     12: movups 0x17(%rip), %xmm2
;;     19: movdqa %xmm0, %xmm3
;;     1d: movdqa %xmm1, %xmm0
;;     21: movdqa %xmm3, %xmm1
;;     25: pblendvb %xmm0, %xmm2, %xmm1
;;     2a: movdqa %xmm1, %xmm0
;;     2e: leave
;;     2f: retq
;;     30: .byte 00 00 c0 7f 00 00 c0 7f 00 00 c0 7f 00 00 c0 7f
;; == x86_64 + avx2 + fma ==
;; relaxed_swizzle:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vpaddusb 0x14(%rip), %xmm1, %xmm4
;;      c: vpshufb %xmm4, %xmm0, %xmm0
;;     11: leave
;;     12: retq
;;     13: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 70 70 70
;;     23: .byte 70 70 70 70 70 70 70 70 70 70 70 70 70
;; relaxed_min:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vminps %xmm1, %xmm0, %xmm7
;;      8: vminps %xmm0, %xmm1, %xmm1
;;      c: vorps %xmm1, %xmm7, %xmm0
;;     10: vcmpunordps %xmm1, %xmm0, %xmm1
;;     15: vorps %xmm1, %xmm0, %xmm0
;;     19: vpsrld $0xa, %xmm1, %xmm1
;;     1e: vandnps %xmm0, %xmm1, %xmm0
;;     22: vcmpneqps %xmm0, %xmm0, %xmm1
;;     27: vmovups 0x11(%rip), %xmm2
;;     2f: vpblendvb %xmm1, %xmm2, %xmm0, %xmm0
;;     35: leave
;;     36: retq
;;     37: .byte 00 00 00 00 00 00 00 00 00 00 00 c0 7f 00 00 c0
;;     47: .byte 7f 00 00 c0 7f 00 00 c0 7f
;; relaxed_madd:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vmulps %xmm1, %xmm0, %xmm0
;;      8: vaddps %xmm2, %xmm0, %xmm0
;;      c: vcmpneqps %xmm0, %xmm0, %xmm1
;;     11: vmovups 0x17(%rip), %xmm2
;;     19: vpblendvb %xmm1, %xmm2, %xmm0, %xmm0
;;     1f: leave
;;     20: retq
;;     21: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
;;     31: .byte 00 c0 7f 00 00 c0 7f 00 00 c0 7f 00 00 c0 7f
