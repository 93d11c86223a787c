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
;;     12: ja 0x5a
;;     14: subq $0x10, %rsp
;;     18: movq %r12, (%rsp)
;;     1c: movq %r14, 8(%rsp)
;;     21: testl %esi, %esi
;;     23: je 0x36
;;     25: movl %esi, 0x20(%rdi)
;;     28: movq %rsi, %rax
;;     2b: movq (%rsp), %r12
;;     2f: movq 8(%rsp), %r14
;;     34: leave
;;     35: retq
;;     36: movq 0x10(%rdi), %r14
;;     3a: movq %rdi, %r12
;;     3d: movq 0x58(%r14), %rcx
;;     41: xorl %esi, %esi
;;     43: callq *%rcx
;;     45: movl $7, 0x10(%rax)
;;     4c: movq 0x60(%r14), %rcx
;;     50: movq %rax, %rsi
;;     53: movq %r12, %rdi
;;     56: callq *%rcx
;;     58: ud2
;;     5a: ud2
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x50, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0xac
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
;;     57: leave
;;     58: retq
;;     59: movq (%rsp), %rdi
;;     5d: movq %rax, %r12
;;     60: movq 8(%rdi), %rbx
;;     64: movq 0x18(%rbx), %rax
;;     68: testq %rax, %rax
;;     6b: jne 0x72
;;     6d: movq %r12, %rsi
;;     70: jmp 0x83
;;     72: movq (%rsp), %rdi
;;     76: movq 0x10(%rdi), %rax
;;     7a: movq 0x68(%rax), %rax
;;     7e: callq *%rax
;;     80: movq %r12, %rsi
;;     83: movq (%rsi), %rax
;;     86: movq (%rsp), %rdi
;;     8a: movq 0x30(%rdi), %rcx
;;     8e: cmpq %rcx, %rax
;;     91: je 0xa3
;;     93: movq (%rsp), %rdi
;;     97: movq 0x10(%rdi), %rax
;;     9b: movq 0x60(%rax), %rax
;;     9f: callq *%rax
;;     a1: ud2
;;     a3: movl 0x10(%rsi), %eax
;;     a6: movq %rsi, 0x18(%rbx)
;;     aa: jmp 0x3e
;;     ac: ud2
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
;;     12: ja 0x5a
;;     14: subq $0x10, %rsp
;;     18: movq %r12, (%rsp)
;;     1c: movq %r14, 8(%rsp)
;;     21: testl %esi, %esi
;;     23: je 0x36
;;     25: movl %esi, 0x20(%rdi)
;;     28: movq %rsi, %rax
;;     2b: movq (%rsp), %r12
;;     2f: movq 8(%rsp), %r14
;;     34: leave
;;     35: retq
;;     36: movq 0x10(%rdi), %r14
;;     3a: movq %rdi, %r12
;;     3d: movq 0x58(%r14), %rcx
;;     41: xorl %esi, %esi
;;     43: callq *%rcx
;;     45: movl $7, 0x10(%rax)
;;     4c: movq 0x60(%r14), %rcx
;;     50: movq %rax, %rsi
;;     53: movq %r12, %rdi
;;     56: callq *%rcx
;;     58: ud2
;;     5a: ud2
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x50, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0xac
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
;;     57: leave
;;     58: retq
;;     59: movq (%rsp), %rdi
;;     5d: movq %rax, %r12
;;     60: movq 8(%rdi), %rbx
;;     64: movq 0x18(%rbx), %rax
;;     68: testq %rax, %rax
;;     6b: jne 0x72
;;     6d: movq %r12, %rsi
;;     70: jmp 0x83
;;     72: movq (%rsp), %rdi
;;     76: movq 0x10(%rdi), %rax
;;     7a: movq 0x68(%rax), %rax
;;     7e: callq *%rax
;;     80: movq %r12, %rsi
;;     83: movq (%rsi), %rax
;;     86: movq (%rsp), %rdi
;;     8a: movq 0x30(%rdi), %rcx
;;     8e: cmpq %rcx, %rax
;;     91: je 0xa3
;;     93: movq (%rsp), %rdi
;;     97: movq 0x10(%rdi), %rax
;;     9b: movq 0x60(%rax), %rax
;;     9f: callq *%rax
;;     a1: ud2
;;     a3: movl 0x10(%rsi), %eax
;;     a6: movq %rsi, 0x18(%rbx)
;;     aa: jmp 0x3e
;;     ac: ud2
