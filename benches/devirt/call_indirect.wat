;; call_indirect in a hot loop, through tables fixed after instantiation (the workload of
;; benches/devirt: `micro/call_indirect` there). Each of 50 million rounds calls one of
;; four functions of one type through `$ops` at a variable index (kiln: the code-table
;; path) and the only function of another type through `$steps` (kiln: a guarded direct
;; call). The measured region is the loop, between `bench.start` and `bench.end`; the
;; result goes to stdout in hex so the work cannot vanish.
(module
  (import "bench" "start" (func $bench_start))
  (import "bench" "end" (func $bench_end))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (type $op (func (param i32 i32) (result i32)))
  (type $step (func (param i32) (result i32)))
  (table $ops 4 funcref)
  (elem (table $ops) (i32.const 0) func $add $sub $xor $rotl)
  (table $steps 2 funcref)
  (elem (table $steps) (i32.const 0) func $mix)

  (func $add (type $op) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $op) (i32.sub (local.get 0) (local.get 1)))
  (func $xor (type $op) (i32.xor (local.get 0) (local.get 1)))
  (func $rotl (type $op) (i32.rotl (local.get 0) (local.get 1)))
  (func $mix (type $step)
    (i32.xor (i32.mul (local.get 0) (i32.const 0x9e3779b1))
             (i32.shr_u (local.get 0) (i32.const 15))))

  (func $run (param $rounds i32) (result i32)
    (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 1))
    (loop $next
      (local.set $acc
        (call_indirect $ops (type $op)
          (local.get $acc) (local.get $i)
          (i32.and (i32.add (local.get $i) (i32.shr_u (local.get $acc) (i32.const 30)))
                   (i32.const 3))))
      ;; Index 0 for every round below 2^31.
      (local.set $acc
        (call_indirect $steps (type $step)
          (local.get $acc) (i32.shr_u (local.get $i) (i32.const 31))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $rounds))))
    (local.get $acc))

  ;; Writes `value` as 8 hex digits and a newline to stdout.
  (func $print_hex (param $value i32)
    (local $i i32) (local $digit i32)
    (loop $digits
      (local.set $digit
        (i32.and (i32.shr_u (local.get $value) (i32.sub (i32.const 28)
          (i32.mul (local.get $i) (i32.const 4)))) (i32.const 15)))
      (i32.store8 offset=16 (local.get $i)
        (i32.add (local.get $digit)
          (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $digit) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digits (i32.lt_u (local.get $i) (i32.const 8))))
    (i32.store8 offset=24 (i32.const 0) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func (export "_start")
    (local $result i32)
    (call $bench_start)
    (local.set $result (call $run (i32.const 50000000)))
    (call $bench_end)
    (call $print_hex (local.get $result))))
