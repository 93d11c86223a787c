;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; What a `try_table` costs when nothing throws. Its body runs no extra instruction: the
;; call becomes a `try_call` whose normal return falls through to the epilogue (no jump,
;; no test); the landing pad (the release of the exception caught before, tag test,
;; payload load, rethrow) is cold code after the `ret`. What it does cost is Cranelift's contract for `try_call` in the `tail`
;; convention, the same as Wasmtime's: the unwinder restores no register, so no register
;; survives a covered call. Values live across it (here `vmctx`) sit in stack slots, and
;; the function saves and restores the callee-saved registers in its prologue and
;; epilogue (compare `without_handler`). `callee` may throw, so both calls are real calls.
(module
  (tag $oops (param i32))
  (global $g (mut i32) (i32.const 0))
  (func $callee (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (throw $oops (i32.const 7))))
    (global.set $g (local.get 0))
    (local.get 0))
  (func $without_handler (export "without_handler") (param i32) (result i32)
    (call $callee (local.get 0)))
  (func $with_handler (export "with_handler") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $oops $caught)
        (call $callee (local.get 0))))))

;; == x86_64 (baseline: SSE4.2) ==
;; without_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x1b
;;     14: callq 0x19
;;     19: leave
;;     1a: retq
;;     1b: ud2
;; callee:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x20, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x50
;;     14: pushq %r12
;;     16: pushq %r14
;;     18: testl %esi, %esi
;;     1a: je 0x2c
;;     1c: movl %esi, 0x20(%rdi)
;;     1f: movq %rsi, %rax
;;     22: leaq -0x10(%rbp), %rsp
;;     26: popq %r14
;;     28: popq %r12
;;     2a: leave
;;     2b: retq
;;     2c: movq 0x10(%rdi), %r14
;;     30: movq %rdi, %r12
;;     33: movq 0x58(%r14), %rcx
;;     37: xorl %esi, %esi
;;     39: callq *%rcx
;;     3b: movl $7, 0x10(%rax)
;;     42: movq 0x60(%r14), %rcx
;;     46: movq %rax, %rsi
;;     49: movq %r12, %rdi
;;     4c: callq *%rcx
;;     4e: ud2
;;     50: ud2
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x50, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x8c
;;     14: pushq %rbx
;;     15: pushq %r12
;;     17: pushq %r13
;;     19: pushq %r14
;;     1b: pushq %r15
;;     1d: subq $0x18, %rsp
;;     21: movq %rdi, (%rsp)
;;     25: callq 0x2a
;;     2a: leaq -0x28(%rbp), %rsp
;;     2e: popq %r15
;;     30: popq %r14
;;     32: popq %r13
;;     34: popq %r12
;;     36: popq %rbx
;;     37: leave
;;     38: retq
;;     39: movq (%rsp), %rdi
;;     3d: movq %rax, %r12
;;     40: movq 8(%rdi), %rbx
;;     44: movq 0x18(%rbx), %rax
;;     48: testq %rax, %rax
;;     4b: jne 0x52
;;     4d: movq %r12, %rsi
;;     50: jmp 0x63
;;     52: movq (%rsp), %rdi
;;     56: movq 0x10(%rdi), %rax
;;     5a: movq 0x68(%rax), %rax
;;     5e: callq *%rax
;;     60: movq %r12, %rsi
;;     63: movq (%rsi), %rax
;;     66: movq (%rsp), %rdi
;;     6a: movq 0x30(%rdi), %rcx
;;     6e: cmpq %rcx, %rax
;;     71: je 0x83
;;     73: movq (%rsp), %rdi
;;     77: movq 0x10(%rdi), %rax
;;     7b: movq 0x60(%rax), %rax
;;     7f: callq *%rax
;;     81: ud2
;;     83: movl 0x10(%rsi), %eax
;;     86: movq %rsi, 0x18(%rbx)
;;     8a: jmp 0x2a
;;     8c: ud2
;; == x86_64 + avx2 ==
;; without_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x1b
;;     14: callq 0x19
;;     19: leave
;;     1a: retq
;;     1b: ud2
;; callee:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x20, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x50
;;     14: pushq %r12
;;     16: pushq %r14
;;     18: testl %esi, %esi
;;     1a: je 0x2c
;;     1c: movl %esi, 0x20(%rdi)
;;     1f: movq %rsi, %rax
;;     22: leaq -0x10(%rbp), %rsp
;;     26: popq %r14
;;     28: popq %r12
;;     2a: leave
;;     2b: retq
;;     2c: movq 0x10(%rdi), %r14
;;     30: movq %rdi, %r12
;;     33: movq 0x58(%r14), %rcx
;;     37: xorl %esi, %esi
;;     39: callq *%rcx
;;     3b: movl $7, 0x10(%rax)
;;     42: movq 0x60(%r14), %rcx
;;     46: movq %rax, %rsi
;;     49: movq %r12, %rdi
;;     4c: callq *%rcx
;;     4e: ud2
;;     50: ud2
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x50, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x8c
;;     14: pushq %rbx
;;     15: pushq %r12
;;     17: pushq %r13
;;     19: pushq %r14
;;     1b: pushq %r15
;;     1d: subq $0x18, %rsp
;;     21: movq %rdi, (%rsp)
;;     25: callq 0x2a
;;     2a: leaq -0x28(%rbp), %rsp
;;     2e: popq %r15
;;     30: popq %r14
;;     32: popq %r13
;;     34: popq %r12
;;     36: popq %rbx
;;     37: leave
;;     38: retq
;;     39: movq (%rsp), %rdi
;;     3d: movq %rax, %r12
;;     40: movq 8(%rdi), %rbx
;;     44: movq 0x18(%rbx), %rax
;;     48: testq %rax, %rax
;;     4b: jne 0x52
;;     4d: movq %r12, %rsi
;;     50: jmp 0x63
;;     52: movq (%rsp), %rdi
;;     56: movq 0x10(%rdi), %rax
;;     5a: movq 0x68(%rax), %rax
;;     5e: callq *%rax
;;     60: movq %r12, %rsi
;;     63: movq (%rsi), %rax
;;     66: movq (%rsp), %rdi
;;     6a: movq 0x30(%rdi), %rcx
;;     6e: cmpq %rcx, %rax
;;     71: je 0x83
;;     73: movq (%rsp), %rdi
;;     77: movq 0x10(%rdi), %rax
;;     7b: movq 0x60(%rax), %rax
;;     7f: callq *%rax
;;     81: ud2
;;     83: movl 0x10(%rsi), %eax
;;     86: movq %rsi, 0x18(%rbx)
;;     8a: jmp 0x2a
;;     8c: ud2
