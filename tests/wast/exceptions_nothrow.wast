;; Guards the may-throw analysis (compiler/src/throws.rs): a covered call is a plain call
;; only when its callee can never throw, so every exception below still reaches its
;; handler: thrown several calls down, among calls that cannot throw, through
;; call_indirect (in a closed module and in one whose table another instance fills),
;; through imports from another instance, past a catch_all by a legacy delegate, and by
;; tail calls out of a catch_all. Imports under a WASI module name are compiled as
;; non-throwing: a wasm function that may throw is refused for them, one that cannot is
;; accepted.
(module $deep
  (tag $e (export "e") (param i32))
  (type $i2i (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $quiet $throw-below $quiet2 $absorbs)
  (global $g (mut i32) (i32.const 0))

  ;; Cannot throw.
  (func $quiet (type $i2i) (global.set $g (local.get 0)) (i32.add (local.get 0) (i32.const 1)))
  (func $quiet2 (type $i2i) (call $quiet (call $quiet (local.get 0))))
  ;; Throws, and cannot throw once its own catch_all took it.
  (func $throw (param i32) (throw $e (local.get 0)))
  (func $absorbs (type $i2i)
    (block $h
      (try_table (catch_all $h) (call $throw (local.get 0))))
    (i32.const 100))
  ;; Throws three calls down.
  (func $level1 (param i32) (if (i32.ge_s (local.get 0) (i32.const 0)) (then (call $throw (local.get 0)))))
  (func $level2 (param i32) (call $level1 (local.get 0)) (drop (call $quiet (local.get 0))))
  (func $throw-below (type $i2i) (call $level2 (local.get 0)) (i32.const -1))

  ;; A legacy `delegate` sends the body's exceptions past the catch_all around it, to the
  ;; caller: this function may throw although a catch_all covers its call.
  (func $delegates-out (param i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (try
          (do (call $throw (local.get 0)))
          (delegate 2))))
    (i32.const 200))
  ;; A tail call leaves the catch_all behind.
  (func $tail-out (param i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (return_call $throw-below (local.get 0))))
    (i32.const 300))

  (func (export "several-levels") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (i32.add
          (call $quiet (local.get 0))
          (i32.add (call $throw-below (local.get 0)) (call $quiet2 (local.get 0)))))))
  (func (export "quiet-covered") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (i32.add (call $quiet (local.get 0)) (call $absorbs (local.get 0))))))
  (func (export "indirect") (param i32 i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (i32.mul
          (call_indirect $t (type $i2i) (local.get 0) (local.get 1))
          (i32.const 10)))))
  (func (export "delegated") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $delegates-out (local.get 0)))))
  (func (export "tail") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $tail-out (local.get 0)))))
  (func (export "legacy") (param i32) (result i32)
    (try (result i32)
      (do (i32.add (call $quiet (local.get 0)) (call $throw-below (local.get 0))))
      (catch $e (i32.add (i32.const 1000)))))
  ;; Handlers that nothing can reach, legacy clauses included: the calls cannot throw.
  (func (export "unreachable-handlers") (param i32) (result i32)
    (try (result i32)
      (do (block $h (result i32)
        (try_table (result i32) (catch $e $h) (call $quiet2 (local.get 0)))))
      (catch $e (drop) (i32.const -5))
      (catch_all (i32.const -6))))
)
(register "deep" $deep)

;; The caught payload, or the value when nothing threw.
(assert_return (invoke "several-levels" (i32.const 5)) (i32.const 5))
(assert_return (invoke "several-levels" (i32.const -5)) (i32.const -8))
(assert_return (invoke "quiet-covered" (i32.const 5)) (i32.const 106))
(assert_return (invoke "indirect" (i32.const 3) (i32.const 0)) (i32.const 40))
(assert_return (invoke "indirect" (i32.const 3) (i32.const 1)) (i32.const 3))
(assert_return (invoke "indirect" (i32.const -3) (i32.const 1)) (i32.const -10))
(assert_return (invoke "indirect" (i32.const 3) (i32.const 2)) (i32.const 50))
(assert_return (invoke "indirect" (i32.const 3) (i32.const 3)) (i32.const 1000))
(assert_return (invoke "delegated" (i32.const 8)) (i32.const 8))
(assert_return (invoke "tail" (i32.const 9)) (i32.const 9))
(assert_return (invoke "tail" (i32.const -9)) (i32.const -1))
(assert_return (invoke "legacy" (i32.const 4)) (i32.const 1004))
(assert_return (invoke "legacy" (i32.const -4)) (i32.const -4))
(assert_return (invoke "unreachable-handlers" (i32.const 1)) (i32.const 3))

;; A module whose own functions cannot throw, but whose exported table another instance
;; fills with one that throws: its call_indirect may throw.
(module $open
  (import "deep" "e" (tag $e (param i32)))
  (type $v2i (func (result i32)))
  (table $t (export "table") 1 funcref)
  (elem (table $t) (i32.const 0) func $seven)
  (func $seven (type $v2i) (i32.const 7))
  (func (export "call-slot") (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call_indirect $t (type $v2i) (i32.const 0)))))
)
(register "open" $open)
(assert_return (invoke "call-slot") (i32.const 7))

(module $filler
  (import "deep" "e" (tag $e (param i32)))
  (import "open" "table" (table $t 1 funcref))
  (func $throws (result i32) (throw $e (i32.const 77)))
  (func (export "fill") (table.set $t (i32.const 0) (ref.func $throws)))
  (elem declare func $throws)
)
(invoke "fill")
(assert_return (invoke $open "call-slot") (i32.const 77))

;; Imports from another instance: the import may throw, through a wrapper of the importer
;; too.
(module $importer
  (import "deep" "e" (tag $e (param i32)))
  (import "deep" "several-levels" (func $never (param i32) (result i32)))
  (import "open" "call-slot" (func $slot (result i32)))
  (func $thrower (param i32) (throw $e (i32.mul (local.get 0) (i32.const 2))))
  (func $wrapper (param i32) (call $thrower (local.get 0)))
  (func (export "through-wrapper") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $wrapper (local.get 0))
        (call $never (local.get 0)))))
)
(register "importer" $importer)
(assert_return (invoke "through-wrapper" (i32.const 21)) (i32.const 42))

;; Exports that may throw, imported under a WASI module name (compiled as non-throwing):
;; refused. One that cannot throw is accepted, and covered calls of it run.
(register "wasi_snapshot_preview1" $importer)
(assert_unlinkable
  (module (import "wasi_snapshot_preview1" "through-wrapper" (func (param i32) (result i32))))
  "may throw")
(register "wasi:cli/deep@0.2.0" $deep)
(assert_unlinkable
  (module (import "wasi:cli/deep@0.2.0" "legacy" (func (param i32) (result i32))))
  "may throw")
(module $quiet
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
)
(register "wasi_unstable" $quiet)
(module
  (import "deep" "e" (tag $e (param i32)))
  (import "wasi_unstable" "double" (func $double (param i32) (result i32)))
  (func (export "covered") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $double (local.get 0)))))
)
(assert_return (invoke "covered" (i32.const 4)) (i32.const 8))
