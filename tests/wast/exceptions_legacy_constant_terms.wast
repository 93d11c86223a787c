;; An access in a `try` body does not dominate its `catch` clauses, so a constant term
;; after it stays a wrapping sum there (translate/memory.rs, `split_constant_term`): at
;; p = -4, `p + 4` wraps to 0, a valid address, after a throw that came before the access
;; at p.
(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08")
  (tag $oops)
  (func $maybe_throw (param $c i32)
    (if (local.get $c) (then (throw $oops))))
  (func (export "access in body") (param $p i32) (param $c i32) (result i32)
    (try (result i32)
      (do
        (call $maybe_throw (local.get $c))
        (i32.load8_u (local.get $p)))
      (catch_all
        (i32.load8_u (i32.add (local.get $p) (i32.const 4))))))
)
(assert_return (invoke "access in body" (i32.const -4) (i32.const 1)) (i32.const 1))
(assert_trap (invoke "access in body" (i32.const -4) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "access in body" (i32.const 0) (i32.const 0)) (i32.const 1))
