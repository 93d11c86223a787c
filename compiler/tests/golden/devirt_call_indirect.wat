;;! target = "x86_64"
;;! test = "compile"
;;! opt_level = "speed"
;; Devirtualized `call_indirect` (`devirt.rs`). `$fixed` is not exported and no
;; instruction writes it, so its contents are fixed after instantiation: with a variable
;; index, `fixed_variable` compares the index with the constant length, reads the slot's
;; code address and type class from the code table in read-only data, and calls the code
;; with its own `vmctx` when the class matches; the checked sequence (null and signature
;; checks on the runtime's table) sits in a cold block after the return, for null slots,
;; wrong types and the import. With a constant index, `fixed_constant` calls `$square`
;; directly. `$half` is the table's only function of its type: `fixed_sole` compares the
;; index with its slot and calls it directly (a guarded direct call), the checked call in
;; a cold block. `$open` is exported, so `open_variable` keeps today's checked sequence.
(module
  (type $t (func (param i32) (result i32)))
  (type $h (func (param f64) (result f64)))
  (import "env" "imported" (func $imported (type $t)))
  (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $t) (i32.mul (local.get 0) (local.get 0)))
  (table $fixed 4 funcref)
  (func $half (type $h) (f64.mul (local.get 0) (f64.const 0.5)))
  (elem (table $fixed) (i32.const 0) func $double $square $imported $half)
  (table $open (export "open") 4 funcref)
  (elem (table $open) (i32.const 0) func $double $square $imported)
  (func (export "fixed_variable") (param i32 i32) (result i32)
    (call_indirect $fixed (type $t) (local.get 1) (local.get 0)))
  (func (export "open_variable") (param i32 i32) (result i32)
    (call_indirect $open (type $t) (local.get 1) (local.get 0)))
  (func (export "fixed_constant") (param i32) (result i32)
    (call_indirect $fixed (type $t) (local.get 0) (i32.const 1)))
  (func (export "fixed_sole") (param f64 i32) (result f64)
    (call_indirect $fixed (type $h) (local.get 0) (local.get 1))))

