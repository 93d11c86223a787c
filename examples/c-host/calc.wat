;; The module the C host example embeds: arithmetic that can trap, a memory the host
;; fills, a mutable global and an imported host function.
(module $calc
  (import "env" "log" (func $log (param i32 i64)))
  (memory (export "memory") 1)
  (global $calls (export "calls") (mut i32) (i32.const 0))

  (func $count
    (global.set $calls (i32.add (global.get $calls) (i32.const 1))))

  ;; a + b
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    (call $count)
    (i32.add (local.get $a) (local.get $b)))

  ;; a / b: traps with "integer divide by zero" when b is 0
  (func $divide (export "divide") (param $a i32) (param $b i32) (result i32)
    (call $count)
    (i32.div_s (local.get $a) (local.get $b)))

  ;; The sum of the bytes at [0, len), reported to the host and returned.
  (func (export "sum") (param $len i32) (result i64)
    (local $i i32)
    (local $total i64)
    (call $count)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $total
          (i64.add (local.get $total) (i64.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $log (local.get $len) (local.get $total))
    (local.get $total))

  ;; x * factor, in double precision
  (func (export "scale") (param $x f64) (param $factor f32) (result f64)
    (f64.mul (local.get $x) (f64.promote_f32 (local.get $factor)))))
