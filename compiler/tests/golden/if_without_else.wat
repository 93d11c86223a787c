;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; A loop with an `if` without `else`: the whole loop is six instructions, with no jump
;; through an empty else arm; and a global is updated in place at its `vmctx` offset.
(module
  (global $calls (mut i32) (i32.const 0))
  (func $count_even (export "count_even") (param i32) (result i32) (local i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (loop $next
      (if (i32.eqz (i32.and (local.get 0) (i32.const 1)))
        (then (local.set 1 (i32.add (local.get 1) (i32.const 1)))))
      (br_if $next (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1)))

;; == x86_64 (baseline: SSE4.2) ==
;; count_even:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: addl $1, 0x20(%rdi)
;;      8: xorl %eax, %eax
;;      a: testl $1, %esi
;;     10: jne 0x15
;;     12: addl $1, %eax
;;     15: subl $1, %esi
;;     18: testl %esi, %esi
;;     1a: jne 0xa
;;     1c: leave
;;     1d: retq
;; == x86_64 + avx2 ==
;; count_even:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: addl $1, 0x20(%rdi)
;;      8: xorl %eax, %eax
;;      a: testl $1, %esi
;;     10: jne 0x15
;;     12: addl $1, %eax
;;     15: subl $1, %esi
;;     18: testl %esi, %esi
;;     1a: jne 0xa
;;     1c: leave
;;     1d: retq
