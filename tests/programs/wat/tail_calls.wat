;; Tail calls in constant stack: `_start` bounces 10^8 times between `$ping` and `$pong`,
;; `$ping` reaching `$pong` through `return_call` and `$pong` reaching `$ping` through
;; `return_call_indirect` (with more parameters than registers hold, so the tail calls move
;; stack arguments too), then prints the checksum they carried: 12152849835431886976.
;; As plain calls, the chain would need gigabytes of stack; cli/tests/e2e.rs runs it under
;; `kiln run` and as built executables (glibc and static musl).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (type $ping_type (func (param i64 i64) (result i64)))
  (table 1 funcref)
  (elem (i32.const 0) $ping)
  (func $ping (export "ping") (type $ping_type) (param $n i64) (param $acc i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call $pong
      (i64.sub (local.get $n) (i64.const 1))
      (i64.add (local.get $acc) (local.get $n))
      (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
      (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8)))
  (func $pong (param $n i64) (param $acc i64)
      (param $a i64) (param $b i64) (param $c i64) (param $d i64)
      (param $e i64) (param $f i64) (param $g i64) (param $h i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call_indirect (type $ping_type)
      (i64.sub (local.get $n) (i64.const 1))
      (i64.add
        (i64.mul (local.get $acc) (i64.const 31))
        (i64.add
          (i64.add (i64.add (local.get $a) (local.get $b)) (i64.add (local.get $c) (local.get $d)))
          (i64.add (i64.add (local.get $e) (local.get $f)) (i64.add (local.get $g) (local.get $h)))))
      (i32.const 0)))
  ;; Writes `value` in decimal and a newline to stdout.
  (func $print_u64 (param $value i64)
    (local $at i32)
    (local.set $at (i32.const 200))
    (i32.store8 (local.get $at) (i32.const 10))
    (loop $digits
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $value) (i64.const 10)))))
      (local.set $value (i64.div_u (local.get $value) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $value) (i64.const 0))))
    (i32.store (i32.const 8) (local.get $at))
    (i32.store (i32.const 12) (i32.sub (i32.const 201) (local.get $at)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
  (func (export "_start")
    (call $print_u64 (call $ping (i64.const 100000000) (i64.const 0)))))
