;; A guest that blocks in the host: `_start` asks poll_oneoff for a 60-second relative
;; clock timeout and prints "woke" after it; with any command-line argument it reads
;; stdin instead and prints "read". cli/tests/limits.rs cuts both short with --timeout.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "woke\n")
  (data (i32.const 208) "read\n")
  (func $print (param $at i32)
    (i32.store (i32.const 8) (local.get $at))
    (i32.store (i32.const 12) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
  (func $main (export "_start")
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 1))
      (then
        ;; One iovec of 64 bytes at 512.
        (i32.store (i32.const 24) (i32.const 512))
        (i32.store (i32.const 28) (i32.const 64))
        (drop (call $fd_read (i32.const 0) (i32.const 24) (i32.const 1) (i32.const 32)))
        (call $print (i32.const 208))
        (return)))
    ;; A clock subscription at 64: userdata, tag 0 (clock), clock id 1 (monotonic),
    ;; timeout 60 s in ns, precision 0, flags 0 (relative).
    (i64.store (i32.const 64) (i64.const 7))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 60000000000))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 160)))
    (call $print (i32.const 200))))
