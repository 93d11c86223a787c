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
;;     12: ja 0x1e
;;     14: callq 0x19
;;     19: movq %rbp, %rsp
;;     1c: popq %rbp
;;     1d: retq
;;     1e: ud2
;; callee:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x20, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x61
;;     14: subq $0x10, %rsp
;;     18: movq %r12, (%rsp)
;;     1c: movq %r14, 8(%rsp)
;;     21: testl %esi, %esi
;;     23: je 0x3d
;;     25: movl %esi, 0x20(%rdi)
;;     28: movq %rsi, %rax
;;     2b: movq (%rsp), %r12
;;     2f: movq 8(%rsp), %r14
;;     34: addq $0x10, %rsp
;;     38: movq %rbp, %rsp
;;     3b: popq %rbp
;;     3c: retq
;;     3d: movq 0x10(%rdi), %r14
;;     41: movq %rdi, %r12
;;     44: movq 0x58(%r14), %rcx
;;     48: xorl %esi, %esi
;;     4a: callq *%rcx
;;     4c: movl $7, 0x10(%rax)
;;     53: movq 0x60(%r14), %rcx
;;     57: movq %rax, %rsi
;;     5a: movq %r12, %rdi
;;     5d: callq *%rcx
;;     5f: ud2
;;     61: ud2
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x50, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0xb3
;;     18: subq $0x40, %rsp
;;     1c: movq %rbx, 0x10(%rsp)
;;     21: movq %r12, 0x18(%rsp)
;;     26: movq %r13, 0x20(%rsp)
;;     2b: movq %r14, 0x28(%rsp)
;;     30: movq %r15, 0x30(%rsp)
;;     35: movq %rdi, (%rsp)
;;     39: callq 0x3e
;;     3e: movq 0x10(%rsp), %rbx
;;     43: movq 0x18(%rsp), %r12
;;     48: movq 0x20(%rsp), %r13
;;     4d: movq 0x28(%rsp), %r14
;;     52: movq 0x30(%rsp), %r15
;;     57: addq $0x40, %rsp
;;     5b: movq %rbp, %rsp
;;     5e: popq %rbp
;;     5f: retq
;;     60: movq (%rsp), %rdi
;;     64: movq %rax, %r12
;;     67: movq 8(%rdi), %rbx
;;     6b: movq 0x18(%rbx), %rax
;;     6f: testq %rax, %rax
;;     72: jne 0x79
;;     74: movq %r12, %rsi
;;     77: jmp 0x8a
;;     79: movq (%rsp), %rdi
;;     7d: movq 0x10(%rdi), %rax
;;     81: movq 0x68(%rax), %rax
;;     85: callq *%rax
;;     87: movq %r12, %rsi
;;     8a: movq (%rsi), %rax
;;     8d: movq (%rsp), %rdi
;;     91: movq 0x30(%rdi), %rcx
;;     95: cmpq %rcx, %rax
;;     98: je 0xaa
;;     9a: movq (%rsp), %rdi
;;     9e: movq 0x10(%rdi), %rax
;;     a2: movq 0x60(%rax), %rax
;;     a6: callq *%rax
;;     a8: ud2
;;     aa: movl 0x10(%rsi), %eax
;;     ad: movq %rsi, 0x18(%rbx)
;;     b1: jmp 0x3e
;;     b3: ud2
;; == x86_64 + avx2 ==
;; without_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x1e
;;     14: callq 0x19
;;     19: movq %rbp, %rsp
;;     1c: popq %rbp
;;     1d: retq
;;     1e: ud2
;; callee:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x20, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x61
;;     14: subq $0x10, %rsp
;;     18: movq %r12, (%rsp)
;;     1c: movq %r14, 8(%rsp)
;;     21: testl %esi, %esi
;;     23: je 0x3d
;;     25: movl %esi, 0x20(%rdi)
;;     28: movq %rsi, %rax
;;     2b: movq (%rsp), %r12
;;     2f: movq 8(%rsp), %r14
;;     34: addq $0x10, %rsp
;;     38: movq %rbp, %rsp
;;     3b: popq %rbp
;;     3c: retq
;;     3d: movq 0x10(%rdi), %r14
;;     41: movq %rdi, %r12
;;     44: movq 0x58(%r14), %rcx
;;     48: xorl %esi, %esi
;;     4a: callq *%rcx
;;     4c: movl $7, 0x10(%rax)
;;     53: movq 0x60(%r14), %rcx
;;     57: movq %rax, %rsi
;;     5a: movq %r12, %rdi
;;     5d: callq *%rcx
;;     5f: ud2
;;     61: ud2
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x50, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0xb3
;;     18: subq $0x40, %rsp
;;     1c: movq %rbx, 0x10(%rsp)
;;     21: movq %r12, 0x18(%rsp)
;;     26: movq %r13, 0x20(%rsp)
;;     2b: movq %r14, 0x28(%rsp)
;;     30: movq %r15, 0x30(%rsp)
;;     35: movq %rdi, (%rsp)
;;     39: callq 0x3e
;;     3e: movq 0x10(%rsp), %rbx
;;     43: movq 0x18(%rsp), %r12
;;     48: movq 0x20(%rsp), %r13
;;     4d: movq 0x28(%rsp), %r14
;;     52: movq 0x30(%rsp), %r15
;;     57: addq $0x40, %rsp
;;     5b: movq %rbp, %rsp
;;     5e: popq %rbp
;;     5f: retq
;;     60: movq (%rsp), %rdi
;;     64: movq %rax, %r12
;;     67: movq 8(%rdi), %rbx
;;     6b: movq 0x18(%rbx), %rax
;;     6f: testq %rax, %rax
;;     72: jne 0x79
;;     74: movq %r12, %rsi
;;     77: jmp 0x8a
;;     79: movq (%rsp), %rdi
;;     7d: movq 0x10(%rdi), %rax
;;     81: movq 0x68(%rax), %rax
;;     85: callq *%rax
;;     87: movq %r12, %rsi
;;     8a: movq (%rsi), %rax
;;     8d: movq (%rsp), %rdi
;;     91: movq 0x30(%rdi), %rcx
;;     95: cmpq %rcx, %rax
;;     98: je 0xaa
;;     9a: movq (%rsp), %rdi
;;     9e: movq 0x10(%rdi), %rax
;;     a2: movq 0x60(%rax), %rax
;;     a6: callq *%rax
;;     a8: ud2
;;     aa: movl 0x10(%rsi), %eax
;;     ad: movq %rsi, 0x18(%rbx)
;;     b1: jmp 0x3e
;;     b3: ud2
