;; Writes a line to stdout, then traps with "integer divide by zero" three calls deep:
;; _start -> average -> divide. The backtrace must name divide, average, _start in that
;; order. The stdout line checks that output written before a trap is not lost.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec { base = 16, len = 16 } at 0, the text at 16.
  (data (i32.const 0) "\10\00\00\00\10\00\00\00")
  (data (i32.const 16) "before the trap\0a")

  (func $divide (param $numerator i32) (param $denominator i32) (result i32)
    (i32.div_s (local.get $numerator) (local.get $denominator)))

  (func $average (param $total i32) (param $count i32) (result i32)
    ;; The addition after the call keeps it from being a tail call.
    (i32.add (call $divide (local.get $total) (local.get $count)) (i32.const 1)))

  (func $_start (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $average (i32.const 100) (i32.const 0)))))
