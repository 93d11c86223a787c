;; Guards the compares kept on a counter's new value (`keep_counter` in
;; compiler/src/translate/numeric.rs): `(x + K1) == K2` and `(x - K1) != K2` compare the
;; sum, also when it wraps, for i32 and i64, with the constant on either side, in `eqz`,
;; and as loop conditions whose counter stays in a local.

(module
  (func (export "add_eq32") (param i32) (result i32)
    (i32.eq (i32.add (local.get 0) (i32.const 1)) (i32.const 0)))
  (func (export "sub_ne32") (param i32) (result i32)
    (i32.ne (i32.const -2147483648) (i32.sub (local.get 0) (i32.const 1))))
  (func (export "add_eq64") (param i64) (result i32)
    (i64.eq (i64.add (i64.const 5) (local.get 0)) (i64.const 4)))
  (func (export "eqz32") (param i32) (result i32)
    (i32.eqz (i32.add (local.get 0) (i32.const 3))))
  (func (export "eqz64") (param i64) (result i32)
    (i64.eqz (i64.sub (local.get 0) (i64.const -1))))
  ;; A counted loop, LLVM's shape: the new counter kept and compared with the bound.
  (func (export "count") (result i32)
    (local $i i32) (local $n i32)
    (loop $l
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 400))))
    (i32.add (i32.mul (local.get $n) (i32.const 1000)) (local.get $i)))
  ;; The same with the exit at the top of the loop and an i64 counter that wraps past zero.
  (func (export "count64") (param $start i64) (result i64)
    (local $n i64)
    (block $done
      (loop $l
        (br_if $done (i64.eq (local.tee $start (i64.add (local.get $start) (i64.const 2)))
                             (i64.const 6)))
        (local.set $n (i64.add (local.get $n) (i64.const 1)))
        (br $l)))
    (i64.add (i64.mul (local.get $n) (i64.const 1000)) (local.get $start))))

(assert_return (invoke "add_eq32" (i32.const -1)) (i32.const 1))
(assert_return (invoke "add_eq32" (i32.const 0)) (i32.const 0))
(assert_return (invoke "add_eq32" (i32.const 0x7fffffff)) (i32.const 0))
(assert_return (invoke "sub_ne32" (i32.const 0x80000001)) (i32.const 0))
(assert_return (invoke "sub_ne32" (i32.const 0x80000000)) (i32.const 1))
(assert_return (invoke "add_eq64" (i64.const -1)) (i32.const 1))
(assert_return (invoke "add_eq64" (i64.const 0)) (i32.const 0))
(assert_return (invoke "eqz32" (i32.const -3)) (i32.const 1))
(assert_return (invoke "eqz32" (i32.const 3)) (i32.const 0))
(assert_return (invoke "eqz64" (i64.const -1)) (i32.const 1))
(assert_return (invoke "eqz64" (i64.const 1)) (i32.const 0))
(assert_return (invoke "count") (i32.const 100400))
(assert_return (invoke "count64" (i64.const 0)) (i64.const 2006))
(assert_return (invoke "count64" (i64.const -4)) (i64.const 4006))
