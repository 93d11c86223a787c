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
;;      4: movq 0x20(%rdi), %r11
;;      8: movq 0x28(%rdi), %rax
;;      c: movl %esi, %ecx
;;      e: leaq 4(%rcx), %rdi
;;     12: cmpq %rax, %rdi
;;     15: ja 0x36
;;     1b: addl $1, (%r11, %rcx)
;;     20: subl $1, %edx
;;     23: addl $4, %esi
;;     29: testl %edx, %edx
;;     2b: jne 0xc
;;     31: movq %rbp, %rsp
;;     34: popq %rbp
;;     35: retq
;;     36: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x9c
;;     18: subq $0x30, %rsp
;;     1c: movq %rbx, (%rsp)
;;     20: movq %r12, 8(%rsp)
;;     25: movq %r13, 0x10(%rsp)
;;     2a: movq %r14, 0x18(%rsp)
;;     2f: movq %r15, 0x20(%rsp)
;;     34: movq %rdx, %r15
;;     37: movq 0x38(%rdi), %r12
;;     3b: movq 0x48(%rdi), %r13
;;     3f: movl %esi, %r14d
;;     42: movq %rdi, %rbx
;;     45: movq %rbx, %rsi
;;     48: movq %r13, %rdi
;;     4b: callq *%r12
;;     4e: leaq 4(%r14), %rax
;;     52: cmpq 0x28(%rbx), %rax
;;     56: ja 0x9e
;;     5c: movq 0x20(%rbx), %rax
;;     60: addl $1, (%rax, %r14)
;;     65: movq %r15, %rdx
;;     68: subl $1, %edx
;;     6b: testl %edx, %edx
;;     6d: je 0x7b
;;     73: movq %rdx, %r15
;;     76: jmp 0x45
;;     7b: movq (%rsp), %rbx
;;     7f: movq 8(%rsp), %r12
;;     84: movq 0x10(%rsp), %r13
;;     89: movq 0x18(%rsp), %r14
;;     8e: movq 0x20(%rsp), %r15
;;     93: addq $0x30, %rsp
;;     97: movq %rbp, %rsp
;;     9a: popq %rbp
;;     9b: retq
;;     9c: ud2
;;     9e: ud2
;; == x86_64 + avx2 ==
;; add_one:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r11
;;      8: movq 0x28(%rdi), %rax
;;      c: movl %esi, %ecx
;;      e: leaq 4(%rcx), %rdi
;;     12: cmpq %rax, %rdi
;;     15: ja 0x36
;;     1b: addl $1, (%r11, %rcx)
;;     20: subl $1, %edx
;;     23: addl $4, %esi
;;     29: testl %edx, %edx
;;     2b: jne 0xc
;;     31: movq %rbp, %rsp
;;     34: popq %rbp
;;     35: retq
;;     36: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x9c
;;     18: subq $0x30, %rsp
;;     1c: movq %rbx, (%rsp)
;;     20: movq %r12, 8(%rsp)
;;     25: movq %r13, 0x10(%rsp)
;;     2a: movq %r14, 0x18(%rsp)
;;     2f: movq %r15, 0x20(%rsp)
;;     34: movq %rdx, %r15
;;     37: movq 0x38(%rdi), %r12
;;     3b: movq 0x48(%rdi), %r13
;;     3f: movl %esi, %r14d
;;     42: movq %rdi, %rbx
;;     45: movq %rbx, %rsi
;;     48: movq %r13, %rdi
;;     4b: callq *%r12
;;     4e: leaq 4(%r14), %rax
;;     52: cmpq 0x28(%rbx), %rax
;;     56: ja 0x9e
;;     5c: movq 0x20(%rbx), %rax
;;     60: addl $1, (%rax, %r14)
;;     65: movq %r15, %rdx
;;     68: subl $1, %edx
;;     6b: testl %edx, %edx
;;     6d: je 0x7b
;;     73: movq %rdx, %r15
;;     76: jmp 0x45
;;     7b: movq (%rsp), %rbx
;;     7f: movq 8(%rsp), %r12
;;     84: movq 0x10(%rsp), %r13
;;     89: movq 0x18(%rsp), %r14
;;     8e: movq 0x20(%rsp), %r15
;;     93: addq $0x30, %rsp
;;     97: movq %rbp, %rsp
;;     9a: popq %rbp
;;     9b: retq
;;     9c: ud2
;;     9e: ud2
