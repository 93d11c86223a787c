;; Reads stdin once with two iovecs (4 bytes, then 100) and writes back what it read,
;; then the count as a digit and a newline, with one fd_write of three iovecs (the middle
;; one empty). A read returns what the pipe holds: 4 bytes that fill the first iovec must
;; not make the read wait for more to fill the second.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Read iovecs at 0: {100, 4}, {200, 100}.
  (data (i32.const 0) "\64\00\00\00\04\00\00\00\c8\00\00\00\64\00\00\00")
  ;; Write iovecs at 32: {100, n}, {400, 0}, {300, 2}; n is filled in.
  (data (i32.const 32) "\64\00\00\00\00\00\00\00\90\01\00\00\00\00\00\00\2c\01\00\00\02\00\00\00")
  (data (i32.const 301) "\n")
  (func (export "_start")
    (local $n i32)
    (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 16))
      (then unreachable))
    (local.set $n (i32.load (i32.const 16)))
    ;; What was read is contiguous only within the first iovec: at most 4 bytes expected.
    (if (i32.gt_u (local.get $n) (i32.const 4)) (then unreachable))
    (i32.store (i32.const 36) (local.get $n))
    (i32.store8 (i32.const 300) (i32.add (i32.const 48) (local.get $n)))
    (if (call $fd_write (i32.const 1) (i32.const 32) (i32.const 3) (i32.const 16))
      (then unreachable))
    (if (i32.ne (i32.load (i32.const 16)) (i32.add (local.get $n) (i32.const 2)))
      (then unreachable))))
