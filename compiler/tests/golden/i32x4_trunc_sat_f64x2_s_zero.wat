;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; i32x4.trunc_sat_f64x2_s_zero: saturating conversion to 64-bit lanes, then a narrow into
;; the low half; the x64 backend matches the pair into one `cvttpd2dq` plus NaN/overflow
;; fix-ups.
(module
  (func $i32x4_trunc_sat_f64x2_s_zero (export "i32x4_trunc_sat_f64x2_s_zero") (param v128) (result v128)
    (i32x4.trunc_sat_f64x2_s_zero (local.get 0))))

;; == x86_64 (baseline: SSE4.2) ==
;; i32x4_trunc_sat_f64x2_s_zero:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movdqa %xmm0, %xmm4
;;      8: cmpeqpd %xmm0, %xmm4
;;      d: andps 0xc(%rip), %xmm4
;;     14: minpd %xmm4, %xmm0
;;     18: cvttpd2dq %xmm0, %xmm0
;;     1c: leave
;;     1d: retq
;;     1e: .byte 00 00 00 00 c0 ff ff ff df 41 00 00 c0 ff ff ff
;;     2e: .byte df 41
;; == x86_64 + avx2 ==
;; i32x4_trunc_sat_f64x2_s_zero:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vcmpeqpd %xmm0, %xmm0, %xmm3
;;      9: vandps 0xf(%rip), %xmm3, %xmm5
;;     11: vminpd %xmm5, %xmm0, %xmm7
;;     15: vcvttpd2dq %xmm7, %xmm0
;;     19: leave
;;     1a: retq
;;     1b: .byte 00 00 00 00 00 00 00 c0 ff ff ff df 41 00 00 c0
;;     2b: .byte ff ff ff df 41
