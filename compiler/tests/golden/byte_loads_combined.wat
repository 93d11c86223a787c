;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; Bytes assembled into an integer become one load (`translate/byte_loads.rs`): SQLite's
;; `get4byte`, big-endian, is a 32-bit load and a `bswap`; a little-endian pair a 16-bit
;; load; eight big-endian bytes joined with `or` and a final `add` one 64-bit load and a
;; `bswap`. A byte also kept in a local stays a byte load, and so does its tree.
(module
  (memory 1)
  (func $get4byte (export "get4byte") (param $p i32) (result i32)
    (i32.or
      (i32.or
        (i32.shl (i32.load8_u (local.get $p)) (i32.const 24))
        (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 16)))
      (i32.or
        (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 8))
        (i32.load8_u offset=3 (local.get $p)))))
  (func $le16 (export "le16") (param $p i32) (result i32)
    (i32.or (i32.load8_u offset=8 (local.get $p))
            (i32.shl (i32.load8_u offset=9 (local.get $p)) (i32.const 8))))
  (func $get8byte (export "get8byte") (param $p i32) (result i64)
    (i64.add
      (i64.or (i64.or (i64.or (i64.or (i64.or (i64.or
        (i64.shl (i64.load8_u offset=1 (local.get $p)) (i64.const 48))
        (i64.shl (i64.load8_u (local.get $p)) (i64.const 56)))
        (i64.shl (i64.load8_u offset=2 (local.get $p)) (i64.const 40)))
        (i64.shl (i64.load8_u offset=3 (local.get $p)) (i64.const 32)))
        (i64.shl (i64.load8_u offset=4 (local.get $p)) (i64.const 24)))
        (i64.shl (i64.load8_u offset=5 (local.get $p)) (i64.const 16)))
        (i64.shl (i64.load8_u offset=6 (local.get $p)) (i64.const 8)))
      (i64.load8_u offset=7 (local.get $p))))
  (func $kept (export "kept") (param $p i32) (result i32)
    (local $b i32)
    (i32.add
      (i32.or (i32.shl (local.tee $b (i32.load8_u (local.get $p))) (i32.const 8))
              (i32.load8_u offset=1 (local.get $p)))
      (local.get $b))))

;; == x86_64 (baseline: SSE4.2) ==
;; get4byte:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movl (%rsi, %rdi), %eax
;;     11: bswapl %eax
;;     13: leave
;;     14: retq
;; le16:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: movzwq 8(%rsi, %rdi), %rax
;;     16: leave
;;     17: retq
;; get8byte:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movq (%rsi, %rdi), %rax
;;     12: bswapq %rax
;;     15: leave
;;     16: retq
;; kept:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r10
;;      8: movl %esi, %r11d
;;      b: movzbq (%r10, %r11), %r9
;;     10: movzbq 1(%r10, %r11), %r10
;;     16: movq %r9, %r11
;;     19: shll $8, %r11d
;;     1d: orl %r10d, %r11d
;;     20: leal (%r11, %r9), %eax
;;     24: leave
;;     25: retq
;; == x86_64 + avx2 ==
;; get4byte:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movl (%rsi, %rdi), %eax
;;     11: bswapl %eax
;;     13: leave
;;     14: retq
;; le16:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: movzwq 8(%rsi, %rdi), %rax
;;     16: leave
;;     17: retq
;; get8byte:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x20(%rdi), %rsi
;;      b: movl %r8d, %edi
;;      e: movq (%rsi, %rdi), %rax
;;     12: bswapq %rax
;;     15: leave
;;     16: retq
;; kept:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r10
;;      8: movl %esi, %r11d
;;      b: movzbq (%r10, %r11), %r9
;;     10: movzbq 1(%r10, %r11), %r10
;;     16: movq %r9, %r11
;;     19: shll $8, %r11d
;;     1d: orl %r10d, %r11d
;;     20: leal (%r11, %r9), %eax
;;     24: leave
;;     25: retq
