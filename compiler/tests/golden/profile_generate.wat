;;! target = "x86_64"
;;! test = "compile"
;;! profile_generate = "true"
;;! inline = "true"
;; `--profile-generate`: every defined function increments its own 64-bit counter on
;; entry: the counters' address from the GOT (the displacement is the relocation's, 0
;; before linking), plus the counter's offset, then one `addq $1` to memory. `$leaf` is
;; function 0 (offset 0), `$caller` function 1 (offset 8): with inlining, the copy of
;; `$leaf` in `$caller` increments `$leaf`'s counter too, so counts stay exact.
(module
  (func $leaf (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 3)))
  (func $caller (export "caller") (param i32) (result i32)
    (call $leaf (local.get 0))))

;; == x86_64 (baseline: SSE4.2) ==
;; caller:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq (%rip), %rdi
;;      b: addq $8, %rdi
;;      f: addq $1, (%rdi)
;;     13: movq (%rip), %rdi
;;     1a: addq $1, (%rdi)
;;     1e: imull $3, %esi, %eax
;;     21: leave
;;     22: retq
;; leaf:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq (%rip), %rdi
;;      b: addq $1, (%rdi)
;;      f: imull $3, %esi, %eax
;;     12: leave
;;     13: retq
;; == x86_64 + avx2 ==
;; caller:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq (%rip), %rdi
;;      b: addq $8, %rdi
;;      f: addq $1, (%rdi)
;;     13: movq (%rip), %rdi
;;     1a: addq $1, (%rdi)
;;     1e: imull $3, %esi, %eax
;;     21: leave
;;     22: retq
;; leaf:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq (%rip), %rdi
;;      b: addq $1, (%rdi)
;;      f: imull $3, %esi, %eax
;;     12: leave
;;     13: retq
