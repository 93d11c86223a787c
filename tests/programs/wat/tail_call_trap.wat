;; Traps with "unreachable" behind two tail calls: _start -> validate -> check, which
;; tail-calls relay (return_call_indirect), which tail-calls fail (return_call). The frames
;; of check and relay are gone: the backtrace is fail, validate, _start.
(module
  (type $i32_to_i32 (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $relay)

  (func $fail (param $code i32) (result i32)
    unreachable)

  (func $relay (param $value i32) (result i32)
    (return_call $fail (local.get $value)))

  (func $check (param $value i32) (result i32)
    (return_call_indirect (type $i32_to_i32) (local.get $value) (i32.const 0)))

  (func $validate (param $value i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $value) (i32.const 0))
      (then (i32.add (call $check (local.get $value)) (i32.const 1)))
      (else (local.get $value))))

  (func $_start (export "_start")
    (drop (call $validate (i32.const -5)))))
