;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;;! fixed_memory_address = "true"
;; With the first memory at a fixed address (`kiln build`'s executables), an access with a
;; computed index adds the address as a displacement: no register holds the memory's base
;; and nothing loads it from `vmctx` (`sum`). A function whose accesses are mostly at
;; constant addresses (C globals, `counters`) keeps the base loaded from `vmctx`, where a
;; constant address would need a register of its own for every access.
(module
  (memory 1)
  (func $sum (export "sum") (param $p i32) (param $n i32) (result i32)
    (local $s i32)
    (loop $next
      (local.set $s (i32.add (local.get $s) (i32.load offset=8 (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))
  (func $counters (export "counters") (param $p i32)
    (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
    (i32.store (i32.const 20) (i32.add (i32.load (i32.const 20)) (i32.load (local.get $p))))))

;; == x86_64 (baseline: SSE4.2) ==
;; sum:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: xorl %eax, %eax
;;      6: movl %esi, %ecx
;;      8: movl 0x60000008(%rcx), %ecx
;;      e: subl $1, %edx
;;     11: addl %ecx, %eax
;;     13: addl $4, %esi
;;     16: testl %edx, %edx
;;     18: jne 6
;;     1a: leave
;;     1b: retq
;; counters:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r10
;;      7: movq 0x20(%rdi), %rsi
;;      b: addl $1, 0x10(%rsi)
;;      f: movl 0x14(%rsi), %edi
;;     12: movl %r10d, %r8d
;;     15: addl (%rsi, %r8), %edi
;;     19: movl %edi, 0x14(%rsi)
;;     1c: leave
;;     1d: retq
;; == x86_64 + avx2 ==
;; sum:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: xorl %eax, %eax
;;      6: movl %esi, %ecx
;;      8: movl 0x60000008(%rcx), %ecx
;;      e: subl $1, %edx
;;     11: addl %ecx, %eax
;;     13: addl $4, %esi
;;     16: testl %edx, %edx
;;     18: jne 6
;;     1a: leave
;;     1b: retq
;; counters:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %r10
;;      7: movq 0x20(%rdi), %rsi
;;      b: addl $1, 0x10(%rsi)
;;      f: movl 0x14(%rsi), %edi
;;     12: movl %r10d, %r8d
;;     15: addl (%rsi, %r8), %edi
;;     19: movl %edi, 0x14(%rsi)
;;     1c: leave
;;     1d: retq
