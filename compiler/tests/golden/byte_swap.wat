;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; A byte swap written out with shifts and masks, as LLVM writes `__builtin_bswap64` for
;; wasm (libsodium's `load64_be`, SHA-512's input), is one `bswapq`
;; (`translate/byte_loads.rs`, `find_byte_swaps`).
(module
  (memory 1)
  (func $load64_be (export "load64_be") (param $p i32) (result i64)
    (local $x i64)
    (local.set $x (i64.load (local.get $p)))
    (i64.or
      (i64.or
        (i64.or (i64.shl (local.get $x) (i64.const 56))
                (i64.shl (i64.and (local.get $x) (i64.const 65280)) (i64.const 40)))
        (i64.or (i64.shl (i64.and (local.get $x) (i64.const 16711680)) (i64.const 24))
                (i64.shl (i64.and (local.get $x) (i64.const 4278190080)) (i64.const 8))))
      (i64.or
        (i64.or (i64.and (i64.shr_u (local.get $x) (i64.const 8)) (i64.const 4278190080))
                (i64.and (i64.shr_u (local.get $x) (i64.const 24)) (i64.const 16711680)))
        (i64.or (i64.and (i64.shr_u (local.get $x) (i64.const 40)) (i64.const 65280))
                (i64.shr_u (local.get $x) (i64.const 56)))))))

;; == x86_64 (baseline: SSE4.2) ==
;; load64_be:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movq (%rsi, %rdi), %rax
;;     12: bswapq %rax
;;     15: leave
;;     16: retq
;; == x86_64 + avx2 ==
;; load64_be:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movq (%rsi, %rdi), %rax
;;     12: bswapq %rax
;;     15: leave
;;     16: retq
