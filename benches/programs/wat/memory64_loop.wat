(;
  The load/store loop of memory32_loop.wat over a 64-bit memory (memory64).
  The pair memory32_loop.wat / memory64_loop.wat differ only in the memory's index type
  (and the index arithmetic's width): the ratio of their run times is the cost of
  memory64's bounds checks (goal: at most 1.3x). 2,000 passes over 1 MiB: each loads every
  8-byte slot, adds the slot's index, stores it back and sums what it loaded; `_start` traps
  unless the sum is right, so the harness's exit check is the output check.
;)
(module
  (import "bench" "start" (func $bench_start))
  (import "bench" "end" (func $bench_end))
  (memory (export "memory") i64 16)
  (func $passes (param $passes i32) (result i64)
    (local $i i64) (local $value i64) (local $sum i64)
    (loop $pass
      (local.set $i (i64.const 0))
      (loop $slot
        (local.set $value (i64.load (local.get $i)))
        (local.set $sum (i64.add (local.get $sum) (local.get $value)))
        (i64.store (local.get $i) (i64.add (local.get $value) (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br_if $slot (i64.lt_u (local.get $i) (i64.const 1048576))))
      (local.set $passes (i32.sub (local.get $passes) (i32.const 1)))
      (br_if $pass (local.get $passes)))
    (local.get $sum))
  (func (export "_start")
    (local $sum i64)
    (call $bench_start)
    (local.set $sum (call $passes (i32.const 2000)))
    (call $bench_end)
    ;; Pass p (from 0) loads p * i at byte offset i: the sum over 2,000 passes is
    ;; (0 + 1 + ... + 1999) * (0 + 8 + ... + 1048568).
    (if (i64.ne (local.get $sum) (i64.const 137369185943552000)) (then unreachable))))
