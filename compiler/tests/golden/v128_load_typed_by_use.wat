;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; A `v128.load` used once, by an operator on float or integer lanes, is loaded with that
;; lane type (translate/vector_loads.rs): a float vector loads with `movupd` rather than
;; `movdqu`, and with AVX the load folds into the instruction using it (`vmulpd (mem)`,
;; `vpaddd (mem)`); a load used twice stays one load. (The results are stored: a result
;; returned is computed in the exit block, where no load of the entry block folds.)
(module
  (memory 1)
  (func $f64x2_mul (export "f64x2_mul") (param i32 v128)
    (v128.store offset=32 (local.get 0)
      (f64x2.mul (local.get 1) (v128.load (local.get 0)))))
  (func $i32x4_add (export "i32x4_add") (param i32 v128)
    (v128.store offset=32 (local.get 0)
      (i32x4.add (local.get 1) (v128.load offset=16 (local.get 0)))))
  (func $used_twice (export "used_twice") (param i32)
    (local v128)
    (local.set 1 (v128.load (local.get 0)))
    (v128.store offset=32 (local.get 0)
      (f32x4.add (local.get 1) (i32x4.add (local.get 1) (local.get 1))))))

;; == x86_64 (baseline: SSE4.2) ==
;; f64x2_mul:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rdi
;;      8: movl %esi, %r8d
;;      b: movdqu (%rdi, %r8), %xmm6
;;     11: mulpd %xmm6, %xmm0
;;     15: movdqu %xmm0, 0x20(%rdi, %r8)
;;     1c: leave
;;     1d: retq
;; i32x4_add:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r8
;;      8: movl %esi, %r9d
;;      b: leaq (%r8, %r9), %r10
;;      f: movdqu 0x10(%r10), %xmm7
;;     15: paddd %xmm7, %xmm0
;;     19: movdqu %xmm0, 0x20(%r8, %r9)
;;     20: leave
;;     21: retq
;; used_twice:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rdi
;;      8: movl %esi, %r8d
;;      b: movdqu (%rdi, %r8), %xmm5
;;     11: movdqa %xmm5, %xmm7
;;     15: paddd %xmm5, %xmm7
;;     19: addps %xmm7, %xmm5
;;     1c: movdqu %xmm5, 0x20(%rdi, %r8)
;;     23: leave
;;     24: retq
;; == x86_64 + avx2 ==
;; f64x2_mul:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %r8
;;      8: movl %esi, %edi
;;      a: vmulpd (%r8, %rdi), %xmm0, %xmm6
;;     10: vmovdqu %xmm6, 0x20(%r8, %rdi)
;;     17: leave
;;     18: retq
;; i32x4_add:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rdi
;;      8: movl %esi, %r8d
;;      b: leaq (%rdi, %r8), %r9
;;      f: vpaddd 0x10(%r9), %xmm0, %xmm7
;;     15: vmovdqu %xmm7, 0x20(%rdi, %r8)
;;     1c: leave
;;     1d: retq
;; used_twice:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 0x20(%rdi), %rdi
;;      8: movl %esi, %r8d
;;      b: vmovdqu (%rdi, %r8), %xmm7
;;     11: vpaddd %xmm7, %xmm7, %xmm0
;;     15: vaddps %xmm0, %xmm7, %xmm7
;;     19: vmovdqu %xmm7, 0x20(%rdi, %r8)
;;     20: leave
;;     21: retq
