;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; SIMD memory accesses: addresses come from memory.rs (no bounds check needed with the
;; default 4 GiB reservation + 2 GiB guard), and extending loads fold into `pmovsx*`.
(module
  (memory 1)
  (func $v128_load8x8_s (export "v128_load8x8_s") (param i32) (result v128)
    (v128.load8x8_s offset=16 (local.get 0)))
  (func $v128_load32_zero (export "v128_load32_zero") (param i32) (result v128)
    (v128.load32_zero (local.get 0)))
  (func $v128_store_lane (export "v128_store_lane") (param i32 v128)
    (v128.store16_lane 3 (local.get 0) (local.get 1))))

;; == x86_64 (baseline: SSE4.2) ==
;; v128_load8x8_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: pmovsxbw 0x10(%rsi, %rdi), %xmm0
;;     17: leave
;;     18: retq
;; v128_load32_zero:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movl (%rsi, %rdi), %esi
;;     11: movd %esi, %xmm0
;;     15: leave
;;     16: retq
;; v128_store_lane:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: pextrw $3, %xmm0, (%rsi, %rdi)
;;     17: leave
;;     18: retq
;; == x86_64 + avx2 ==
;; v128_load8x8_s:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: vpmovsxbw 0x10(%rsi, %rdi), %xmm0
;;     17: leave
;;     18: retq
;; v128_load32_zero:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movl (%rsi, %rdi), %esi
;;     11: vmovd %esi, %xmm0
;;     15: leave
;;     16: retq
;; v128_store_lane:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: vpextrw $3, %xmm0, (%rsi, %rdi)
;;     17: leave
;;     18: retq
