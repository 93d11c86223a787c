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
;;     12: ja 0x82
;;     18: movl %edx, %eax
;;     1a: cmpq $4, %rax
;;     1e: jae 0x84
;;     24: movq (%rip), %rdx
;;     2b: movl 0x20(%rdx, %rax, 4), %esi
;;     2f: movq (%rdx, %rax, 8), %r9
;;     33: testl %esi, %esi
;;     35: jne 0x49
;;     3b: movq %rcx, %rdx
;;     3e: movq %rdi, %rsi
;;     41: callq *%r9
;;     44: movq %rbp, %rsp
;;     47: popq %rbp
;;     48: retq
;;     49: movq 0x20(%rdi), %rdx
;;     4d: cmpq 0x28(%rdi), %rax
;;     51: jae 0x86
;;     57: movq (%rdx, %rax, 8), %rax
;;     5b: testq %rax, %rax
;;     5e: je 0x88
;;     64: movl 0x18(%rax), %edx
;;     67: cmpl 0x40(%rdi), %edx
;;     6a: movq %rdi, %rsi
;;     6d: jne 0x8a
;;     73: movq (%rax), %r9
;;     76: movq 0x10(%rax), %rdi
;;     7a: movq %rcx, %rdx
;;     7d: jmp 0x41
;;     82: ud2
;;     84: ud2
;;     86: ud2
;;     88: ud2
;;     8a: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x57
;;     18: movq 0x30(%rdi), %r10
;;     1c: movl %edx, %r11d
;;     1f: cmpq 0x38(%rdi), %r11
;;     23: jae 0x59
;;     29: movq (%r10, %r11, 8), %rax
;;     2d: testq %rax, %rax
;;     30: je 0x5b
;;     36: movl 0x18(%rax), %edx
;;     39: cmpl 0x40(%rdi), %edx
;;     3c: movq %rdi, %rsi
;;     3f: jne 0x5d
;;     45: movq (%rax), %r8
;;     48: movq 0x10(%rax), %rdi
;;     4c: movq %rcx, %rdx
;;     4f: callq *%r8
;;     52: movq %rbp, %rsp
;;     55: popq %rbp
;;     56: retq
;;     57: ud2
;;     59: ud2
;;     5b: ud2
;;     5d: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x25
;;     18: movq %rdi, %rsi
;;     1b: callq 0x20
;;     20: movq %rbp, %rsp
;;     23: popq %rbp
;;     24: retq
;;     25: ud2
;; square:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rdx, %rax
;;      7: imull %edx, %eax
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
;;     12: ja 0x69
;;     18: movl %edx, %eax
;;     1a: cmpq $3, %rax
;;     1e: jne 0x31
;;     24: movq %rdi, %rsi
;;     27: callq 0x2c
;;     2c: movq %rbp, %rsp
;;     2f: popq %rbp
;;     30: retq
;;     31: movq 0x20(%rdi), %rcx
;;     35: cmpq 0x28(%rdi), %rax
;;     39: jae 0x6b
;;     3f: movq (%rcx, %rax, 8), %rax
;;     43: testq %rax, %rax
;;     46: je 0x6d
;;     4c: movl 0x18(%rax), %ecx
;;     4f: cmpl 0x44(%rdi), %ecx
;;     52: movq %rdi, %rsi
;;     55: jne 0x6f
;;     5b: movq (%rax), %rcx
;;     5e: movq 0x10(%rax), %rdi
;;     62: callq *%rcx
;;     64: jmp 0x2c
;;     69: ud2
;;     6b: ud2
;;     6d: ud2
;;     6f: ud2
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
;;      4: leal (%rdx, %rdx), %eax
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
;;     12: ja 0x82
;;     18: movl %edx, %eax
;;     1a: cmpq $4, %rax
;;     1e: jae 0x84
;;     24: movq (%rip), %rdx
;;     2b: movl 0x20(%rdx, %rax, 4), %esi
;;     2f: movq (%rdx, %rax, 8), %r9
;;     33: testl %esi, %esi
;;     35: jne 0x49
;;     3b: movq %rcx, %rdx
;;     3e: movq %rdi, %rsi
;;     41: callq *%r9
;;     44: movq %rbp, %rsp
;;     47: popq %rbp
;;     48: retq
;;     49: movq 0x20(%rdi), %rdx
;;     4d: cmpq 0x28(%rdi), %rax
;;     51: jae 0x86
;;     57: movq (%rdx, %rax, 8), %rax
;;     5b: testq %rax, %rax
;;     5e: je 0x88
;;     64: movl 0x18(%rax), %edx
;;     67: cmpl 0x40(%rdi), %edx
;;     6a: movq %rdi, %rsi
;;     6d: jne 0x8a
;;     73: movq (%rax), %r9
;;     76: movq 0x10(%rax), %rdi
;;     7a: movq %rcx, %rdx
;;     7d: jmp 0x41
;;     82: ud2
;;     84: ud2
;;     86: ud2
;;     88: ud2
;;     8a: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x57
;;     18: movq 0x30(%rdi), %r10
;;     1c: movl %edx, %r11d
;;     1f: cmpq 0x38(%rdi), %r11
;;     23: jae 0x59
;;     29: movq (%r10, %r11, 8), %rax
;;     2d: testq %rax, %rax
;;     30: je 0x5b
;;     36: movl 0x18(%rax), %edx
;;     39: cmpl 0x40(%rdi), %edx
;;     3c: movq %rdi, %rsi
;;     3f: jne 0x5d
;;     45: movq (%rax), %r8
;;     48: movq 0x10(%rax), %rdi
;;     4c: movq %rcx, %rdx
;;     4f: callq *%r8
;;     52: movq %rbp, %rsp
;;     55: popq %rbp
;;     56: retq
;;     57: ud2
;;     59: ud2
;;     5b: ud2
;;     5d: ud2
;; wasm_function_6:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x25
;;     18: movq %rdi, %rsi
;;     1b: callq 0x20
;;     20: movq %rbp, %rsp
;;     23: popq %rbp
;;     24: retq
;;     25: ud2
;; square:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq %rdx, %rax
;;      7: imull %edx, %eax
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
;;     12: ja 0x69
;;     18: movl %edx, %eax
;;     1a: cmpq $3, %rax
;;     1e: jne 0x31
;;     24: movq %rdi, %rsi
;;     27: callq 0x2c
;;     2c: movq %rbp, %rsp
;;     2f: popq %rbp
;;     30: retq
;;     31: movq 0x20(%rdi), %rcx
;;     35: cmpq 0x28(%rdi), %rax
;;     39: jae 0x6b
;;     3f: movq (%rcx, %rax, 8), %rax
;;     43: testq %rax, %rax
;;     46: je 0x6d
;;     4c: movl 0x18(%rax), %ecx
;;     4f: cmpl 0x44(%rdi), %ecx
;;     52: movq %rdi, %rsi
;;     55: jne 0x6f
;;     5b: movq (%rax), %rcx
;;     5e: movq 0x10(%rax), %rdi
;;     62: callq *%rcx
;;     64: jmp 0x2c
;;     69: ud2
;;     6b: ud2
;;     6d: ud2
;;     6f: ud2
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
;;      4: leal (%rdx, %rdx), %eax
;;      7: movq %rbp, %rsp
;;      a: popq %rbp
;;      b: retq
