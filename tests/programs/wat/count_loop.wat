;; Fuel's exact count: `_start` calls (1 unit) a loop of 1000 iterations of 7 operators
;; that cost one unit each, then prints "done". The loop header checks the fuel before
;; iterations 2 to 1000, when 1 + 7 * 999 = 6994 units are spent at the last check:
;; cli/tests/limits.rs asserts that `--fuel 6994` finishes and `--fuel 6993` runs out, on
;; every target.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "done\n")
  (func $count (local $i i32)
    (loop $again
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 1000
      i32.ne
      br_if $again))
  (func $main (export "_start")
    (call $count)
    (i32.store (i32.const 8) (i32.const 100))
    (i32.store (i32.const 12) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))
