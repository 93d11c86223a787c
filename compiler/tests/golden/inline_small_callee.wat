;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;;! inline = "true"
;; Inlining across the module: `$scale` is small, so `$sum_scaled` has no `call` left, its
;; two calls replaced by `$scale`'s multiply and add (and folded with the caller's code);
;; `$scale` itself is still compiled, for other callers and for the table. `$imported` is
;; an import: its call stays a call.
(module
  (import "env" "imported" (func $imported (param i32) (result i32)))
  (func $scale (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1)))
  (func $sum_scaled (export "sum_scaled") (param i32 i32) (result i32)
    (i32.add (call $scale (local.get 0)) (call $scale (local.get 1))))
  (func $calls_import (export "calls_import") (param i32) (result i32)
    (call $imported (call $scale (local.get 0)))))

;; == x86_64 (baseline: SSE4.2) ==
;; sum_scaled:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: imull $3, %esi, %eax
;;      7: imull $3, %edx, %ecx
;;      a: leal 2(%rax, %rcx), %eax
;;      e: leave
;;      f: retq
;; calls_import:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x2f
;;     14: movq %rdi, %rdx
;;     17: movq %rdx, %rdi
;;     1a: movq 0x28(%rdi), %r10
;;     1e: movq 0x38(%rdi), %rdi
;;     22: imull $3, %esi, %r11d
;;     26: leal 1(%r11), %esi
;;     2a: callq *%r10
;;     2d: leave
;;     2e: retq
;;     2f: ud2
;; scale:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: imull $3, %esi, %esi
;;      7: leal 1(%rsi), %eax
;;      a: leave
;;      b: retq
;; == x86_64 + avx2 ==
;; sum_scaled:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: imull $3, %esi, %eax
;;      7: imull $3, %edx, %ecx
;;      a: leal 2(%rax, %rcx), %eax
;;      e: leave
;;      f: retq
;; calls_import:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x2f
;;     14: movq %rdi, %rdx
;;     17: movq %rdx, %rdi
;;     1a: movq 0x28(%rdi), %r10
;;     1e: movq 0x38(%rdi), %rdi
;;     22: imull $3, %esi, %r11d
;;     26: leal 1(%r11), %esi
;;     2a: callq *%r10
;;     2d: leave
;;     2e: retq
;;     2f: ud2
;; scale:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: imull $3, %esi, %esi
;;      7: leal 1(%rsi), %eax
;;      a: leave
;;      b: retq
