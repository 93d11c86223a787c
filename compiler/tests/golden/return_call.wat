;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; return_call is a jump: the frame is torn down (`popq %rbp`) and a `jmp` goes to the
;; callee (its relocation unapplied here, so it shows as a jump to the next instruction);
;; no `call`, so a chain of tail calls runs in constant stack.
(module
  (func $count_down (export "count_down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 7))
      (else (return_call $count_down (i32.sub (local.get 0) (i32.const 1)))))))

;; == x86_64 (baseline: SSE4.2) ==
;; count_down:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x28
;;     14: testl %esi, %esi
;;     16: je 0x21
;;     18: subl $1, %esi
;;     1b: leave
;;     1c: jmp 0x21
;;     21: movl $7, %eax
;;     26: leave
;;     27: retq
;;     28: ud2
;; == x86_64 + avx2 ==
;; count_down:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x28
;;     14: testl %esi, %esi
;;     16: je 0x21
;;     18: subl $1, %esi
;;     1b: leave
;;     1c: jmp 0x21
;;     21: movl $7, %eax
;;     26: leave
;;     27: retq
;;     28: ud2
