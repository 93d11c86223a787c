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
;;     12: ja 0x88
;;     18: movl %edx, %eax
;;     1a: cmpq $4, %rax
;;     1e: jae 0x8a
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
;;     49: movq 0x130(%rdi), %rdx
;;     50: cmpq 0x138(%rdi), %rax
;;     57: jae 0x8c
;;     5d: movq (%rdx, %rax, 8), %rax
;;     61: testq %rax, %rax
;;     64: je 0x8e
;;     6a: movl 0x18(%rax), %edx
;;     6d: cmpl 0x20(%rdi), %edx
;;     70: movq %rdi, %rsi
;;     73: jne 0x90
;;     79: movq (%rax), %r9
;;     7c: movq 0x10(%rax), %rdi
;;     80: movq %rcx, %rdx
;;     83: jmp 0x41
;;     88: ud2
;;     8a: ud2
;;     8c: ud2
;;     8e: ud2
;;     90: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x5d
;;     18: movq 0x140(%rdi), %r10
;;     1f: movl %edx, %r11d
;;     22: cmpq 0x148(%rdi), %r11
;;     29: jae 0x5f
;;     2f: movq (%r10, %r11, 8), %rax
;;     33: testq %rax, %rax
;;     36: je 0x61
;;     3c: movl 0x18(%rax), %edx
;;     3f: cmpl 0x20(%rdi), %edx
;;     42: movq %rdi, %rsi
;;     45: jne 0x63
;;     4b: movq (%rax), %r8
;;     4e: movq 0x10(%rax), %rdi
;;     52: movq %rcx, %rdx
;;     55: callq *%r8
;;     58: movq %rbp, %rsp
;;     5b: popq %rbp
;;     5c: retq
;;     5d: ud2
;;     5f: ud2
;;     61: ud2
;;     63: ud2
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
;;     12: ja 0x6f
;;     18: movl %edx, %eax
;;     1a: cmpq $3, %rax
;;     1e: jne 0x31
;;     24: movq %rdi, %rsi
;;     27: callq 0x2c
;;     2c: movq %rbp, %rsp
;;     2f: popq %rbp
;;     30: retq
;;     31: movq 0x130(%rdi), %rcx
;;     38: cmpq 0x138(%rdi), %rax
;;     3f: jae 0x71
;;     45: movq (%rcx, %rax, 8), %rax
;;     49: testq %rax, %rax
;;     4c: je 0x73
;;     52: movl 0x18(%rax), %ecx
;;     55: cmpl 0x24(%rdi), %ecx
;;     58: movq %rdi, %rsi
;;     5b: jne 0x75
;;     61: movq (%rax), %rcx
;;     64: movq 0x10(%rax), %rdi
;;     68: callq *%rcx
;;     6a: jmp 0x2c
;;     6f: ud2
;;     71: ud2
;;     73: ud2
;;     75: ud2
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
;;     12: ja 0x88
;;     18: movl %edx, %eax
;;     1a: cmpq $4, %rax
;;     1e: jae 0x8a
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
;;     49: movq 0x130(%rdi), %rdx
;;     50: cmpq 0x138(%rdi), %rax
;;     57: jae 0x8c
;;     5d: movq (%rdx, %rax, 8), %rax
;;     61: testq %rax, %rax
;;     64: je 0x8e
;;     6a: movl 0x18(%rax), %edx
;;     6d: cmpl 0x20(%rdi), %edx
;;     70: movq %rdi, %rsi
;;     73: jne 0x90
;;     79: movq (%rax), %r9
;;     7c: movq 0x10(%rax), %rdi
;;     80: movq %rcx, %rdx
;;     83: jmp 0x41
;;     88: ud2
;;     8a: ud2
;;     8c: ud2
;;     8e: ud2
;;     90: ud2
;; wasm_function_5:
;;      0: pushq %rbp
;;      1: movq %rsp, %rbp
;;      4: movq 8(%rdi), %r10
;;      8: movq (%r10), %r10
;;      b: addq $0x10, %r10
;;      f: cmpq %rsp, %r10
;;     12: ja 0x5d
;;     18: movq 0x140(%rdi), %r10
;;     1f: movl %edx, %r11d
;;     22: cmpq 0x148(%rdi), %r11
;;     29: jae 0x5f
;;     2f: movq (%r10, %r11, 8), %rax
;;     33: testq %rax, %rax
;;     36: je 0x61
;;     3c: movl 0x18(%rax), %edx
;;     3f: cmpl 0x20(%rdi), %edx
;;     42: movq %rdi, %rsi
;;     45: jne 0x63
;;     4b: movq (%rax), %r8
;;     4e: movq 0x10(%rax), %rdi
;;     52: movq %rcx, %rdx
;;     55: callq *%r8
;;     58: movq %rbp, %rsp
;;     5b: popq %rbp
;;     5c: retq
;;     5d: ud2
;;     5f: ud2
;;     61: ud2
;;     63: ud2
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
;;     12: ja 0x6f
;;     18: movl %edx, %eax
;;     1a: cmpq $3, %rax
;;     1e: jne 0x31
;;     24: movq %rdi, %rsi
;;     27: callq 0x2c
;;     2c: movq %rbp, %rsp
;;     2f: popq %rbp
;;     30: retq
;;     31: movq 0x130(%rdi), %rcx
;;     38: cmpq 0x138(%rdi), %rax
;;     3f: jae 0x71
;;     45: movq (%rcx, %rax, 8), %rax
;;     49: testq %rax, %rax
;;     4c: je 0x73
;;     52: movl 0x18(%rax), %ecx
;;     55: cmpl 0x24(%rdi), %ecx
;;     58: movq %rdi, %rsi
;;     5b: jne 0x75
;;     61: movq (%rax), %rcx
;;     64: movq 0x10(%rax), %rdi
;;     68: callq *%rcx
;;     6a: jmp 0x2c
;;     6f: ud2
;;     71: ud2
;;     73: ud2
;;     75: ud2
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
