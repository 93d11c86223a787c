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
;;     12: ja 0x67
;;     14: movl %esi, %eax
;;     16: cmpq $4, %rax
;;     1a: jae 0x69
;;     1c: movq (%rip), %rcx
;;     23: movl 0x20(%rcx, %rax, 4), %esi
;;     27: movq (%rcx, %rax, 8), %r9
;;     2b: testl %esi, %esi
;;     2d: jne 0x3a
;;     2f: movq %rdx, %rsi
;;     32: movq %rdi, %rdx
;;     35: callq *%r9
;;     38: leave
;;     39: retq
;;     3a: movq 0x20(%rdi), %rcx
;;     3e: cmpq 0x28(%rdi), %rax
;;     42: jae 0x6b
;;     44: movq (%rcx, %rax, 8), %rax
;;     48: testq %rax, %rax
;;     4b: je 0x6d
;;     4d: movl 0x18(%rax), %ecx
;;     50: cmpl 0x40(%rdi), %ecx
;;     53: movq %rdi, %rcx
;;     56: jne 0x6f
;;     58: movq (%rax), %r9
;;     5b: movq 0x10(%rax), %rdi
;;     5f: movq %rdx, %rsi
;;     62: movq %rcx, %rdx
;;     65: jmp 0x35
;;     67: ud2
;;     69: ud2
;;     6b: ud2
;;     6d: ud2
;;     6f: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x49
;;     14: movq 0x30(%rdi), %r10
;;     18: movl %esi, %r11d
;;     1b: cmpq 0x38(%rdi), %r11
;;     1f: jae 0x4b
;;     21: movq (%r10, %r11, 8), %rax
;;     25: testq %rax, %rax
;;     28: je 0x4d
;;     2a: movl 0x18(%rax), %ecx
;;     2d: cmpl 0x40(%rdi), %ecx
;;     30: movq %rdi, %rsi
;;     33: jne 0x4f
;;     35: movq (%rax), %rcx
;;     38: movq 0x10(%rax), %rdi
;;     3c: movq %rdx, %rax
;;     3f: movq %rsi, %rdx
;;     42: movq %rax, %rsi
;;     45: callq *%rcx
;;     47: leave
;;     48: retq
;;     49: ud2
;;     4b: ud2
;;     4d: ud2
;;     4f: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x1b
;;     14: callq 0x19
;;     19: leave
;;     1a: retq
;;     1b: ud2
;; square:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %rax
;;      7: imull %esi, %eax
;;      a: leave
;;      b: retq
;; double:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: leal (%rsi, %rsi), %eax
;;      7: leave
;;      8: retq
;; wasm_function_7:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x4c
;;     14: movl %esi, %eax
;;     16: cmpq $3, %rax
;;     1a: jne 0x23
;;     1c: callq 0x21
;;     21: leave
;;     22: retq
;;     23: movq 0x20(%rdi), %rcx
;;     27: cmpq 0x28(%rdi), %rax
;;     2b: jae 0x4e
;;     2d: movq (%rcx, %rax, 8), %rax
;;     31: testq %rax, %rax
;;     34: je 0x50
;;     36: movl 0x18(%rax), %ecx
;;     39: cmpl 0x44(%rdi), %ecx
;;     3c: movq %rdi, %rsi
;;     3f: jne 0x52
;;     41: movq (%rax), %rcx
;;     44: movq 0x10(%rax), %rdi
;;     48: callq *%rcx
;;     4a: jmp 0x21
;;     4c: ud2
;;     4e: ud2
;;     50: ud2
;;     52: ud2
;; half:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: mulsd 4(%rip), %xmm0
;;      c: leave
;;      d: retq
;;      e: .byte 00 00 00 00 00 00 00 00 e0 3f 00 00 00 00 00 00
;;     1e: .byte 00 00
;; == x86_64 + avx2 ==
;; wasm_function_4:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x67
;;     14: movl %esi, %eax
;;     16: cmpq $4, %rax
;;     1a: jae 0x69
;;     1c: movq (%rip), %rcx
;;     23: movl 0x20(%rcx, %rax, 4), %esi
;;     27: movq (%rcx, %rax, 8), %r9
;;     2b: testl %esi, %esi
;;     2d: jne 0x3a
;;     2f: movq %rdx, %rsi
;;     32: movq %rdi, %rdx
;;     35: callq *%r9
;;     38: leave
;;     39: retq
;;     3a: movq 0x20(%rdi), %rcx
;;     3e: cmpq 0x28(%rdi), %rax
;;     42: jae 0x6b
;;     44: movq (%rcx, %rax, 8), %rax
;;     48: testq %rax, %rax
;;     4b: je 0x6d
;;     4d: movl 0x18(%rax), %ecx
;;     50: cmpl 0x40(%rdi), %ecx
;;     53: movq %rdi, %rcx
;;     56: jne 0x6f
;;     58: movq (%rax), %r9
;;     5b: movq 0x10(%rax), %rdi
;;     5f: movq %rdx, %rsi
;;     62: movq %rcx, %rdx
;;     65: jmp 0x35
;;     67: ud2
;;     69: ud2
;;     6b: ud2
;;     6d: ud2
;;     6f: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x49
;;     14: movq 0x30(%rdi), %r10
;;     18: movl %esi, %r11d
;;     1b: cmpq 0x38(%rdi), %r11
;;     1f: jae 0x4b
;;     21: movq (%r10, %r11, 8), %rax
;;     25: testq %rax, %rax
;;     28: je 0x4d
;;     2a: movl 0x18(%rax), %ecx
;;     2d: cmpl 0x40(%rdi), %ecx
;;     30: movq %rdi, %rsi
;;     33: jne 0x4f
;;     35: movq (%rax), %rcx
;;     38: movq 0x10(%rax), %rdi
;;     3c: movq %rdx, %rax
;;     3f: movq %rsi, %rdx
;;     42: movq %rax, %rsi
;;     45: callq *%rcx
;;     47: leave
;;     48: retq
;;     49: ud2
;;     4b: ud2
;;     4d: ud2
;;     4f: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x1b
;;     14: callq 0x19
;;     19: leave
;;     1a: retq
;;     1b: ud2
;; square:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rsi, %rax
;;      7: imull %esi, %eax
;;      a: leave
;;      b: retq
;; double:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: leal (%rsi, %rsi), %eax
;;      7: leave
;;      8: retq
;; wasm_function_7:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x4c
;;     14: movl %esi, %eax
;;     16: cmpq $3, %rax
;;     1a: jne 0x23
;;     1c: callq 0x21
;;     21: leave
;;     22: retq
;;     23: movq 0x20(%rdi), %rcx
;;     27: cmpq 0x28(%rdi), %rax
;;     2b: jae 0x4e
;;     2d: movq (%rcx, %rax, 8), %rax
;;     31: testq %rax, %rax
;;     34: je 0x50
;;     36: movl 0x18(%rax), %ecx
;;     39: cmpl 0x44(%rdi), %ecx
;;     3c: movq %rdi, %rsi
;;     3f: jne 0x52
;;     41: movq (%rax), %rcx
;;     44: movq 0x10(%rax), %rdi
;;     48: callq *%rcx
;;     4a: jmp 0x21
;;     4c: ud2
;;     4e: ud2
;;     50: ud2
;;     52: ud2
;; half:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: vmulsd 4(%rip), %xmm0, %xmm0
;;      c: leave
;;      d: retq
;;      e: .byte 00 00 00 00 00 00 00 00 e0 3f 00 00 00 00 00 00
;;     1e: .byte 00 00
