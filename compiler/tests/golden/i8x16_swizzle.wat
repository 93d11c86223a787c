;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; i8x16.swizzle: lanes with an index >= 16 become 0. SSSE3's `pshufb` zeroes a lane only
;; when the index's top bit is set, so a saturating add of 0x70 comes first.
(module
  (func $i8x16_swizzle (export "i8x16_swizzle") (param v128 v128) (result v128)
    (i8x16.swizzle (local.get 0) (local.get 1))))

;; == x86_64 (baseline: SSE4.2) ==
;; i8x16_swizzle:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: paddusb 0x14(%rip), %xmm1
;;      c: pshufb %xmm1, %xmm0
;;     11: leave
;;     12: retq
;;     13: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 70 70 70
;;     23: .byte 70 70 70 70 70 70 70 70 70 70 70 70 70
;; == x86_64 + avx2 ==
;; i8x16_swizzle:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vpaddusb 0x14(%rip), %xmm1, %xmm4
;;      c: vpshufb %xmm4, %xmm0, %xmm0
;;     11: leave
;;     12: retq
;;     13: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 70 70 70
;;     23: .byte 70 70 70 70 70 70 70 70 70 70 70 70 70
