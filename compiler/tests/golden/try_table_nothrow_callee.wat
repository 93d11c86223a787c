;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; A call that a `try_table` covers, to a function that can never throw (`throws.rs`), is
;; a plain `call` (compare `try_table_no_throw.wat`, whose callee throws): the argument
;; live across it stays in a callee-saved register (`r12`) rather than a stack slot, the
;; prologue saves only that register, and, as nothing else in the body can throw, the
;; handler (tag test, payload load, rethrow) is not emitted at all.
(module
  (tag $oops (param i32))
  (global $g (mut i32) (i32.const 0))
  (func $callee (param i32) (result i32)
    (global.set $g (local.get 0))
    (i32.add (local.get 0) (i32.const 1)))
  (func $with_handler (export "with_handler") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $oops $caught)
        (i32.add (local.get 0) (call $callee (local.get 0)))))))

;; == x86_64 (baseline: SSE4.2) ==
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x20, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x2d
;;     14: pushq %r12
;;     16: subq $8, %rsp
;;     1a: movq %rsi, %r12
;;     1d: callq 0x22
;;     22: addl %r12d, %eax
;;     25: leaq -8(%rbp), %rsp
;;     29: popq %r12
;;     2b: leave
;;     2c: retq
;;     2d: ud2
;; callee:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movl %esi, 0x20(%rdi)
;;      7: leal 1(%rsi), %eax
;;      a: leave
;;      b: retq
;; == x86_64 + avx2 ==
;; with_handler:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x20, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x2d
;;     14: pushq %r12
;;     16: subq $8, %rsp
;;     1a: movq %rsi, %r12
;;     1d: callq 0x22
;;     22: addl %r12d, %eax
;;     25: leaq -8(%rbp), %rsp
;;     29: popq %r12
;;     2b: leave
;;     2c: retq
;;     2d: ud2
;; callee:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movl %esi, 0x20(%rdi)
;;      7: leal 1(%rsi), %eax
;;      a: leave
;;      b: retq
