;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; f32x4.min: NaN-propagating, with -0 < +0. `minps` is neither (it returns its second
;; operand for NaN and for equal zeros), so the result is `minps` both ways combined.
;; f32x4.pmin is the spec's `b < a ? b : a`, which is exactly one `minps`.
(module
  (func $f32x4_min (export "f32x4_min") (param v128 v128) (result v128)
    (f32x4.min (local.get 0) (local.get 1)))
  (func $f32x4_pmin (export "f32x4_pmin") (param v128 v128) (result v128)
    (f32x4.pmin (local.get 0) (local.get 1))))

;; == x86_64 (baseline: SSE4.2) ==
;; f32x4_min:
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
;;     24: leave
;;     25: retq
;; f32x4_pmin:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movdqa %xmm0, %xmm5
;;      8: movdqa %xmm1, %xmm0
;;      c: minps %xmm5, %xmm0
;;      f: leave
;;     10: retq
;; == x86_64 + avx2 ==
;; f32x4_min:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vminps %xmm1, %xmm0, %xmm4
;;      8: vminps %xmm0, %xmm1, %xmm6
;;      c: vorps %xmm6, %xmm4, %xmm0
;;     10: vcmpunordps %xmm6, %xmm0, %xmm1
;;     15: vorps %xmm1, %xmm0, %xmm0
;;     19: vpsrld $0xa, %xmm1, %xmm1
;;     1e: vandnps %xmm0, %xmm1, %xmm0
;;     22: leave
;;     23: retq
;; f32x4_pmin:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vminps %xmm0, %xmm1, %xmm0
;;      8: leave
;;      9: retq
