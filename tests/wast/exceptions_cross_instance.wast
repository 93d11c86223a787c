;; Guards exceptions across instances: a tag's identity is the tag instance, shared by
;; import and export, so an exception thrown by one instance is caught by another that
;; imports the tag; two instances of one module have different tags; exceptions pass
;; through the frames of a third instance, through call_indirect, and out of nested
;; handlers that do not match; an uncaught exception reaches the host.
(module $thrower
  (tag $shared (export "shared") (param i32))
  (tag $own (export "own") (param i64 f64))
  (func (export "throw-shared") (param i32) (throw $shared (local.get 0)))
  (func (export "throw-own") (throw $own (i64.const 42) (f64.const 2.5)))
)
(register "thrower" $thrower)

(module $middle
  (import "thrower" "throw-shared" (func $throw-shared (param i32)))
  (func (export "pass-through") (param i32) (result i32)
    (call $throw-shared (local.get 0))
    (i32.const -1))
)
(register "middle" $middle)

(module $catcher
  (import "thrower" "shared" (tag $shared (param i32)))
  (import "thrower" "own" (tag $own (param i64 f64)))
  (import "thrower" "throw-shared" (func $throw-shared (param i32)))
  (import "thrower" "throw-own" (func $throw-own))
  (import "middle" "pass-through" (func $pass-through (param i32) (result i32)))
  (type $sig (func (param i32) (result i32)))
  (table funcref (elem $pass-through))
  (tag $local (param i32))

  (func (export "catch-shared") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $shared $h)
        (call $throw-shared (local.get 0))
        (i32.const 0))))

  (func (export "catch-through-middle") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $shared $h)
        (call_indirect (type $sig) (local.get 0) (i32.const 0)))))

  (func (export "catch-own-payload") (result f64)
    (local $fraction f64)
    (block $h (result i64 f64)
      (try_table (catch $own $h)
        (call $throw-own))
      (unreachable))
    (local.set $fraction)
    (f64.convert_i64_s)
    (local.get $fraction)
    (f64.add))

  ;; The inner handler does not match; the outer one, two frames up, does.
  (func $inner (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $local $h)
        (call $throw-shared (local.get 0))
        (i32.const 0)))
    (i32.const 1000)
    (i32.add))
  (func (export "skip-inner") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $shared $h)
        (call $inner (local.get 0))))
    (i32.const 1)
    (i32.add))

  (func (export "catch-ref-and-rethrow") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (result i32) (catch $shared $outer)
        (block $h (result exnref)
          (try_table (catch_all_ref $h)
            (call $throw-shared (local.get 0)))
          (unreachable))
        (throw_ref))))

  (func (export "uncaught") (param i32)
    (block $h (result i32)
      (try_table (catch $local $h)
        (call $throw-shared (local.get 0)))
      (return))
    (drop))
)

(assert_return (invoke "catch-shared" (i32.const 7)) (i32.const 7))
(assert_return (invoke "catch-through-middle" (i32.const 9)) (i32.const 9))
(assert_return (invoke "catch-own-payload") (f64.const 44.5))
(assert_return (invoke "skip-inner" (i32.const 5)) (i32.const 6))
(assert_return (invoke "catch-ref-and-rethrow" (i32.const 11)) (i32.const 11))
(assert_exception (invoke "uncaught" (i32.const 3)))
(assert_exception (invoke $middle "pass-through" (i32.const 3)))

;; A second instance of the thrower has tags of its own: the catcher does not catch them.
(module $thrower2
  (tag $shared (export "shared") (param i32))
  (func (export "throw-shared") (param i32) (throw $shared (local.get 0)))
)
(register "thrower2" $thrower2)
(module
  (import "thrower" "shared" (tag $shared (param i32)))
  (import "thrower2" "throw-shared" (func $throw-other (param i32)))
  (func (export "other-instance") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $shared $h)
        (call $throw-other (local.get 0))
        (i32.const 0))))
)
(assert_exception (invoke "other-instance" (i32.const 1)))

;; A tag import must have the exporter's type.
(assert_unlinkable
  (module (import "thrower" "shared" (tag (param i64))))
  "incompatible import type")
