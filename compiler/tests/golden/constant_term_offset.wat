;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; `p[0] + p[1]` as compilers leave it in wasm: the second index is an `i32.add` of 4,
;; which wraps at 2^32. The first access shows `p` below the memory's length, which stays
;; 64 KiB below 2^32 (the default reservation), so `p + 4` cannot wrap and the 4 joins the
;; static offset, folded into the access (`movl 4(%rdi, %r9)`) where it took an `leal`
;; (translate/memory.rs, `split_constant_term`). Before any access at `p`, the sum stays.
(module
  (memory 1)
  (func $next (export "next") (param i32) (result i32)
    (i32.add (i32.load (local.get 0))
      (i32.load (i32.add (local.get 0) (i32.const 4)))))
  (func $first (export "first") (param i32) (result i32)
    (i32.add (i32.load (i32.add (local.get 0) (i32.const 4)))
      (i32.load (local.get 0)))))

;; == x86_64 (baseline: SSE4.2) ==
;; next:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rdi
;;      8: movl %esi, %r9d
;;      b: movl (%rdi, %r9), %r8d
;;      f: movl 4(%rdi, %r9), %edi
;;     14: leal (%r8, %rdi), %eax
;;     18: leave
;;     19: retq
;; first:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r8
;;      8: leal 4(%rsi), %r9d
;;      c: movl (%r8, %r9), %r9d
;;     10: movl %esi, %r10d
;;     13: movl (%r8, %r10), %r8d
;;     17: leal (%r9, %r8), %eax
;;     1b: leave
;;     1c: retq
;; == x86_64 + avx2 ==
;; next:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rdi
;;      8: movl %esi, %r9d
;;      b: movl (%rdi, %r9), %r8d
;;      f: movl 4(%rdi, %r9), %edi
;;     14: leal (%r8, %rdi), %eax
;;     18: leave
;;     19: retq
;; first:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r8
;;      8: leal 4(%rsi), %r9d
;;      c: movl (%r8, %r9), %r9d
;;     10: movl %esi, %r10d
;;     13: movl (%r8, %r10), %r8d
;;     17: leal (%r9, %r8), %eax
;;     1b: leave
;;     1c: retq
