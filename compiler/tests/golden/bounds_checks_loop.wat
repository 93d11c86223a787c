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
;;     15: ja 0x28
;;     17: addl $1, (%r11, %rcx)
;;     1c: subl $1, %edx
;;     1f: addl $4, %esi
;;     22: testl %edx, %edx
;;     24: jne 0xc
;;     26: leave
;;     27: retq
;;     28: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x6c
;;     14: pushq %rbx
;;     15: pushq %r12
;;     17: pushq %r13
;;     19: pushq %r14
;;     1b: pushq %r15
;;     1d: subq $8, %rsp
;;     21: movq %rdx, %r15
;;     24: movq 0x38(%rdi), %r12
;;     28: movq 0x48(%rdi), %r13
;;     2c: movl %esi, %r14d
;;     2f: movq %rdi, %rbx
;;     32: movq %rbx, %rsi
;;     35: movq %r13, %rdi
;;     38: callq *%r12
;;     3b: leaq 4(%r14), %rax
;;     3f: cmpq 0x28(%rbx), %rax
;;     43: ja 0x6e
;;     45: movq 0x20(%rbx), %rax
;;     49: addl $1, (%rax, %r14)
;;     4e: movq %r15, %rdx
;;     51: subl $1, %edx
;;     54: testl %edx, %edx
;;     56: je 0x5d
;;     58: movq %rdx, %r15
;;     5b: jmp 0x32
;;     5d: leaq -0x28(%rbp), %rsp
;;     61: popq %r15
;;     63: popq %r14
;;     65: popq %r13
;;     67: popq %r12
;;     69: popq %rbx
;;     6a: leave
;;     6b: retq
;;     6c: ud2
;;     6e: ud2
;; == x86_64 + avx2 ==
;; add_one:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r11
;;      8: movq 0x28(%rdi), %rax
;;      c: movl %esi, %ecx
;;      e: leaq 4(%rcx), %rdi
;;     12: cmpq %rax, %rdi
;;     15: ja 0x28
;;     17: addl $1, (%r11, %rcx)
;;     1c: subl $1, %edx
;;     1f: addl $4, %esi
;;     22: testl %edx, %edx
;;     24: jne 0xc
;;     26: leave
;;     27: retq
;;     28: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x6c
;;     14: pushq %rbx
;;     15: pushq %r12
;;     17: pushq %r13
;;     19: pushq %r14
;;     1b: pushq %r15
;;     1d: subq $8, %rsp
;;     21: movq %rdx, %r15
;;     24: movq 0x38(%rdi), %r12
;;     28: movq 0x48(%rdi), %r13
;;     2c: movl %esi, %r14d
;;     2f: movq %rdi, %rbx
;;     32: movq %rbx, %rsi
;;     35: movq %r13, %rdi
;;     38: callq *%r12
;;     3b: leaq 4(%r14), %rax
;;     3f: cmpq 0x28(%rbx), %rax
;;     43: ja 0x6e
;;     45: movq 0x20(%rbx), %rax
;;     49: addl $1, (%rax, %r14)
;;     4e: movq %r15, %rdx
;;     51: subl $1, %edx
;;     54: testl %edx, %edx
;;     56: je 0x5d
;;     58: movq %rdx, %r15
;;     5b: jmp 0x32
;;     5d: leaq -0x28(%rbp), %rsp
;;     61: popq %r15
;;     63: popq %r14
;;     65: popq %r13
;;     67: popq %r12
;;     69: popq %rbx
;;     6a: leave
;;     6b: retq
;;     6c: ud2
;;     6e: ud2
