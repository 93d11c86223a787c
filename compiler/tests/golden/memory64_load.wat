;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; memory64 accesses in the default layout (4 GiB - 64 KiB reservation + 2 GiB guard): the index is
;; compared with the constant reservation + guard - offset - size and, at or below it, the
;; access goes ahead (a fault past the length traps); above it, a cold block checks
;; index + offset + size (trapping on overflow) against the length. The 32-bit load of
;; `load32` keeps its unchecked fast path.
(module
  (memory $m64 i64 1)
  (memory $m32 1)
  (func $load64 (export "load64") (param i64) (result i64)
    (i64.load $m64 offset=16 (local.get 0)))
  (func $store64 (export "store64") (param i64 i32)
    (i32.store8 $m64 (local.get 0) (local.get 1)))
  (func $load32 (export "load32") (param i32) (result i64)
    (i64.load $m32 offset=16 (local.get 0))))

;; == x86_64 (baseline: SSE4.2) ==
;; load64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x25(%rip), %rsi
;;      b: ja 0x18
;;      d: movq 0x20(%rdi), %rax
;;     11: movq 0x10(%rax, %rsi), %rax
;;     16: leave
;;     17: retq
;;     18: movq %rsi, %r8
;;     1b: addq $0x18, %r8
;;     1f: jb 0x29
;;     21: cmpq 0x28(%rdi), %r8
;;     25: ja 0x2b
;;     27: jmp 0xd
;;     29: ud2
;;     2b: ud2
;;     2d: .byte 00 00 00 e8 ff fe 7f 01 00 00 00
;; store64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x25(%rip), %rsi
;;      b: ja 0x16
;;      d: movq 0x20(%rdi), %rax
;;     11: movb %dl, (%rax, %rsi)
;;     14: leave
;;     15: retq
;;     16: movq %rsi, %r8
;;     19: addq $1, %r8
;;     1d: jb 0x27
;;     1f: cmpq 0x28(%rdi), %r8
;;     23: ja 0x29
;;     25: jmp 0xd
;;     27: ud2
;;     29: ud2
;;     2b: .byte 00 00 00 00 00 ff ff fe 7f 01 00 00 00
;; load32:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x30(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: movq 0x10(%rsi, %rdi), %rax
;;     15: leave
;;     16: retq
;; == x86_64 + avx2 ==
;; load64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x25(%rip), %rsi
;;      b: ja 0x18
;;      d: movq 0x20(%rdi), %rax
;;     11: movq 0x10(%rax, %rsi), %rax
;;     16: leave
;;     17: retq
;;     18: movq %rsi, %r8
;;     1b: addq $0x18, %r8
;;     1f: jb 0x29
;;     21: cmpq 0x28(%rdi), %r8
;;     25: ja 0x2b
;;     27: jmp 0xd
;;     29: ud2
;;     2b: ud2
;;     2d: .byte 00 00 00 e8 ff fe 7f 01 00 00 00
;; store64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x25(%rip), %rsi
;;      b: ja 0x16
;;      d: movq 0x20(%rdi), %rax
;;     11: movb %dl, (%rax, %rsi)
;;     14: leave
;;     15: retq
;;     16: movq %rsi, %r8
;;     19: addq $1, %r8
;;     1d: jb 0x27
;;     1f: cmpq 0x28(%rdi), %r8
;;     23: ja 0x29
;;     25: jmp 0xd
;;     27: ud2
;;     29: ud2
;;     2b: .byte 00 00 00 00 00 ff ff fe 7f 01 00 00 00
;; load32:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x30(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: movq 0x10(%rsi, %rdi), %rax
;;     15: leave
;;     16: retq
