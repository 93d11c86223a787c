;; A function with more results than return registers, for `kiln run --invoke`.
(module
  (func (export "swap3") (param i32 i64 f64) (result f64 i64 i32 i32 i64 f64 i32 i64 f32 f64 i32 i64 i32 i32 i32 i32 i32 i32)
    local.get 2 local.get 1 local.get 0 local.get 0 local.get 1 local.get 2
    i32.const 7 i64.const -8 f32.const 1.5 f64.const 2.25 i32.const 9 i64.const 10
    i32.const 11 i32.const 12 i32.const 13 i32.const 14 i32.const 15 i32.const 16))
