;; Imports WASI under both module names: `wasi_snapshot_preview1.fd_write` and
;; `path_open`, and `wasi_unstable.fd_seek`, one of the functions whose snapshot-0 layout
;; differs (its `whence` values). Opens `nine` in the first preopened directory (fd 3),
;; seeks to 2 bytes before its end with snapshot 0's `end` (1; preview 1's `cur`), then
;; prints the new offset as a digit and "ok\n": a file of 9 bytes prints "7ok". Exits with
;; the errno of a call that fails.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_seek"
    (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_unstable" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "?ok\n")
  (data (i32.const 48) "nine")
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (local.get $errno)))))
  (func (export "_start")
    ;; path_open(3, 0, "nine", 0 oflags, read+seek rights, 0, 0 fdflags, &fd at 24)
    (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 4)
      (i32.const 0) (i64.const 6) (i64.const 0) (i32.const 0) (i32.const 24)))
    ;; fd_seek(fd, -2, whence 1 = end in snapshot 0, &offset at 16)
    (call $check (call $fd_seek (i32.load (i32.const 24)) (i64.const -2) (i32.const 1)
      (i32.const 16)))
    (i32.store8 (i32.const 32) (i32.add (i32.const 48) (i32.load (i32.const 16))))
    ;; iovec at 0: (32, 4)
    (i32.store (i32.const 0) (i32.const 32))
    (i32.store (i32.const 4) (i32.const 4))
    (call $check (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
