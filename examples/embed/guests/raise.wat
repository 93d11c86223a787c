;; A guest whose exception reaches its Rust host: `check` throws $too_large (payload: the
;; value) for values over 100; `clamp` calls `check` and catches $too_large itself,
;; returning 100 instead. The host sees the uncaught one as a typed error.
(module
  (tag $too_large (export "too_large") (param i32))
  (func $check (export "check") (param $value i32) (result i32)
    (if (i32.gt_s (local.get $value) (i32.const 100))
      (then (throw $too_large (local.get $value))))
    (local.get $value))
  (func (export "clamp") (param $value i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $too_large $caught)
        (call $check (local.get $value)))
      (return))
    ;; Caught: the payload is the value that was too large.
    (drop)
    (i32.const 100)))
