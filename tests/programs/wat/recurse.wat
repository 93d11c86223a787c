;; `r n` recurses n frames deep and returns n: cli/tests/limits.rs runs it under --max-stack.
;; `_start` recurses 1000 frames deep per command-line argument (a WASI command has no
;; other input), then prints "done".
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "done\n")
  (func $r (export "r") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $r (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "_start")
    ;; argc, the program name included, at 0.
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $r (i32.mul (i32.sub (i32.load (i32.const 0)) (i32.const 1)) (i32.const 1000))))
    (i32.store (i32.const 8) (i32.const 100))
    (i32.store (i32.const 12) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))
