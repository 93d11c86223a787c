;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; A counted loop as LLVM emits it: the counter is incremented, kept in its local with
;; `local.tee`, and the new value compared with the bound. The compare stays on the new
;; counter (`translate/numeric.rs`, `keep_counter`): the loop ends in `addl; cmpl; jne` back
;; to its top, with no move of the counter between two registers and no extra jump. Without
;; it, Cranelift compares the old counter with the bound minus the step, and the old and the
;; new counter are both alive at the branch.
(module
  (memory 1)
  (func $sum (export "sum") (param $p i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (i32.add (local.get $p) (local.get $i)))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 4096))))
    (local.get $s)))

;; == x86_64 (baseline: SSE4.2) ==
;; sum:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: xorl %eax, %eax
;;      6: movq 0x20(%rdi), %r11
;;      a: movq %rax, %r8
;;      d: leal (%rsi, %r8), %ecx
;;     11: movl (%r11, %rcx), %ecx
;;     15: addl $4, %r8d
;;     19: addl %ecx, %eax
;;     1b: cmpl $0x1000, %r8d
;;     22: jne 0xd
;;     24: leave
;;     25: retq
;; == x86_64 + avx2 ==
;; sum:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: xorl %eax, %eax
;;      6: movq 0x20(%rdi), %r11
;;      a: movq %rax, %r8
;;      d: leal (%rsi, %r8), %ecx
;;     11: movl (%r11, %rcx), %ecx
;;     15: addl $4, %r8d
;;     19: addl %ecx, %eax
;;     1b: cmpl $0x1000, %r8d
;;     22: jne 0xd
;;     24: leave
;;     25: retq
