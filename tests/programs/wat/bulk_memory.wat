;; memory.fill and memory.copy within one memory, inside functions named like the C library
;; routines kiln calls for them: a module's own `memset` must not capture those calls.
;; `check` fills ten bytes, marks the first, copies them five bytes on (overlapping) and
;; sums the fifteen bytes: 93 for a correct memmove (a forward byte copy would give 87).
;; `_start` traps unless `check` is right; the two `*_out_of_bounds` exports must trap.
(module
  (memory 1)
  (func $memset (param $dst i32) (param $value i32) (param $len i32)
    (memory.fill (local.get $dst) (local.get $value) (local.get $len)))
  (func $memmove (param $dst i32) (param $src i32) (param $len i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len)))
  (func $check (export "check") (result i32) (local $i i32) (local $sum i32)
    (call $memset (i32.const 100) (i32.const 0x107) (i32.const 10))
    (i32.store8 (i32.const 100) (i32.const 1))
    (call $memmove (i32.const 105) (i32.const 100) (i32.const 10))
    ;; Empty ranges at the very end are in bounds.
    (call $memset (i32.const 65536) (i32.const 9) (i32.const 0))
    (call $memmove (i32.const 65536) (i32.const 65536) (i32.const 0))
    (local.set $i (i32.const 100))
    (loop $next
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 115))))
    (local.get $sum))
  (func $copy_out_of_bounds (export "copy_out_of_bounds")
    (call $memmove (i32.const 0) (i32.const 65530) (i32.const 7)))
  (func $fill_out_of_bounds (export "fill_out_of_bounds")
    (call $memset (i32.const 65535) (i32.const 0) (i32.const 2)))
  (func (export "_start")
    (if (i32.ne (call $check) (i32.const 93)) (then unreachable))))
