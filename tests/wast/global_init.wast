;; Guards constant expressions Wasm 2.0 allows beyond a literal: global.get of an imported
;; global (from spectest and from another module), ref.func and ref.null, used to
;; initialise globals and as data and element offsets.

(module $exporter
  (global (export "offset") i32 (i32.const 8))
  (global (export "big") i64 (i64.const 0x1234_5678_9abc_def0))
  (global (export "pi") f64 (f64.const 3.141592653589793))
  (global (export "nan") f32 (f32.const nan:0x200000))
  (func $answer (result i32) (i32.const 42))
  (global (export "answer") funcref (ref.func $answer)))
(register "exporter" $exporter)

(module
  (type $v_i (func (result i32)))
  (import "spectest" "global_i32" (global $spectest_i32 i32))
  (import "spectest" "global_f32" (global $spectest_f32 f32))
  (import "exporter" "offset" (global $offset i32))
  (import "exporter" "big" (global $big i64))
  (import "exporter" "pi" (global $pi f64))
  (import "exporter" "nan" (global $nan f32))
  (import "exporter" "answer" (global $answer funcref))

  (global $a (export "a") i32 (global.get $spectest_i32))
  (global $b (export "b") (mut i64) (global.get $big))
  (global $c (export "c") f64 (global.get $pi))
  (global $d (export "d") f32 (global.get $spectest_f32))
  ;; NaN payloads pass through unchanged.
  (global $e (export "e") f32 (global.get $nan))
  (global $f funcref (global.get $answer))
  (global $g funcref (ref.func $local))
  (global $h (export "h") externref (ref.null extern))

  (memory 1)
  (table $t 16 funcref)
  ;; Offsets from imported globals: bytes 8.. and table slots 8, 9.
  (data (global.get $offset) "\2a\00\00\00")
  (elem (table $t) (global.get $offset) funcref (global.get $answer) (ref.func $local))

  (func $local (result i32) (i32.const 7))
  (func (export "b_plus") (param i64) (result i64)
    (global.set $b (i64.add (global.get $b) (local.get 0)))
    (global.get $b))
  ;; Calls a function reference through table slot 0 (Wasm 2.0 has no call_ref).
  (func $call (param funcref) (result i32)
    (table.set $t (i32.const 0) (local.get 0))
    (call_indirect $t (type $v_i) (i32.const 0)))
  (func (export "call_f") (result i32) (call $call (global.get $f)))
  (func (export "call_g") (result i32) (call $call (global.get $g)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "call_slot") (param i32) (result i32)
    (call_indirect $t (type $v_i) (local.get 0))))

(assert_return (get "a") (i32.const 666))
(assert_return (get "b") (i64.const 0x1234_5678_9abc_def0))
(assert_return (get "c") (f64.const 3.141592653589793))
(assert_return (get "d") (f32.const 666.6))
(assert_return (get "e") (f32.const nan:0x200000))
(assert_return (get "h") (ref.null extern))
;; A mutable global initialised from an immutable import is a copy.
(assert_return (invoke "b_plus" (i64.const 0x10)) (i64.const 0x1234_5678_9abc_df00))
(assert_return (get $exporter "big") (i64.const 0x1234_5678_9abc_def0))
(assert_return (invoke "call_f") (i32.const 42))
(assert_return (invoke "call_g") (i32.const 7))
(assert_return (invoke "load" (i32.const 8)) (i32.const 42))
(assert_return (invoke "load" (i32.const 4)) (i32.const 0))
(assert_return (invoke "call_slot" (i32.const 8)) (i32.const 42))
(assert_return (invoke "call_slot" (i32.const 9)) (i32.const 7))
(assert_trap (invoke "call_slot" (i32.const 10)) "uninitialized element")

;; An offset from an imported global is checked at instantiation like any other.
(module $far
  (global (export "far") i32 (i32.const 0x1_0000)))
(register "far" $far)
(assert_trap
  (module
    (import "far" "far" (global $far i32))
    (memory 1)
    (data (global.get $far) "x"))
  "out of bounds memory access")
(assert_trap
  (module
    (import "far" "far" (global $far i32))
    (table 1 funcref)
    (func $f)
    (elem (global.get $far) func $f))
  "out of bounds table access")

;; Only imported globals may be read, in 2.0: a defined one is rejected.
(assert_invalid
  (module (global $x i32 (i32.const 1)) (global i32 (global.get $x)))
  "unknown global")
