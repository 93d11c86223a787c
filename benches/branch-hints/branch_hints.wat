;; A hot loop with a rarely taken error path in its middle (hinted not taken) and a loop
;; branch (hinted taken): the workload of benches/branch-hints. It sums a checksum over a
;; 64 KiB buffer 20000 times; a value of 0xdeadbeef (never present) would send the loop
;; through a long, call-heavy recovery path. The measured region is the loop, between
;; `bench.start` and `bench.end`; the checksum goes to stdout so the work cannot vanish.
(module
  (import "bench" "start" (func $bench_start))
  (import "bench" "end" (func $bench_end))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)

  (func $recover (param $value i32) (result i32)
    (i32.xor (i32.rotl (local.get $value) (i32.const 7)) (i32.const 0x5bd1e995)))

  (func $checksum (param $rounds i32) (result i32)
    (local $i i32) (local $sum i32) (local $value i32)
    (loop $round
      (local.set $i (i32.const 0))
      (loop $next
        (local.set $value (i32.load (local.get $i)))
        (@metadata.code.branch_hint "\00")
        (if (i32.eq (local.get $value) (i32.const 0xdeadbeef))
          (then
            (local.set $sum (i32.add (local.get $sum) (call $recover (local.get $value))))
            (local.set $sum (i32.mul (local.get $sum) (call $recover (local.get $sum))))
            (local.set $sum (i32.xor (local.get $sum) (call $recover (local.get $i))))
            (local.set $sum (i32.rotl (local.get $sum) (call $recover (local.get $sum))))
            (local.set $sum (i32.sub (local.get $sum) (call $recover (local.get $value))))))
        (local.set $sum
          (i32.add (i32.mul (local.get $sum) (i32.const 31))
            (i32.xor (local.get $value) (i32.shr_u (local.get $value) (i32.const 13)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (@metadata.code.branch_hint "\01")
        (br_if $next (i32.lt_u (local.get $i) (i32.const 65536))))
      (local.set $rounds (i32.sub (local.get $rounds) (i32.const 1)))
      (@metadata.code.branch_hint "\01")
      (br_if $round (local.get $rounds)))
    (local.get $sum))

  ;; Writes $value as 8 hex digits and a newline to stdout.
  (func $print (param $value i32) (local $i i32) (local $nibble i32)
    (loop $digit
      (local.set $nibble
        (i32.and (i32.shr_u (local.get $value)
          (i32.mul (i32.sub (i32.const 7) (local.get $i)) (i32.const 4))) (i32.const 15)))
      (i32.store8 (i32.add (i32.const 65536) (local.get $i))
        (i32.add (local.get $nibble)
          (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $nibble) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digit (i32.lt_u (local.get $i) (i32.const 8))))
    (i32.store8 (i32.const 65544) (i32.const 10))
    (i32.store (i32.const 65552) (i32.const 65536))
    (i32.store (i32.const 65556) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 65552) (i32.const 1) (i32.const 65560))))

  (func (export "_start") (local $i i32) (local $sum i32)
    ;; The buffer: a xorshift sequence, which never produces 0xdeadbeef here.
    (local.set $sum (i32.const 2463534242))
    (loop $fill
      (local.set $sum (i32.xor (local.get $sum) (i32.shl (local.get $sum) (i32.const 13))))
      (local.set $sum (i32.xor (local.get $sum) (i32.shr_u (local.get $sum) (i32.const 17))))
      (local.set $sum (i32.xor (local.get $sum) (i32.shl (local.get $sum) (i32.const 5))))
      (i32.store (local.get $i) (i32.and (local.get $sum) (i32.const 0x7fffffff)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 65536))))
    (call $bench_start)
    (local.set $sum (call $checksum (i32.const 20000)))
    (call $bench_end)
    (call $print (local.get $sum))))
