;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed_and_size"
;; Branch shortening (`relax.rs`): the jumps within reach take their 2-byte forms, the
;; `%rip`-relative load of the vector constant after the code follows it (still on 16
;; bytes), and the `br_table`'s jump table (after `jmpq *`) holds its targets' new offsets.
(module
  (memory 1)
  (func $add_ones (export "add_ones") (param i32 i32)
    (loop $next
      (v128.store (local.get 0)
        (i32x4.add (v128.load (local.get 0)) (v128.const i32x4 1 1 1 1)))
      (local.set 0 (i32.add (local.get 0) (i32.const 16)))
      (br_if $next (local.tee 1 (i32.sub (local.get 1) (i32.const 1))))))
  (func $pick (export "pick") (param i32) (result i32)
    (block $c
      (block $b
        (block $a
          (br_table $a $b $c (local.get 0)))
        (return (i32.const 15)))
      (return (i32.const 25)))
    (i32.const 0)))

;; == x86_64 (baseline: SSE4.2) ==
;; add_ones:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rax
;;      8: movdqu 0x20(%rip), %xmm0
;;     10: movl %esi, %ecx
;;     12: movdqu (%rax, %rcx), %xmm1
;;     17: paddd %xmm0, %xmm1
;;     1b: movdqu %xmm1, (%rax, %rcx)
;;     20: subl $1, %edx
;;     23: addl $0x10, %esi
;;     26: testl %edx, %edx
;;     28: jne 0x10
;;     2a: leave
;;     2b: retq
;;     2c: .byte 00 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00
;;     3c: .byte 01 00 00 00
;; pick:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movl $2, %r8d
;;      a: movl %esi, %r9d
;;      d: cmpl %r8d, %r9d
;;     10: cmovbl %r9d, %r8d
;;     14: leaq 9(%rip), %rcx
;;     1b: movslq (%rcx, %r8, 4), %rax
;;     1f: addq %rax, %rcx
;;     22: jmpq *%rcx
;;     24: .byte 13 00 00 00 0c 00 00 00 1a 00 00 00 b8 19 00 00
;;     34: .byte 00 c9 c3 b8 0f 00 00 00 c9 c3 33 c0 c9 c3
;; == x86_64 + avx2 ==
;; add_ones:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rax
;;      8: vmovdqu 0x20(%rip), %xmm0
;;     10: movl %esi, %ecx
;;     12: vmovdqu (%rax, %rcx), %xmm1
;;     17: vpaddd %xmm0, %xmm1, %xmm1
;;     1b: vmovdqu %xmm1, (%rax, %rcx)
;;     20: subl $1, %edx
;;     23: addl $0x10, %esi
;;     26: testl %edx, %edx
;;     28: jne 0x10
;;     2a: leave
;;     2b: retq
;;     2c: .byte 00 00 00 00 01 00 00 00 01 00 00 00 01 00 00 00
;;     3c: .byte 01 00 00 00
;; pick:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movl $2, %r8d
;;      a: movl %esi, %r9d
;;      d: cmpl %r8d, %r9d
;;     10: cmovbl %r9d, %r8d
;;     14: leaq 9(%rip), %rcx
;;     1b: movslq (%rcx, %r8, 4), %rax
;;     1f: addq %rax, %rcx
;;     22: jmpq *%rcx
;;     24: .byte 13 00 00 00 0c 00 00 00 1a 00 00 00 b8 19 00 00
;;     34: .byte 00 c9 c3 b8 0f 00 00 00 c9 c3 33 c0 c9 c3
