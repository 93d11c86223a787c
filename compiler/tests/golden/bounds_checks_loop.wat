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
;;     15: ja 0x2b
;;     17: addl $1, (%r11, %rcx)
;;     1c: subl $1, %edx
;;     1f: addl $4, %esi
;;     25: testl %edx, %edx
;;     27: jne 0xc
;;     29: leave
;;     2a: retq
;;     2b: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x86
;;     14: subq $0x30, %rsp
;;     18: movq %rbx, (%rsp)
;;     1c: movq %r12, 8(%rsp)
;;     21: movq %r13, 0x10(%rsp)
;;     26: movq %r14, 0x18(%rsp)
;;     2b: movq %r15, 0x20(%rsp)
;;     30: movq %rdx, %r15
;;     33: movq 0x38(%rdi), %r12
;;     37: movq 0x48(%rdi), %r13
;;     3b: movl %esi, %r14d
;;     3e: movq %rdi, %rbx
;;     41: movq %rbx, %rsi
;;     44: movq %r13, %rdi
;;     47: callq *%r12
;;     4a: leaq 4(%r14), %rax
;;     4e: cmpq 0x28(%rbx), %rax
;;     52: ja 0x88
;;     54: movq 0x20(%rbx), %rax
;;     58: addl $1, (%rax, %r14)
;;     5d: movq %r15, %rdx
;;     60: subl $1, %edx
;;     63: testl %edx, %edx
;;     65: je 0x6c
;;     67: movq %rdx, %r15
;;     6a: jmp 0x41
;;     6c: movq (%rsp), %rbx
;;     70: movq 8(%rsp), %r12
;;     75: movq 0x10(%rsp), %r13
;;     7a: movq 0x18(%rsp), %r14
;;     7f: movq 0x20(%rsp), %r15
;;     84: leave
;;     85: retq
;;     86: ud2
;;     88: ud2
;; == x86_64 + avx2 ==
;; add_one:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r11
;;      8: movq 0x28(%rdi), %rax
;;      c: movl %esi, %ecx
;;      e: leaq 4(%rcx), %rdi
;;     12: cmpq %rax, %rdi
;;     15: ja 0x2b
;;     17: addl $1, (%r11, %rcx)
;;     1c: subl $1, %edx
;;     1f: addl $4, %esi
;;     25: testl %edx, %edx
;;     27: jne 0xc
;;     29: leave
;;     2a: retq
;;     2b: ud2
;; with_call:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x40, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x86
;;     14: subq $0x30, %rsp
;;     18: movq %rbx, (%rsp)
;;     1c: movq %r12, 8(%rsp)
;;     21: movq %r13, 0x10(%rsp)
;;     26: movq %r14, 0x18(%rsp)
;;     2b: movq %r15, 0x20(%rsp)
;;     30: movq %rdx, %r15
;;     33: movq 0x38(%rdi), %r12
;;     37: movq 0x48(%rdi), %r13
;;     3b: movl %esi, %r14d
;;     3e: movq %rdi, %rbx
;;     41: movq %rbx, %rsi
;;     44: movq %r13, %rdi
;;     47: callq *%r12
;;     4a: leaq 4(%r14), %rax
;;     4e: cmpq 0x28(%rbx), %rax
;;     52: ja 0x88
;;     54: movq 0x20(%rbx), %rax
;;     58: addl $1, (%rax, %r14)
;;     5d: movq %r15, %rdx
;;     60: subl $1, %edx
;;     63: testl %edx, %edx
;;     65: je 0x6c
;;     67: movq %rdx, %r15
;;     6a: jmp 0x41
;;     6c: movq (%rsp), %rbx
;;     70: movq 8(%rsp), %r12
;;     75: movq 0x10(%rsp), %r13
;;     7a: movq 0x18(%rsp), %r14
;;     7f: movq 0x20(%rsp), %r15
;;     84: leave
;;     85: retq
;;     86: ud2
;;     88: ud2
