;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; i16x8.q15mulr_sat_s: `pmulhrsw` computes it except that 0x8000 * 0x8000 wraps to
;; 0x8000 instead of saturating to 0x7fff; the fix-up flips exactly those lanes.
(module
  (func $i16x8_q15mulr_sat_s (export "i16x8_q15mulr_sat_s") (param v128 v128) (result v128)
    (i16x8.q15mulr_sat_s (local.get 0) (local.get 1))))

;; == x86_64 (baseline: SSE4.2) ==
;; i16x8_q15mulr_sat_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: pmulhrsw %xmm1, %xmm0
;;      9: movdqa %xmm0, %xmm6
;;      d: pcmpeqw 0xb(%rip), %xmm6
;;     15: pxor %xmm6, %xmm0
;;     19: leave
;;     1a: retq
;;     1b: .byte 00 00 00 00 00 00 80 00 80 00 80 00 80 00 80 00
;;     2b: .byte 80 00 80 00 80
;; == x86_64 + avx2 ==
;; i16x8_q15mulr_sat_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vpmulhrsw %xmm1, %xmm0, %xmm4
;;      9: vpcmpeqw 0xf(%rip), %xmm4, %xmm6
;;     11: vpxor %xmm6, %xmm4, %xmm0
;;     15: leave
;;     16: retq
;;     17: .byte 00 00 00 00 00 00 00 00 00 00 80 00 80 00 80 00
;;     27: .byte 80 00 80 00 80 00 80 00 80
