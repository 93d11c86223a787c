;;! target = "x86_64"
;;! test = "compile"
;; Branch hints (`metadata.code.branch_hint`) make the unlikely successor a cold block,
;; placed after the rest of the function. In `hinted_if` the `then` arm (hinted not taken:
;; a call on a rare path) moves behind the `ret`, and the likely path runs straight
;; through; `unhinted_if`, the same function without the hint, jumps over the arm on the
;; likely path. In `hinted_br_if` the `br_if` is hinted taken: the code after it (the same
;; rare call) moves to the end, against `unhinted_br_if`.
(module
  (import "env" "report" (func $report (param i32)))
  (func $hinted_if (export "hinted_if") (param i32) (result i32)
    (@metadata.code.branch_hint "\00")
    (if (i32.lt_s (local.get 0) (i32.const 0))
      (then (call $report (local.get 0)) (local.set 0 (i32.const 0))))
    (i32.mul (local.get 0) (i32.const 3)))
  (func $unhinted_if (export "unhinted_if") (param i32) (result i32)
    (if (i32.lt_s (local.get 0) (i32.const 0))
      (then (call $report (local.get 0)) (local.set 0 (i32.const 0))))
    (i32.mul (local.get 0) (i32.const 3)))
  (func $hinted_br_if (export "hinted_br_if") (param i32) (result i32)
    (block $done
      (@metadata.code.branch_hint "\01")
      (br_if $done (i32.ge_s (local.get 0) (i32.const 0)))
      (call $report (local.get 0))
      (local.set 0 (i32.const 0)))
    (i32.mul (local.get 0) (i32.const 3)))
  (func $unhinted_br_if (export "unhinted_br_if") (param i32) (result i32)
    (block $done
      (br_if $done (i32.ge_s (local.get 0) (i32.const 0)))
      (call $report (local.get 0))
      (local.set 0 (i32.const 0)))
    (i32.mul (local.get 0) (i32.const 3))))

;; == x86_64 (baseline: SSE4.2) ==
;; hinted_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x32
;;     14: testl %esi, %esi
;;     16: jl 0x1d
;;     18: imull $3, %esi, %eax
;;     1b: leave
;;     1c: retq
;;     1d: movq 0x28(%rdi), %r11
;;     21: movq %rdi, %rax
;;     24: movq 0x38(%rax), %rdi
;;     28: movq %rax, %rdx
;;     2b: callq *%r11
;;     2e: xorl %esi, %esi
;;     30: jmp 0x18
;;     32: ud2
;; unhinted_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x30
;;     14: testl %esi, %esi
;;     16: jge 0x2b
;;     18: movq 0x28(%rdi), %r11
;;     1c: movq %rdi, %rax
;;     1f: movq 0x38(%rax), %rdi
;;     23: movq %rax, %rdx
;;     26: callq *%r11
;;     29: xorl %esi, %esi
;;     2b: imull $3, %esi, %eax
;;     2e: leave
;;     2f: retq
;;     30: ud2
;; hinted_br_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x32
;;     14: testl %esi, %esi
;;     16: jl 0x1d
;;     18: imull $3, %esi, %eax
;;     1b: leave
;;     1c: retq
;;     1d: movq 0x28(%rdi), %r11
;;     21: movq %rdi, %rax
;;     24: movq 0x38(%rax), %rdi
;;     28: movq %rax, %rdx
;;     2b: callq *%r11
;;     2e: xorl %esi, %esi
;;     30: jmp 0x18
;;     32: ud2
;; unhinted_br_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x30
;;     14: testl %esi, %esi
;;     16: jge 0x2b
;;     18: movq 0x28(%rdi), %r11
;;     1c: movq %rdi, %rax
;;     1f: movq 0x38(%rax), %rdi
;;     23: movq %rax, %rdx
;;     26: callq *%r11
;;     29: xorl %esi, %esi
;;     2b: imull $3, %esi, %eax
;;     2e: leave
;;     2f: retq
;;     30: ud2
;; == x86_64 + avx2 ==
;; hinted_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x32
;;     14: testl %esi, %esi
;;     16: jl 0x1d
;;     18: imull $3, %esi, %eax
;;     1b: leave
;;     1c: retq
;;     1d: movq 0x28(%rdi), %r11
;;     21: movq %rdi, %rax
;;     24: movq 0x38(%rax), %rdi
;;     28: movq %rax, %rdx
;;     2b: callq *%r11
;;     2e: xorl %esi, %esi
;;     30: jmp 0x18
;;     32: ud2
;; unhinted_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x30
;;     14: testl %esi, %esi
;;     16: jge 0x2b
;;     18: movq 0x28(%rdi), %r11
;;     1c: movq %rdi, %rax
;;     1f: movq 0x38(%rax), %rdi
;;     23: movq %rax, %rdx
;;     26: callq *%r11
;;     29: xorl %esi, %esi
;;     2b: imull $3, %esi, %eax
;;     2e: leave
;;     2f: retq
;;     30: ud2
;; hinted_br_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x32
;;     14: testl %esi, %esi
;;     16: jl 0x1d
;;     18: imull $3, %esi, %eax
;;     1b: leave
;;     1c: retq
;;     1d: movq 0x28(%rdi), %r11
;;     21: movq %rdi, %rax
;;     24: movq 0x38(%rax), %rdi
;;     28: movq %rax, %rdx
;;     2b: callq *%r11
;;     2e: xorl %esi, %esi
;;     30: jmp 0x18
;;     32: ud2
;; unhinted_br_if:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x30
;;     14: testl %esi, %esi
;;     16: jge 0x2b
;;     18: movq 0x28(%rdi), %r11
;;     1c: movq %rdi, %rax
;;     1f: movq 0x38(%rax), %rdi
;;     23: movq %rax, %rdx
;;     26: callq *%r11
;;     29: xorl %esi, %esi
;;     2b: imull $3, %esi, %eax
;;     2e: leave
;;     2f: retq
;;     30: ud2
