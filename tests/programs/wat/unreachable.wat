;; Traps with "unreachable" three calls deep: _start -> validate -> fail.
(module
  (func $fail (param $code i32) (result i32)
    unreachable)

  (func $validate (param $value i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $value) (i32.const 0))
      (then (i32.add (call $fail (local.get $value)) (i32.const 1)))
      (else (local.get $value))))

  (func $_start (export "_start")
    (drop (call $validate (i32.const -5)))))
