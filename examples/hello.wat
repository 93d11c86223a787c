;; A WASI hello world in the text format: `kiln build examples/hello.wat -o hello && ./hello`.
(module $hello
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from kiln\n")
  (func $main (export "_start")
    ;; One iovec at address 0: { buf = 16, len = 16 }; bytes written go to address 8.
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
