;; Guards `if` without `else` carrying parameters: its false edge goes straight to the end
;; with the parameters (compiler commit 5bf08e6), and an `else` retargets that edge.

(module
  ;; One parameter, passed through unchanged when the condition is false.
  (func (export "add_if") (param $x i32) (param $c i32) (result i32)
    (local.get $x)
    (if (param i32) (result i32) (local.get $c)
      (then (i32.add (i32.const 100)))))

  ;; Two parameters of different types, replaced by the then arm.
  (func (export "two_params") (param $c i32) (result i32 i64)
    (i32.const 7)
    (i64.const 8)
    (if (param i32 i64) (result i32 i64) (local.get $c)
      (then (drop) (drop) (i32.const 1) (i64.const 2))))

  ;; A branch out of the then arm carries the same values as falling off its end.
  (func (export "br_out") (param $x i32) (param $c i32) (result i32)
    (local.get $x)
    (if (param i32) (result i32) (local.get $c)
      (then
        (br_if 0 (i32.add (i32.const 1)) (i32.gt_u (local.get $x) (i32.const 10)))
        (i32.mul (i32.const 2))))
    (i32.add (i32.const 1000)))

  ;; Nested: the inner if's false edge leads to the outer if's end, not past it.
  (func (export "nested") (param $x i32) (param $a i32) (param $b i32) (result i32)
    (local.get $x)
    (if (param i32) (result i32) (local.get $a)
      (then
        (i32.add (i32.const 10))
        (if (param i32) (result i32) (local.get $b)
          (then (i32.add (i32.const 100))))
        (i32.add (i32.const 1000)))))

  ;; In a loop, the parameter is the loop's value (as in the golden test of 5bf08e6).
  (func (export "count_odd") (param $n i32) (result i32)
    (i32.const 0)
    (loop $next (param i32) (result i32)
      (if (param i32) (result i32) (i32.and (local.get $n) (i32.const 1))
        (then (i32.add (i32.const 1))))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $next (i32.ne (i32.const 0)))))

  ;; The same shape with an `else`: the false edge now goes to the else arm.
  (func (export "with_else") (param $x i32) (param $c i32) (result i32)
    (local.get $x)
    (if (param i32) (result i32) (local.get $c)
      (then (i32.add (i32.const 100)))
      (else (i32.sub (i32.const 100)))))

  ;; An if without else in unreachable code is still well-formed and skipped.
  (func (export "after_unreachable") (param $c i32) (result i32)
    (block (result i32)
      (br 0 (i32.const 5))
      (if (param i32) (result i32) (local.get $c)
        (then (i32.add (i32.const 1)))))))

(assert_return (invoke "add_if" (i32.const 5) (i32.const 1)) (i32.const 105))
(assert_return (invoke "add_if" (i32.const 5) (i32.const 0)) (i32.const 5))
(assert_return (invoke "two_params" (i32.const 1)) (i32.const 1) (i64.const 2))
(assert_return (invoke "two_params" (i32.const 0)) (i32.const 7) (i64.const 8))
(assert_return (invoke "br_out" (i32.const 3) (i32.const 1)) (i32.const 1008))
(assert_return (invoke "br_out" (i32.const 30) (i32.const 1)) (i32.const 1031))
(assert_return (invoke "br_out" (i32.const 30) (i32.const 0)) (i32.const 1030))
(assert_return (invoke "nested" (i32.const 1) (i32.const 1) (i32.const 1)) (i32.const 1111))
(assert_return (invoke "nested" (i32.const 1) (i32.const 1) (i32.const 0)) (i32.const 1011))
(assert_return (invoke "nested" (i32.const 1) (i32.const 0) (i32.const 1)) (i32.const 1))
(assert_return (invoke "count_odd" (i32.const 1)) (i32.const 1))
(assert_return (invoke "count_odd" (i32.const 10)) (i32.const 5))
(assert_return (invoke "count_odd" (i32.const 11)) (i32.const 6))
(assert_return (invoke "with_else" (i32.const 500) (i32.const 1)) (i32.const 600))
(assert_return (invoke "with_else" (i32.const 500) (i32.const 0)) (i32.const 400))
(assert_return (invoke "after_unreachable" (i32.const 1)) (i32.const 5))

;; Without else, the parameter and result types must be the same.
(assert_invalid
  (module (func (param i32) (result i64)
    (local.get 0) (if (param i32) (result i64) (i32.const 1) (then (i64.extend_i32_u)))))
  "type mismatch")
