;; Prints, one per line in hex, what the guest sees of time and randomness: monotonic
;; clock, realtime clock, monotonic clock again after a relative 1 s `poll_oneoff` timer,
;; then two 8-byte `random_get` draws (each read as a little-endian i64).
;; Under `--deterministic` this is always the same: virtual time advances 1 µs per read
;; and jumps over waits, and the random bytes are SplitMix64's from state 0.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get"
    (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Scratch: 0..8 a value, 64..112 a subscription, 128..160 its event, 160 nevents,
  ;; 192 an iovec, 256.. the text being written.

  ;; Writes $value as 16 hex digits and a newline to stdout.
  (func $print (param $value i64) (local $i i32) (local $nibble i32)
    (loop $digit
      (local.set $nibble
        (i32.wrap_i64 (i64.and
          (i64.shr_u (local.get $value) (i64.extend_i32_u
            (i32.mul (i32.sub (i32.const 15) (local.get $i)) (i32.const 4))))
          (i64.const 15))))
      (i32.store8 (i32.add (i32.const 256) (local.get $i))
        (i32.add (local.get $nibble)
          (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $nibble) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digit (i32.lt_u (local.get $i) (i32.const 16))))
    (i32.store8 (i32.const 272) (i32.const 10))
    (i32.store (i32.const 192) (i32.const 256))
    (i32.store (i32.const 196) (i32.const 17))
    (call $check (call $fd_write (i32.const 1) (i32.const 192) (i32.const 1) (i32.const 200))))

  (func $check (param $errno i32)
    (if (local.get $errno) (then unreachable)))

  (func $clock (param $id i32) (result i64)
    (call $check (call $clock_time_get (local.get $id) (i64.const 1) (i32.const 0)))
    (i64.load (i32.const 0)))

  (func $random (result i64)
    (call $check (call $random_get (i32.const 0) (i32.const 8)))
    (i64.load (i32.const 0)))

  (func (export "_start")
    (call $print (call $clock (i32.const 1)))
    (call $print (call $clock (i32.const 0)))
    ;; userdata 7, clock, monotonic, timeout 1 s, relative.
    (i64.store (i32.const 64) (i64.const 7))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 1000000000))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (call $check (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 160)))
    (call $print (call $clock (i32.const 1)))
    (call $print (call $random))
    (call $print (call $random))))
