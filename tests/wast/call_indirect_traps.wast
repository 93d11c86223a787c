;; Guards call_indirect's three checks (undefined element, uninitialized element, indirect
;; call type mismatch) and that identical types, here or in another module, match.

(module $callee
  (type $ii (func (param i32) (result i32)))
  (func (export "double") (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (table (export "table") 4 funcref)
  (elem (i32.const 3) func 0))
(register "callee" $callee)

(module
  (type $ii (func (param i32) (result i32)))
  ;; The same type again, declared separately: types are compared structurally.
  (type $ii_again (func (param i32) (result i32)))
  (type $v_i (func (result i32)))
  (type $i64 (func (param i64) (result i32)))
  (import "callee" "double" (func $double (type $ii)))
  (import "callee" "table" (table $imported 4 funcref))
  (table $t 4 funcref)
  (func $inc (type $ii_again) (i32.add (local.get 0) (i32.const 1)))
  (func $seven (type $v_i) (i32.const 7))
  ;; Slot 3 stays null.
  (elem (table $t) (i32.const 0) func $inc $seven $double)

  (func (export "call_ii") (param $index i32) (param $x i32) (result i32)
    (call_indirect $t (type $ii) (local.get $x) (local.get $index)))
  (func (export "call_ii_again") (param $index i32) (param $x i32) (result i32)
    (call_indirect $t (type $ii_again) (local.get $x) (local.get $index)))
  (func (export "call_v_i") (param $index i32) (result i32)
    (call_indirect $t (type $v_i) (local.get $index)))
  (func (export "call_i64") (param $index i32) (result i32)
    (call_indirect $t (type $i64) (i64.const 1) (local.get $index)))
  (func (export "call_imported") (param $index i32) (param $x i32) (result i32)
    (call_indirect $imported (type $ii) (local.get $x) (local.get $index)))
  (func (export "grow") (param $n i32) (result i32)
    (table.grow $t (ref.null func) (local.get $n))))

(assert_return (invoke "call_ii" (i32.const 0) (i32.const 41)) (i32.const 42))
(assert_return (invoke "call_ii_again" (i32.const 0) (i32.const 41)) (i32.const 42))
(assert_return (invoke "call_ii" (i32.const 2) (i32.const 21)) (i32.const 42))
(assert_return (invoke "call_v_i" (i32.const 1)) (i32.const 7))
(assert_return (invoke "call_imported" (i32.const 3) (i32.const 5)) (i32.const 10))

(assert_trap (invoke "call_ii" (i32.const 1) (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "call_v_i" (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "call_i64" (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "call_ii" (i32.const 3) (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call_imported" (i32.const 0) (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call_ii" (i32.const 4) (i32.const 0)) "undefined element")
(assert_trap (invoke "call_ii" (i32.const -1) (i32.const 0)) "undefined element")
(assert_trap (invoke "call_ii" (i32.const 0x8000_0000) (i32.const 0)) "undefined element")

;; After table.grow the new slots are in bounds but null; the old bound moved.
(assert_return (invoke "grow" (i32.const 2)) (i32.const 4))
(assert_trap (invoke "call_ii" (i32.const 5) (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call_ii" (i32.const 6) (i32.const 0)) "undefined element")
(assert_return (invoke "call_ii" (i32.const 0) (i32.const 1)) (i32.const 2))
