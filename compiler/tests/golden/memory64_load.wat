;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; memory64 accesses in the default layout (4 GiB reservation + 2 GiB guard): the index is
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
;;      4: cmpq 0x35(%rip), %rsi
;;      b: ja 0x1f
;;     11: movq 0x20(%rdi), %rax
;;     15: movq 0x10(%rax, %rsi), %rax
;;     1a: movq %rbp, %rsp
;;     1d: popq %rbp
;;     1e: retq
;;     1f: movq %rsi, %r8
;;     22: addq $0x18, %r8
;;     26: jb 0x3b
;;     2c: cmpq 0x28(%rdi), %r8
;;     30: ja 0x3d
;;     36: jmp 0x11
;;     3b: ud2
;;     3d: ud2
;;     3f: .byte 00 e8 ff ff 7f 01 00 00 00
;; store64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x35(%rip), %rsi
;;      b: ja 0x1d
;;     11: movq 0x20(%rdi), %rax
;;     15: movb %dl, (%rax, %rsi)
;;     18: movq %rbp, %rsp
;;     1b: popq %rbp
;;     1c: retq
;;     1d: movq %rsi, %r8
;;     20: addq $1, %r8
;;     24: jb 0x39
;;     2a: cmpq 0x28(%rdi), %r8
;;     2e: ja 0x3b
;;     34: jmp 0x11
;;     39: ud2
;;     3b: ud2
;;     3d: .byte 00 00 00 ff ff ff 7f 01 00 00 00
;; load32:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x30(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: movq 0x10(%rsi, %rdi), %rax
;;     15: movq %rbp, %rsp
;;     18: popq %rbp
;;     19: retq
;; == x86_64 + avx2 ==
;; load64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x35(%rip), %rsi
;;      b: ja 0x1f
;;     11: movq 0x20(%rdi), %rax
;;     15: movq 0x10(%rax, %rsi), %rax
;;     1a: movq %rbp, %rsp
;;     1d: popq %rbp
;;     1e: retq
;;     1f: movq %rsi, %r8
;;     22: addq $0x18, %r8
;;     26: jb 0x3b
;;     2c: cmpq 0x28(%rdi), %r8
;;     30: ja 0x3d
;;     36: jmp 0x11
;;     3b: ud2
;;     3d: ud2
;;     3f: .byte 00 e8 ff ff 7f 01 00 00 00
;; store64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x35(%rip), %rsi
;;      b: ja 0x1d
;;     11: movq 0x20(%rdi), %rax
;;     15: movb %dl, (%rax, %rsi)
;;     18: movq %rbp, %rsp
;;     1b: popq %rbp
;;     1c: retq
;;     1d: movq %rsi, %r8
;;     20: addq $1, %r8
;;     24: jb 0x39
;;     2a: cmpq 0x28(%rdi), %r8
;;     2e: ja 0x3b
;;     34: jmp 0x11
;;     39: ud2
;;     3b: ud2
;;     3d: .byte 00 00 00 ff ff ff 7f 01 00 00 00
;; load32:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r8
;;      7: movq 0x30(%rdi), %rsi
;;      b: movq %r8, %rdi
;;      e: movl %edi, %edi
;;     10: movq 0x10(%rsi, %rdi), %rax
;;     15: movq %rbp, %rsp
;;     18: popq %rbp
;;     19: retq
