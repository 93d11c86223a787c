;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;;! bounds_checks = "true"
;; Explicit bounds checks (`--bounds-checks`: no reservation, memories move when they grow):
;; the memory's base and length are loaded once in front of the loop, which makes no call,
;; and stay in registers; each access in the loop is checked with a compare against the
;; length and a branch to the trap, and the store does not make the loop reload them (the
;; memory definitions are an alias region apart from the heap). The call in `with_call`
;; may grow the memory: nothing is loaded in front of that loop, and base and length are
;; loaded after the call.
(module
  (import "env" "f" (func $f))
  (memory 1)
  (func $add_one (export "add_one") (param $p i32) (param $n i32)
    (loop $l
      (i32.store (local.get $p) (i32.add (i32.load (local.get $p)) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func $with_call (export "with_call") (param $p i32) (param $n i32)
    (loop $l
      (call $f)
      (i32.store (local.get $p) (i32.add (i32.load (local.get $p)) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))

;; == x86_64 (baseline: SSE4.2) ==
;; add_one:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x88(%rdi), %r11
;;      b: movq 0x90(%rdi), %rax
;;     12: movl %edx, %esi
;;     14: leaq 4(%rsi), %rdi
;;     18: cmpq %rax, %rdi
;;     1b: ja 0x3c
;;     21: addl $1, (%r11, %rsi)
;;     26: subl $1, %ecx
;;     29: addl $4, %edx
;;     2f: testl %ecx, %ecx
;;     31: jne 0x12
;;     37: movq %rbp, %rsp
;;     3a: popq %rbp
;;     3b: retq
;;     3c: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0xa2
;;     18: subq $0x30, %rsp
;;     1c: movq %rbx, (%rsp)
;;     20: movq %r12, 8(%rsp)
;;     25: movq %r13, 0x10(%rsp)
;;     2a: movq %r14, 0x18(%rsp)
;;     2f: movq %r15, 0x20(%rsp)
;;     34: movq %rcx, %r15
;;     37: movq 0x28(%rdi), %r12
;;     3b: movq 0x38(%rdi), %r13
;;     3f: movl %edx, %r14d
;;     42: movq %rdi, %rbx
;;     45: movq %rbx, %rsi
;;     48: movq %r13, %rdi
;;     4b: callq *%r12
;;     4e: leaq 4(%r14), %rax
;;     52: cmpq 0x90(%rbx), %rax
;;     59: ja 0xa4
;;     5f: movq 0x88(%rbx), %rax
;;     66: addl $1, (%rax, %r14)
;;     6b: movq %r15, %rcx
;;     6e: subl $1, %ecx
;;     71: testl %ecx, %ecx
;;     73: je 0x81
;;     79: movq %rcx, %r15
;;     7c: jmp 0x45
;;     81: movq (%rsp), %rbx
;;     85: movq 8(%rsp), %r12
;;     8a: movq 0x10(%rsp), %r13
;;     8f: movq 0x18(%rsp), %r14
;;     94: movq 0x20(%rsp), %r15
;;     99: addq $0x30, %rsp
;;     9d: movq %rbp, %rsp
;;     a0: popq %rbp
;;     a1: retq
;;     a2: ud2
;;     a4: ud2
;; == x86_64 + avx2 ==
;; add_one:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x88(%rdi), %r11
;;      b: movq 0x90(%rdi), %rax
;;     12: movl %edx, %esi
;;     14: leaq 4(%rsi), %rdi
;;     18: cmpq %rax, %rdi
;;     1b: ja 0x3c
;;     21: addl $1, (%r11, %rsi)
;;     26: subl $1, %ecx
;;     29: addl $4, %edx
;;     2f: testl %ecx, %ecx
;;     31: jne 0x12
;;     37: movq %rbp, %rsp
;;     3a: popq %rbp
;;     3b: retq
;;     3c: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0xa2
;;     18: subq $0x30, %rsp
;;     1c: movq %rbx, (%rsp)
;;     20: movq %r12, 8(%rsp)
;;     25: movq %r13, 0x10(%rsp)
;;     2a: movq %r14, 0x18(%rsp)
;;     2f: movq %r15, 0x20(%rsp)
;;     34: movq %rcx, %r15
;;     37: movq 0x28(%rdi), %r12
;;     3b: movq 0x38(%rdi), %r13
;;     3f: movl %edx, %r14d
;;     42: movq %rdi, %rbx
;;     45: movq %rbx, %rsi
;;     48: movq %r13, %rdi
;;     4b: callq *%r12
;;     4e: leaq 4(%r14), %rax
;;     52: cmpq 0x90(%rbx), %rax
;;     59: ja 0xa4
;;     5f: movq 0x88(%rbx), %rax
;;     66: addl $1, (%rax, %r14)
;;     6b: movq %r15, %rcx
;;     6e: subl $1, %ecx
;;     71: testl %ecx, %ecx
;;     73: je 0x81
;;     79: movq %rcx, %r15
;;     7c: jmp 0x45
;;     81: movq (%rsp), %rbx
;;     85: movq 8(%rsp), %r12
;;     8a: movq 0x10(%rsp), %r13
;;     8f: movq 0x18(%rsp), %r14
;;     94: movq 0x20(%rsp), %r15
;;     99: addq $0x30, %rsp
;;     9d: movq %rbp, %rsp
;;     a0: popq %rbp
;;     a1: retq
;;     a2: ud2
;;     a4: ud2
