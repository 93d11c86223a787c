;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; An immutable global defined with a constant is that constant: `global.get` of it is
;; folded (the `addl $0x10000`), while the mutable one and the imported one are loads
;; from `vmctx`.
(module
  (import "env" "base" (global $imported i32))
  (global $stack (mut i32) (i32.const 1024))
  (global $heap i32 (i32.const 65536))
  (func $f (export "f") (param i32) (result i32)
    (i32.add
      (i32.add (local.get 0) (global.get $heap))
      (i32.add (global.get $stack) (global.get $imported)))))

;; == x86_64 (baseline: SSE4.2) ==
;; f:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movl 0x20(%rdi), %r8d
;;      8: movq 0x40(%rdi), %rdi
;;      c: addl (%rdi), %r8d
;;      f: leal 0x10000(%rsi, %r8), %eax
;;     17: leave
;;     18: retq
;; == x86_64 + avx2 ==
;; f:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movl 0x20(%rdi), %r8d
;;      8: movq 0x40(%rdi), %rdi
;;      c: addl (%rdi), %r8d
;;      f: leal 0x10000(%rsi, %r8), %eax
;;     17: leave
;;     18: retq
