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
;;      4: cmpq 0x3d(%rip), %rdx
;;      b: ja 0x22
;;     11: movq 0x90(%rdi), %rax
;;     18: movq 0x10(%rax, %rdx), %rax
;;     1d: movq %rbp, %rsp
;;     20: popq %rbp
;;     21: retq
;;     22: movq %rdx, %r8
;;     25: addq $0x18, %r8
;;     29: jb 0x41
;;     2f: cmpq 0x98(%rdi), %r8
;;     36: ja 0x43
;;     3c: jmp 0x11
;;     41: ud2
;;     43: ud2
;;     45: .byte 00 00 00 e8 ff ff 7f 01 00 00 00
;; store64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x3d(%rip), %rdx
;;      b: ja 0x20
;;     11: movq 0x90(%rdi), %rax
;;     18: movb %cl, (%rax, %rdx)
;;     1b: movq %rbp, %rsp
;;     1e: popq %rbp
;;     1f: retq
;;     20: movq %rdx, %r8
;;     23: addq $1, %r8
;;     27: jb 0x3f
;;     2d: cmpq 0x98(%rdi), %r8
;;     34: ja 0x41
;;     3a: jmp 0x11
;;     3f: ud2
;;     41: ud2
;;     43: .byte 00 00 00 00 00 ff ff ff 7f 01 00 00 00
;; load32:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0xa0(%rdi), %rsi
;;      b: movl %edx, %edi
;;      d: movq 0x10(%rsi, %rdi), %rax
;;     12: movq %rbp, %rsp
;;     15: popq %rbp
;;     16: retq
;; == x86_64 + avx2 ==
;; load64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x3d(%rip), %rdx
;;      b: ja 0x22
;;     11: movq 0x90(%rdi), %rax
;;     18: movq 0x10(%rax, %rdx), %rax
;;     1d: movq %rbp, %rsp
;;     20: popq %rbp
;;     21: retq
;;     22: movq %rdx, %r8
;;     25: addq $0x18, %r8
;;     29: jb 0x41
;;     2f: cmpq 0x98(%rdi), %r8
;;     36: ja 0x43
;;     3c: jmp 0x11
;;     41: ud2
;;     43: ud2
;;     45: .byte 00 00 00 e8 ff ff 7f 01 00 00 00
;; store64:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: cmpq 0x3d(%rip), %rdx
;;      b: ja 0x20
;;     11: movq 0x90(%rdi), %rax
;;     18: movb %cl, (%rax, %rdx)
;;     1b: movq %rbp, %rsp
;;     1e: popq %rbp
;;     1f: retq
;;     20: movq %rdx, %r8
;;     23: addq $1, %r8
;;     27: jb 0x3f
;;     2d: cmpq 0x98(%rdi), %r8
;;     34: ja 0x41
;;     3a: jmp 0x11
;;     3f: ud2
;;     41: ud2
;;     43: .byte 00 00 00 00 00 ff ff ff 7f 01 00 00 00
;; load32:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0xa0(%rdi), %rsi
;;      b: movl %edx, %edi
;;      d: movq 0x10(%rsi, %rdi), %rax
;;     12: movq %rbp, %rsp
;;     15: popq %rbp
;;     16: retq
