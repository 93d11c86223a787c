;;! target_features = native
;; Guards `v128.load`s typed by their use (compiler/src/translate/vector_loads.rs), compiled
;; with the host's CPU features (the header above): with AVX on x86_64 a load used once
;; folds into the instruction using it (`vmulpd (mem)`, `vpaddd (mem)`), and that
;; instruction must trap at the end of memory as the load did. With explicit bounds checks
;; (the kiln-wast-bounds-checks suite) the same directives must hold.

(module
  (memory 1)
  (data (i32.const 0) "\00\00\00\00\00\00\f0\3f\00\00\00\00\00\00\00\40")
  (data (i32.const 16) "\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00")
  (data (i32.const 65520) "\00\00\80\3f\00\00\00\40\00\00\40\40\00\00\80\40")

  ;; The load second, first, and with an offset.
  (func (export "f64x2.mul") (param $p i32) (param $x v128) (result v128)
    (f64x2.mul (local.get $x) (v128.load (local.get $p))))
  (func (export "f64x2.add first") (param $p i32) (param $x v128) (result v128)
    (f64x2.add (v128.load (local.get $p)) (local.get $x)))
  (func (export "i32x4.add") (param $p i32) (param $x v128) (result v128)
    (i32x4.add (local.get $x) (v128.load offset=16 (local.get $p))))
  (func (export "f32x4.sub") (param $p i32) (param $x v128) (result v128)
    (f32x4.sub (local.get $x) (v128.load (local.get $p))))
  ;; The same load used twice, as f32x4 and as i32x4: one load, two types.
  (func (export "used twice") (param $p i32) (result v128)
    (local $v v128)
    (local.set $v (v128.load (local.get $p)))
    (i32x4.add (local.get $v) (f32x4.add (local.get $v) (local.get $v))))
)

(assert_return (invoke "f64x2.mul" (i32.const 0) (v128.const f64x2 3 -0.5))
  (v128.const f64x2 3 -1))
(assert_return (invoke "f64x2.add first" (i32.const 0) (v128.const f64x2 0.25 0.5))
  (v128.const f64x2 1.25 2.5))
(assert_return (invoke "i32x4.add" (i32.const 0) (v128.const i32x4 10 20 30 40))
  (v128.const i32x4 11 22 33 44))
(assert_return (invoke "f32x4.sub" (i32.const 65520) (v128.const f32x4 10 10 10 10))
  (v128.const f32x4 9 8 7 6))
(assert_return (invoke "used twice" (i32.const 65520))
  (v128.const i32x4 0x7f800000 0x80800000 0x81000000 0x81800000))

;; Out of bounds: wholly, by the last byte, and by the static offset.
(assert_trap (invoke "f64x2.mul" (i32.const 65536) (v128.const f64x2 1 1))
  "out of bounds memory access")
(assert_trap (invoke "f64x2.mul" (i32.const 65521) (v128.const f64x2 1 1))
  "out of bounds memory access")
(assert_trap (invoke "f64x2.add first" (i32.const -1) (v128.const f64x2 1 1))
  "out of bounds memory access")
(assert_trap (invoke "i32x4.add" (i32.const 65520) (v128.const i32x4 0 0 0 0))
  "out of bounds memory access")
(assert_trap (invoke "f32x4.sub" (i32.const 65528) (v128.const f32x4 0 0 0 0))
  "out of bounds memory access")
(assert_trap (invoke "used twice" (i32.const 65535)) "out of bounds memory access")

;; c = [1, 2] at 32, b = [1, 2] at 0 (as f64): c += 3 * b, then the sum's lanes.
(module
  (memory 1)
  (data (i32.const 0) "\00\00\00\00\00\00\f0\3f\00\00\00\00\00\00\00\40")
  (data (i32.const 32) "\00\00\00\00\00\00\f0\3f\00\00\00\00\00\00\00\40")
  (func $axpy (param $c i32) (param $b i32) (param $n i32) (param $a f64)
    (local $j i32) (local $splat v128)
    (local.set $splat (f64x2.splat (local.get $a)))
    (loop $next
      (v128.store (i32.add (local.get $c) (local.get $j))
        (f64x2.add
          (v128.load (i32.add (local.get $c) (local.get $j)))
          (f64x2.mul (local.get $splat) (v128.load (i32.add (local.get $b) (local.get $j))))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $j) (local.get $n)))))
  (func (export "run") (param $n i32) (result f64 f64)
    (call $axpy (i32.const 32) (i32.const 0) (local.get $n) (f64.const 3))
    (f64.load (i32.const 32))
    (f64.load (i32.const 40)))
  ;; b runs past the end of memory on the second step: the first step's store stays.
  (func (export "past the end") (result f64)
    (call $axpy (i32.const 32) (i32.const 65520) (i32.const 32) (f64.const 1))
    (f64.load (i32.const 32)))
)
(assert_return (invoke "run" (i32.const 16)) (f64.const 4) (f64.const 8))
(assert_trap (invoke "past the end") "out of bounds memory access")
