;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; i32x4.dot_i16x8_s: translated as widen-multiply-add-pairwise, which the x64 backend
;; matches into one `pmaddwd`. The extended pairwise adds match `pmaddubsw`/`pmaddwd` too.
(module
  (func $i32x4_dot_i16x8_s (export "i32x4_dot_i16x8_s") (param v128 v128) (result v128)
    (i32x4.dot_i16x8_s (local.get 0) (local.get 1)))
  (func $i16x8_extadd_pairwise_i8x16_s (export "i16x8_extadd_pairwise_i8x16_s") (param v128) (result v128)
    (i16x8.extadd_pairwise_i8x16_s (local.get 0))))

;; == x86_64 (baseline: SSE4.2) ==
;; i32x4_dot_i16x8_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: pmaddwd %xmm1, %xmm0
;;      8: leave
;;      9: retq
;; i16x8_extadd_pairwise_i8x16_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movdqa %xmm0, %xmm4
;;      8: movdqu 0x10(%rip), %xmm0
;;     10: movdqa %xmm4, %xmm6
;;     14: pmaddubsw %xmm6, %xmm0
;;     19: leave
;;     1a: retq
;;     1b: .byte 00 00 00 00 00 01 01 01 01 01 01 01 01 01 01 01
;;     2b: .byte 01 01 01 01 01
;; == x86_64 + avx2 ==
;; i32x4_dot_i16x8_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vpmaddwd %xmm1, %xmm0, %xmm0
;;      8: leave
;;      9: retq
;; i16x8_extadd_pairwise_i8x16_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vmovdqu 0x14(%rip), %xmm3
;;      c: vpmaddubsw %xmm0, %xmm3, %xmm0
;;     11: leave
;;     12: retq
;;     13: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 01 01 01
;;     23: .byte 01 01 01 01 01 01 01 01 01 01 01 01 01
