;; Prints the guest's environment, one NAME=VALUE per line (environ_sizes_get, then
;; environ_get): cli/tests/targets.rs checks what executables built with --env and
;; --inherit-env pass on.
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; The count at 0 and the strings' size at 4; an iovec at 8; the pointers from 16 (room
  ;; for 1020); the strings from 4096.
  (func (export "_start")
    (local $size i32) (local $i i32)
    (drop (call $environ_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $size (i32.load (i32.const 4)))
    (drop (call $environ_get (i32.const 16) (i32.const 4096)))
    ;; Each string ends in a NUL: make it a newline.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $size)))
        (if (i32.eqz (i32.load8_u offset=4096 (local.get $i)))
          (then (i32.store8 offset=4096 (local.get $i) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 8) (i32.const 4096))
    (i32.store (i32.const 12) (local.get $size))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))))
