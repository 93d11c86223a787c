;; A guest that never stops: `_start` loops forever, or with any command-line argument the
;; start function does (before `_start` could run). cli/tests/limits.rs stops it with
;; --fuel and --timeout.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $spin (loop $forever (br $forever)))
  (func $start
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 1)) (then (call $spin))))
  (start $start)
  (func $main (export "_start") (call $spin)))
