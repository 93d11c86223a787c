;; A sightglass benchmark in miniature: `_start` prints "measured" between `bench.start`
;; and `bench.end`. cli/tests/targets.rs checks that an executable of it links the bench
;; imports (executables of modules without them do not) and records the region's length
;; in the file KILN_BENCH_TIMES names.
(module
  (import "bench" "start" (func $start))
  (import "bench" "end" (func $end))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "measured\n")
  (func (export "_start")
    call $start
    ;; One iovec at 0: "measured\n" at 16, 9 bytes; the count written goes to 8.
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    call $end))
