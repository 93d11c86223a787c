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
;;     12: ja 0x85
;;     18: movl %esi, %eax
;;     1a: cmpq $4, %rax
;;     1e: jae 0x87
;;     24: movq (%rip), %rcx
;;     2b: movl 0x20(%rcx, %rax, 4), %esi
;;     2f: movq (%rcx, %rax, 8), %r9
;;     33: testl %esi, %esi
;;     35: jne 0x49
;;     3b: movq %rdx, %rsi
;;     3e: movq %rdi, %rdx
;;     41: callq *%r9
;;     44: movq %rbp, %rsp
;;     47: popq %rbp
;;     48: retq
;;     49: movq 0x20(%rdi), %rcx
;;     4d: cmpq 0x28(%rdi), %rax
;;     51: jae 0x89
;;     57: movq (%rcx, %rax, 8), %rax
;;     5b: testq %rax, %rax
;;     5e: je 0x8b
;;     64: movl 0x18(%rax), %ecx
;;     67: cmpl 0x40(%rdi), %ecx
;;     6a: movq %rdi, %rcx
;;     6d: jne 0x8d
;;     73: movq (%rax), %r9
;;     76: movq 0x10(%rax), %rdi
;;     7a: movq %rdx, %rsi
;;     7d: movq %rcx, %rdx
;;     80: jmp 0x41
;;     85: ud2
;;     87: ud2
;;     89: ud2
;;     8b: ud2
;;     8d: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x5c
;;     18: movq 0x30(%rdi), %r10
;;     1c: movl %esi, %r11d
;;     1f: cmpq 0x38(%rdi), %r11
;;     23: jae 0x5e
;;     29: movq (%r10, %r11, 8), %rax
;;     2d: testq %rax, %rax
;;     30: je 0x60
;;     36: movl 0x18(%rax), %ecx
;;     39: cmpl 0x40(%rdi), %ecx
;;     3c: movq %rdi, %rsi
;;     3f: jne 0x62
;;     45: movq (%rax), %rcx
;;     48: movq 0x10(%rax), %rdi
;;     4c: movq %rdx, %rax
;;     4f: movq %rsi, %rdx
;;     52: movq %rax, %rsi
;;     55: callq *%rcx
;;     57: movq %rbp, %rsp
;;     5a: popq %rbp
;;     5b: retq
;;     5c: ud2
;;     5e: ud2
;;     60: ud2
;;     62: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x22
;;     18: callq 0x1d
;;     1d: movq %rbp, %rsp
;;     20: popq %rbp
;;     21: retq
;;     22: ud2
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
;;     12: ja 0x66
;;     18: movl %esi, %eax
;;     1a: cmpq $3, %rax
;;     1e: jne 0x2e
;;     24: callq 0x29
;;     29: movq %rbp, %rsp
;;     2c: popq %rbp
;;     2d: retq
;;     2e: movq 0x20(%rdi), %rcx
;;     32: cmpq 0x28(%rdi), %rax
;;     36: jae 0x68
;;     3c: movq (%rcx, %rax, 8), %rax
;;     40: testq %rax, %rax
;;     43: je 0x6a
;;     49: movl 0x18(%rax), %ecx
;;     4c: cmpl 0x44(%rdi), %ecx
;;     4f: movq %rdi, %rsi
;;     52: jne 0x6c
;;     58: movq (%rax), %rcx
;;     5b: movq 0x10(%rax), %rdi
;;     5f: callq *%rcx
;;     61: jmp 0x29
;;     66: ud2
;;     68: ud2
;;     6a: ud2
;;     6c: ud2
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
;;     12: ja 0x85
;;     18: movl %esi, %eax
;;     1a: cmpq $4, %rax
;;     1e: jae 0x87
;;     24: movq (%rip), %rcx
;;     2b: movl 0x20(%rcx, %rax, 4), %esi
;;     2f: movq (%rcx, %rax, 8), %r9
;;     33: testl %esi, %esi
;;     35: jne 0x49
;;     3b: movq %rdx, %rsi
;;     3e: movq %rdi, %rdx
;;     41: callq *%r9
;;     44: movq %rbp, %rsp
;;     47: popq %rbp
;;     48: retq
;;     49: movq 0x20(%rdi), %rcx
;;     4d: cmpq 0x28(%rdi), %rax
;;     51: jae 0x89
;;     57: movq (%rcx, %rax, 8), %rax
;;     5b: testq %rax, %rax
;;     5e: je 0x8b
;;     64: movl 0x18(%rax), %ecx
;;     67: cmpl 0x40(%rdi), %ecx
;;     6a: movq %rdi, %rcx
;;     6d: jne 0x8d
;;     73: movq (%rax), %r9
;;     76: movq 0x10(%rax), %rdi
;;     7a: movq %rdx, %rsi
;;     7d: movq %rcx, %rdx
;;     80: jmp 0x41
;;     85: ud2
;;     87: ud2
;;     89: ud2
;;     8b: ud2
;;     8d: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x5c
;;     18: movq 0x30(%rdi), %r10
;;     1c: movl %esi, %r11d
;;     1f: cmpq 0x38(%rdi), %r11
;;     23: jae 0x5e
;;     29: movq (%r10, %r11, 8), %rax
;;     2d: testq %rax, %rax
;;     30: je 0x60
;;     36: movl 0x18(%rax), %ecx
;;     39: cmpl 0x40(%rdi), %ecx
;;     3c: movq %rdi, %rsi
;;     3f: jne 0x62
;;     45: movq (%rax), %rcx
;;     48: movq 0x10(%rax), %rdi
;;     4c: movq %rdx, %rax
;;     4f: movq %rsi, %rdx
;;     52: movq %rax, %rsi
;;     55: callq *%rcx
;;     57: movq %rbp, %rsp
;;     5a: popq %rbp
;;     5b: retq
;;     5c: ud2
;;     5e: ud2
;;     60: ud2
;;     62: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x22
;;     18: callq 0x1d
;;     1d: movq %rbp, %rsp
;;     20: popq %rbp
;;     21: retq
;;     22: ud2
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
;;     12: ja 0x66
;;     18: movl %esi, %eax
;;     1a: cmpq $3, %rax
;;     1e: jne 0x2e
;;     24: callq 0x29
;;     29: movq %rbp, %rsp
;;     2c: popq %rbp
;;     2d: retq
;;     2e: movq 0x20(%rdi), %rcx
;;     32: cmpq 0x28(%rdi), %rax
;;     36: jae 0x68
;;     3c: movq (%rcx, %rax, 8), %rax
;;     40: testq %rax, %rax
;;     43: je 0x6a
;;     49: movl 0x18(%rax), %ecx
;;     4c: cmpl 0x44(%rdi), %ecx
;;     4f: movq %rdi, %rsi
;;     52: jne 0x6c
;;     58: movq (%rax), %rcx
;;     5b: movq 0x10(%rax), %rdi
;;     5f: callq *%rcx
;;     61: jmp 0x29
;;     66: ud2
;;     68: ud2
;;     6a: ud2
;;     6c: ud2
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