;; == x86_64 (baseline: SSE4.2) ==
;; wasm_function_4:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x6a
;;     14: movl %esi, %eax
;;     16: cmpq $4, %rax
;;     1a: jae 0x6c
;;     1c: movq (%rip), %rcx
;;     23: movl 0x20(%rcx, %rax, 4), %esi
;;     27: movq (%rcx, %rax, 8), %r9
;;     2b: testl %esi, %esi
;;     2d: jne 0x3d
;;     2f: movq %rdx, %rsi
;;     32: movq %rdi, %rdx
;;     35: callq *%r9
;;     38: movq %rbp, %rsp
;;     3b: popq %rbp
;;     3c: retq
;;     3d: movq 0x20(%rdi), %rcx
;;     41: cmpq 0x28(%rdi), %rax
;;     45: jae 0x6e
;;     47: movq (%rcx, %rax, 8), %rax
;;     4b: testq %rax, %rax
;;     4e: je 0x70
;;     50: movl 0x18(%rax), %ecx
;;     53: cmpl 0x40(%rdi), %ecx
;;     56: movq %rdi, %rcx
;;     59: jne 0x72
;;     5b: movq (%rax), %r9
;;     5e: movq 0x10(%rax), %rdi
;;     62: movq %rdx, %rsi
;;     65: movq %rcx, %rdx
;;     68: jmp 0x35
;;     6a: ud2
;;     6c: ud2
;;     6e: ud2
;;     70: ud2
;;     72: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x4c
;;     14: movq 0x30(%rdi), %r10
;;     18: movl %esi, %r11d
;;     1b: cmpq 0x38(%rdi), %r11
;;     1f: jae 0x4e
;;     21: movq (%r10, %r11, 8), %rax
;;     25: testq %rax, %rax
;;     28: je 0x50
;;     2a: movl 0x18(%rax), %ecx
;;     2d: cmpl 0x40(%rdi), %ecx
;;     30: movq %rdi, %rsi
;;     33: jne 0x52
;;     35: movq (%rax), %rcx
;;     38: movq 0x10(%rax), %rdi
;;     3c: movq %rdx, %rax
;;     3f: movq %rsi, %rdx
;;     42: movq %rax, %rsi
;;     45: callq *%rcx
;;     47: movq %rbp, %rsp
;;     4a: popq %rbp
;;     4b: retq
;;     4c: ud2
;;     4e: ud2
;;     50: ud2
;;     52: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x1e
;;     14: callq 0x19
;;     19: movq %rbp, %rsp
;;     1c: popq %rbp
;;     1d: retq
;;     1e: ud2
;; square:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %rax
;;      7: imull %esi, %eax
;;      a: movq %rbp, %rsp
;;      d: popq %rbp
;;      e: retq
;; wasm_function_7:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x4f
;;     14: movl %esi, %eax
;;     16: cmpq $3, %rax
;;     1a: jne 0x26
;;     1c: callq 0x21
;;     21: movq %rbp, %rsp
;;     24: popq %rbp
;;     25: retq
;;     26: movq 0x20(%rdi), %rcx
;;     2a: cmpq 0x28(%rdi), %rax
;;     2e: jae 0x51
;;     30: movq (%rcx, %rax, 8), %rax
;;     34: testq %rax, %rax
;;     37: je 0x53
;;     39: movl 0x18(%rax), %ecx
;;     3c: cmpl 0x44(%rdi), %ecx
;;     3f: movq %rdi, %rsi
;;     42: jne 0x55
;;     44: movq (%rax), %rcx
;;     47: movq 0x10(%rax), %rdi
;;     4b: callq *%rcx
;;     4d: jmp 0x21
;;     4f: ud2
;;     51: ud2
;;     53: ud2
;;     55: ud2
;; half:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: mulsd 0x14(%rip), %xmm0
;;      c: movq %rbp, %rsp
;;      f: popq %rbp
;;     10: retq
;;     11: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
;;     21: .byte 00 00 00 00 00 e0 3f 00 00 00 00 00 00 00 00
;; double:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: leal (%rsi, %rsi), %eax
;;      7: movq %rbp, %rsp
;;      a: popq %rbp
;;      b: retq
;; == x86_64 + avx2 ==
;; wasm_function_4:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x6a
;;     14: movl %esi, %eax
;;     16: cmpq $4, %rax
;;     1a: jae 0x6c
;;     1c: movq (%rip), %rcx
;;     23: movl 0x20(%rcx, %rax, 4), %esi
;;     27: movq (%rcx, %rax, 8), %r9
;;     2b: testl %esi, %esi
;;     2d: jne 0x3d
;;     2f: movq %rdx, %rsi
;;     32: movq %rdi, %rdx
;;     35: callq *%r9
;;     38: movq %rbp, %rsp
;;     3b: popq %rbp
;;     3c: retq
;;     3d: movq 0x20(%rdi), %rcx
;;     41: cmpq 0x28(%rdi), %rax
;;     45: jae 0x6e
;;     47: movq (%rcx, %rax, 8), %rax
;;     4b: testq %rax, %rax
;;     4e: je 0x70
;;     50: movl 0x18(%rax), %ecx
;;     53: cmpl 0x40(%rdi), %ecx
;;     56: movq %rdi, %rcx
;;     59: jne 0x72
;;     5b: movq (%rax), %r9
;;     5e: movq 0x10(%rax), %rdi
;;     62: movq %rdx, %rsi
;;     65: movq %rcx, %rdx
;;     68: jmp 0x35
;;     6a: ud2
;;     6c: ud2
;;     6e: ud2
;;     70: ud2
;;     72: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x4c
;;     14: movq 0x30(%rdi), %r10
;;     18: movl %esi, %r11d
;;     1b: cmpq 0x38(%rdi), %r11
;;     1f: jae 0x4e
;;     21: movq (%r10, %r11, 8), %rax
;;     25: testq %rax, %rax
;;     28: je 0x50
;;     2a: movl 0x18(%rax), %ecx
;;     2d: cmpl 0x40(%rdi), %ecx
;;     30: movq %rdi, %rsi
;;     33: jne 0x52
;;     35: movq (%rax), %rcx
;;     38: movq 0x10(%rax), %rdi
;;     3c: movq %rdx, %rax
;;     3f: movq %rsi, %rdx
;;     42: movq %rax, %rsi
;;     45: callq *%rcx
;;     47: movq %rbp, %rsp
;;     4a: popq %rbp
;;     4b: retq
;;     4c: ud2
;;     4e: ud2
;;     50: ud2
;;     52: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x1e
;;     14: callq 0x19
;;     19: movq %rbp, %rsp
;;     1c: popq %rbp
;;     1d: retq
;;     1e: ud2
;; square:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %rax
;;      7: imull %esi, %eax
;;      a: movq %rbp, %rsp
;;      d: popq %rbp
;;      e: retq
;; wasm_function_7:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x4f
;;     14: movl %esi, %eax
;;     16: cmpq $3, %rax
;;     1a: jne 0x26
;;     1c: callq 0x21
;;     21: movq %rbp, %rsp
;;     24: popq %rbp
;;     25: retq
;;     26: movq 0x20(%rdi), %rcx
;;     2a: cmpq 0x28(%rdi), %rax
;;     2e: jae 0x51
;;     30: movq (%rcx, %rax, 8), %rax
;;     34: testq %rax, %rax
;;     37: je 0x53
;;     39: movl 0x18(%rax), %ecx
;;     3c: cmpl 0x44(%rdi), %ecx
;;     3f: movq %rdi, %rsi
;;     42: jne 0x55
;;     44: movq (%rax), %rcx
;;     47: movq 0x10(%rax), %rdi
;;     4b: callq *%rcx
;;     4d: jmp 0x21
;;     4f: ud2
;;     51: ud2
;;     53: ud2
;;     55: ud2
;; half:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vmulsd 0x14(%rip), %xmm0, %xmm0
;;      c: movq %rbp, %rsp
;;      f: popq %rbp
;;     10: retq
;;     11: .byte 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
;;     21: .byte 00 00 00 00 00 e0 3f 00 00 00 00 00 00 00 00
;; double:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: leal (%rsi, %rsi), %eax
;;      7: movq %rbp, %rsp
;;      a: popq %rbp
;;      b: retq
