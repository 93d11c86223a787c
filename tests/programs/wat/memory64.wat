;; A 64-bit memory (memory64): `check` grows it from one page to three (and fails to grow
;; past its maximum of four), stores i * 3 as an i64 at every 8-byte slot of the three
;; pages through i64 addresses, sums the slots back and returns the sum, 905932800.
;; `_start` traps unless `check` is right; `out_of_bounds` (the last slot's end crossing the
;; memory's end) and `past_4_gib` (an i64 address that a 32-bit one would wrap into range)
;; must trap.
(module
  (memory i64 1 4)
  (func $check (export "check") (result i64) (local $i i64) (local $sum i64)
    (if (i64.ne (memory.grow (i64.const 2)) (i64.const 1)) (then unreachable))
    (if (i64.ne (memory.size) (i64.const 3)) (then unreachable))
    (if (i64.ne (memory.grow (i64.const 2)) (i64.const -1)) (then unreachable))
    (loop $store
      (i64.store (i64.shl (local.get $i) (i64.const 3)) (i64.mul (local.get $i) (i64.const 3)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $store (i64.lt_u (local.get $i) (i64.const 24576))))
    (local.set $i (i64.const 0))
    (loop $load
      (local.set $sum
        (i64.add (local.get $sum) (i64.load (i64.shl (local.get $i) (i64.const 3)))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $load (i64.lt_u (local.get $i) (i64.const 24576))))
    (local.get $sum))
  (func (export "out_of_bounds") (result i64)
    (drop (memory.grow (i64.const 2)))
    (i64.load (i64.const 196604)))
  (func (export "past_4_gib") (result i32)
    (i32.load8_u (i64.const 0x1_0000_0000)))
  (func (export "_start")
    (if (i64.ne (call $check) (i64.const 905932800)) (then unreachable))))
