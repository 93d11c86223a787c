;;! wasm3 = true
;; Guards what the Wasm 3.0 suite leaves out of tail calls and typed function references:
;; tail calls into another instance (its own vmctx) and into host functions, in constant
;; stack over a million bounces with stack arguments; call_ref and return_call_ref of
;; another instance's functions; table initialiser expressions that name imported
;; functions and globals; br_on_null / br_on_non_null with values below the reference;
;; call_indirect and return_call_indirect matching declared subtypes across instances.

(module $other
  (type $bounce (func (param i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (type $get (func (result i32)))
  (global $marker i32 (i32.const 77))
  (func $marker (export "marker") (type $get) (global.get $marker))
  (global (export "marker_ref") (ref $get) (ref.func $marker))
  ;; Counts the first argument down, adding the others on the way; bounces back to the
  ;; importing instance's `ping` through a table it exports.
  (table (export "pings") 1 funcref)
  (func (export "pong") (type $bounce)
    (param $n i64) (param $acc i64) (param i64 i64 i64 i64 i64 i64 i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call_indirect (type $bounce)
      (i64.sub (local.get $n) (i64.const 1))
      (i64.add (local.get $acc) (local.get 2))
      (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8)
      (local.get 2)
      (i32.const 0))))
(register "other" $other)

(module $main
  (type $bounce (func (param i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (type $get (func (result i32)))
  (type $print (func (param i32)))
  (import "spectest" "print_i32" (func $print_i32 (type $print)))
  (import "other" "pong" (func $pong (type $bounce)))
  (import "other" "pings" (table $pings 1 funcref))
  (import "other" "marker" (func $marker (type $get)))
  (import "other" "marker_ref" (global $marker_ref (ref $get)))
  (global $seven i32 (i32.const 7))

  ;; Every element starts as the initialiser's value: an imported function, an imported
  ;; global's reference, a function of this module.
  (table $from_import 3 (ref $get) (ref.func $marker))
  (table $from_global 2 (ref $get) (global.get $marker_ref))
  (table $own 4 (ref null $get) (ref.func $seven))

  (func $seven (type $get) (global.get $seven))
  (func $ping (type $bounce)
    (param $n i64) (param $acc i64) (param i64 i64 i64 i64 i64 i64 i64) (result i64)
    (if (i64.eqz (local.get $n)) (then (return (local.get $acc))))
    (return_call $pong
      (i64.sub (local.get $n) (i64.const 1))
      (i64.add (local.get $acc) (i64.const 1))
      (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7)
      (local.get 8)))
  (elem declare func $ping $seven)

  (func (export "bounce") (param $n i64) (result i64)
    (table.set $pings (i32.const 0) (ref.func $ping))
    (call $ping (local.get $n) (i64.const 0)
      (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)
      (i64.const 7)))

  ;; A tail call to a host function and one to another instance's function.
  (func $tail_print (param i32) (return_call $print_i32 (local.get 0)))
  (func (export "tail_print") (call $tail_print (i32.const 42)))
  (func $tail_marker (result i32) (return_call $marker))
  (func (export "tail_marker") (result i32) (call $tail_marker))

  ;; call_ref and return_call_ref of the other instance's function run with its globals.
  (func (export "call_ref_marker") (result i32) (call_ref $get (global.get $marker_ref)))
  (func $tail_ref (param (ref null $get)) (result i32) (return_call_ref $get (local.get 0)))
  (func (export "return_call_ref_marker") (result i32) (call $tail_ref (global.get $marker_ref)))
  (func (export "return_call_ref_null") (result i32) (call $tail_ref (ref.null $get)))

  (func (export "from_import") (param i32) (result i32)
    (call_ref $get (table.get $from_import (local.get 0))))
  (func (export "from_global") (param i32) (result i32)
    (call_ref $get (table.get $from_global (local.get 0))))
  (func (export "own") (param i32) (result i32)
    (call_indirect $own (type $get) (local.get 0)))
  (func (export "own_grown") (result i32)
    (drop (table.grow $own (ref.null $get) (i32.const 1)))
    (call_indirect $own (type $get) (i32.const 4)))

  ;; A non-nullable local, set before its use (its zero default is never read).
  (func (export "non_nullable_local") (result i32)
    (local $f (ref $get))
    (local.set $f (table.get $from_import (i32.const 2)))
    (block (result i32) (call_ref $get (local.get $f))))

  ;; `br_on_null` keeps the i32 below the reference on both paths; `br_on_non_null` takes it
  ;; with the reference.
  (func (export "br_on_null") (param $which i32) (result i32)
    (block $null (result i32)
      (i32.const -1)
      (table.get $own (local.get $which))
      (br_on_null $null)
      (call_ref $get)
      (i32.add)))
  (func (export "br_on_non_null") (param $which i32) (result i32)
    (block $non_null (result i32 (ref $get))
      (br_on_non_null $non_null (i32.const 100) (table.get $own (local.get $which)))
      (return (i32.const -1)))
    (call_ref $get)
    (i32.add)))

(assert_return (invoke "bounce" (i64.const 1000000)) (i64.const 2499994))
(assert_return (invoke "tail_print"))
(assert_return (invoke "tail_marker") (i32.const 77))
(assert_return (invoke "call_ref_marker") (i32.const 77))
(assert_return (invoke "return_call_ref_marker") (i32.const 77))
(assert_trap (invoke "return_call_ref_null") "null function reference")
(assert_return (invoke "from_import" (i32.const 2)) (i32.const 77))
(assert_return (invoke "from_global" (i32.const 1)) (i32.const 77))
(assert_return (invoke "own" (i32.const 3)) (i32.const 7))
(assert_trap (invoke "own_grown") "uninitialized element")
(assert_return (invoke "non_nullable_local") (i32.const 77))
(assert_return (invoke "br_on_null" (i32.const 0)) (i32.const 6))
(assert_return (invoke "br_on_null" (i32.const 4)) (i32.const -1))
(assert_return (invoke "br_on_non_null" (i32.const 1)) (i32.const 107))
(assert_return (invoke "br_on_non_null" (i32.const 4)) (i32.const -1))

;; call_indirect and return_call_indirect through a table of another instance whose
;; functions have declared subtypes: a subtype of the expected type matches, a sibling or a
;; supertype does not; an immutable global of a subtype imports at the supertype.
(module $subtypes
  (type $base (sub (func (result i32))))
  (type $derived (sub $base (func (result i32))))
  ;; The same structure and supertype as $derived, but final: another type.
  (type $sibling (sub final $base (func (result i32))))
  (func $base (type $base) (i32.const 1))
  (func $derived (type $derived) (i32.const 2))
  (func $sibling (type $sibling) (i32.const 3))
  (table (export "table") 3 funcref)
  (elem (i32.const 0) func $base $derived $sibling)
  (global (export "derived") (ref $derived) (ref.func $derived)))
(register "subtypes" $subtypes)

(module
  (type $base (sub (func (result i32))))
  (type $derived (sub $base (func (result i32))))
  (import "subtypes" "table" (table $table 3 funcref))
  ;; An immutable global may be imported at a supertype of its own.
  (import "subtypes" "derived" (global $derived_as_base (ref $base)))
  (func (export "global_as_base") (result i32) (call_ref $base (global.get $derived_as_base)))
  (func (export "as_base") (param i32) (result i32)
    (call_indirect $table (type $base) (local.get 0)))
  (func (export "as_derived") (param i32) (result i32)
    (call_indirect $table (type $derived) (local.get 0)))
  (func $tail_as_base (param i32) (result i32)
    (return_call_indirect $table (type $base) (local.get 0)))
  (func (export "tail_as_base") (param i32) (result i32)
    (call $tail_as_base (local.get 0))))

(assert_return (invoke "as_base" (i32.const 0)) (i32.const 1))
(assert_return (invoke "as_base" (i32.const 1)) (i32.const 2))
(assert_return (invoke "as_base" (i32.const 2)) (i32.const 3))
(assert_return (invoke "as_derived" (i32.const 1)) (i32.const 2))
(assert_trap (invoke "as_derived" (i32.const 0)) "indirect call type mismatch")
(assert_trap (invoke "as_derived" (i32.const 2)) "indirect call type mismatch")
(assert_return (invoke "tail_as_base" (i32.const 2)) (i32.const 3))
(assert_return (invoke "global_as_base") (i32.const 2))
