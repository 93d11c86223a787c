;; Exceptions under `kiln run` and in a built executable. First an exception of $retry
;; thrown two calls deep is caught by a `try_table` in _start, which prints "caught 7"
;; (the payload). Then $invalid_input, which nothing catches (validate's handler is for
;; $retry only), leaves wasm: exit 134, "uncaught exception: tag invalid_input" and a
;; backtrace naming fail, validate, _start in that order.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec { base = 16, len = 9 } at 0, the text at 16 (its digit at 23).
  (data (i32.const 0) "\10\00\00\00\09\00\00\00")
  (data (i32.const 16) "caught ?\0a")
  (tag $retry (param i32))
  (tag $invalid_input (param i32))

  (func $fail (param $kind i32)
    (if (local.get $kind)
      (then (throw $invalid_input (local.get $kind))))
    (throw $retry (i32.const 7)))

  (func $validate (param $kind i32) (result i32)
    (block $retried (result i32)
      (try_table (result i32) (catch $retry $retried)
        (call $fail (local.get $kind))
        (i32.const 0)))
    ;; The addition keeps the call above from being the function's last instruction.
    (i32.add (i32.const 1)))

  (func $first (param $kind i32)
    (call $fail (local.get $kind)))

  (func $_start (export "_start")
    (local $payload i32)
    (block $caught (result i32)
      (try_table (catch $retry $caught)
        (call $first (i32.const 0)))
      (i32.const -1))
    (local.set $payload)
    (i32.store8 (i32.const 23) (i32.add (i32.const 48) (local.get $payload)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $validate (i32.const 2)))))
