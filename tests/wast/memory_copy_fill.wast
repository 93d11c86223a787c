;; Guards memory.copy and memory.fill within one memory: the range is checked inline, then
;; libc's memmove/memset run; overlapping copies either way, and a trap writes nothing.

(module
  (memory (export "memory") 1 3)
  (data (i32.const 0) "\00\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f")

  (func (export "copy") (param $dst i32) (param $src i32) (param $len i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len)))
  (func (export "fill") (param $dst i32) (param $value i32) (param $len i32)
    (memory.fill (local.get $dst) (local.get $value) (local.get $len)))
  (func (export "load8") (param $at i32) (result i32)
    (i32.load8_u (local.get $at)))
  (func (export "load64") (param $at i32) (result i64)
    (i64.load (local.get $at)))
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  ;; The sum of bytes [from, from + len): checks large ranges in one call.
  (func (export "sum") (param $from i32) (param $len i32) (result i64)
    (local $total i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $total
          (i64.add (local.get $total) (i64.load8_u (local.get $from))))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next)))
    (local.get $total)))

;; Forward overlap (dst > src): memmove copies from the end.
(invoke "copy" (i32.const 2) (i32.const 0) (i32.const 8))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0504_0302_0100_0100))
(assert_return (invoke "load64" (i32.const 8)) (i64.const 0x0f0e_0d0c_0b0a_0706))

;; Backward overlap (dst < src).
(invoke "copy" (i32.const 0) (i32.const 1) (i32.const 15))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0605_0403_0201_0001))
(assert_return (invoke "load64" (i32.const 8)) (i64.const 0x0f0f_0e0d_0c0b_0a07))

;; Same source and destination; zero lengths anywhere up to and including the end.
(invoke "copy" (i32.const 4) (i32.const 4) (i32.const 8))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0605_0403_0201_0001))
(invoke "copy" (i32.const 0x1_0000) (i32.const 0) (i32.const 0))
(invoke "copy" (i32.const 0) (i32.const 0x1_0000) (i32.const 0))
(invoke "fill" (i32.const 0x1_0000) (i32.const 0xff) (i32.const 0))

;; Just past the end, even with length 0, traps.
(assert_trap (invoke "copy" (i32.const 0x1_0001) (i32.const 0) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 0x1_0001) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 0x1_0001) (i32.const 0) (i32.const 0)) "out of bounds memory access")

;; A range that ends one byte past the memory traps before writing anything.
(assert_trap (invoke "copy" (i32.const 0xfff9) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 0xfff9)) (i32.const 0))
(assert_return (invoke "load8" (i32.const 0xffff)) (i32.const 0))
(assert_trap (invoke "copy" (i32.const 0) (i32.const 0xfff9) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0605_0403_0201_0001))
(assert_trap (invoke "fill" (i32.const 0xfff9) (i32.const 0xaa) (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 0xfff9)) (i32.const 0))

;; Ranges whose end wraps around 2^32 trap, and do not write at the start.
(assert_trap (invoke "copy" (i32.const 0xffff_fff0) (i32.const 0) (i32.const 0x20)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 0xffff_fff0) (i32.const 0x20)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 0xffff_fff0) (i32.const 0xaa) (i32.const 0x20)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 1) (i32.const 0xaa) (i32.const 0xffff_ffff)) "out of bounds memory access")
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x0605_0403_0201_0001))

;; Exactly up to the end is allowed; fill stores only the low byte of its value.
(invoke "fill" (i32.const 0xfff8) (i32.const 0x1ab) (i32.const 8))
(assert_return (invoke "load64" (i32.const 0xfff8)) (i64.const 0xabab_abab_abab_abab))
(invoke "copy" (i32.const 0xfff0) (i32.const 0xfff8) (i32.const 8))
(assert_return (invoke "load64" (i32.const 0xfff0)) (i64.const 0xabab_abab_abab_abab))

;; After memory.grow the new page is in bounds (and, with bounds checks, the memory may
;; have moved): a large fill and an overlapping copy across the old end.
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(invoke "fill" (i32.const 0x1_0000) (i32.const 2) (i32.const 0x1_0000))
(assert_return (invoke "sum" (i32.const 0x1_0000) (i32.const 0x1_0000)) (i64.const 0x2_0000))
(invoke "copy" (i32.const 0xfff8) (i32.const 0xfff0) (i32.const 0x100))
(assert_return (invoke "load64" (i32.const 0xfff8)) (i64.const 0xabab_abab_abab_abab))
(assert_return (invoke "load64" (i32.const 0x1_0000)) (i64.const 0xabab_abab_abab_abab))
(assert_return (invoke "load64" (i32.const 0x1_0008)) (i64.const 0x0202_0202_0202_0202))
(assert_trap (invoke "copy" (i32.const 0x1_fff9) (i32.const 0) (i32.const 8)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 0x2_0000) (i32.const 0) (i32.const 1)) "out of bounds memory access")

;; A large backward-overlapping copy across the old end: everything moves down one byte.
(invoke "copy" (i32.const 0x8000) (i32.const 0x8001) (i32.const 0x1_0000))
(assert_return (invoke "load8" (i32.const 0x7fff)) (i32.const 0))
(assert_return (invoke "load64" (i32.const 0xffef)) (i64.const 0xabab_abab_abab_abab))
(assert_return (invoke "load64" (i32.const 0x1_0000)) (i64.const 0x02ab_abab_abab_abab))
(assert_return (invoke "load64" (i32.const 0x1_7ff8)) (i64.const 0x0202_0202_0202_0202))
(assert_return (invoke "load8" (i32.const 0x1_8000)) (i32.const 2))
;; 24 bytes 0xab and 0x7ff9 bytes 2.
(assert_return (invoke "sum" (i32.const 0x8000) (i32.const 0x1_0000)) (i64.const 69626))
