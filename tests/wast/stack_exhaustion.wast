;; Guards the wasm stack limit: unbounded recursion (direct, mutual, indirect, with large
;; frames) ends in `call stack exhausted`, and the instance works normally afterwards.

(module
  (type $i_i (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) func $indirect)

  (func $forever (export "forever") (param i32) (result i32)
    (i32.add (call $forever (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))

  (func $ping (export "ping") (param i32) (result i32)
    (call $pong (local.get 0)))
  (func $pong (param i32) (result i32)
    (i32.add (call $ping (local.get 0)) (i32.const 1)))

  (func $indirect (param i32) (result i32)
    (call_indirect (type $i_i) (local.get 0) (i32.const 0)))
  (func (export "indirect") (param i32) (result i32)
    (call $indirect (local.get 0)))

  ;; Many live values per frame: frames much larger than a call's return address.
  (func $big_frames (export "big_frames") (param $x i64) (result i64)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local $e i64) (local $f i64) (local $g i64) (local $h i64)
    (local.set $a (i64.mul (local.get $x) (i64.const 3)))
    (local.set $b (i64.mul (local.get $x) (i64.const 5)))
    (local.set $c (i64.mul (local.get $x) (i64.const 7)))
    (local.set $d (i64.mul (local.get $x) (i64.const 11)))
    (local.set $e (i64.mul (local.get $x) (i64.const 13)))
    (local.set $f (i64.mul (local.get $x) (i64.const 17)))
    (local.set $g (i64.mul (local.get $x) (i64.const 19)))
    (local.set $h (i64.mul (local.get $x) (i64.const 23)))
    (i64.add
      (call $big_frames (i64.add (local.get $x) (i64.const 1)))
      (i64.add (i64.add (i64.add (local.get $a) (local.get $b))
                        (i64.add (local.get $c) (local.get $d)))
               (i64.add (i64.add (local.get $e) (local.get $f))
                        (i64.add (local.get $g) (local.get $h))))))

  ;; Bounded recursion: 1,000 frames fit well within the limit.
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $depth (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))

(assert_return (invoke "depth" (i32.const 1000)) (i32.const 1000))
(assert_exhaustion (invoke "forever" (i32.const 0)) "call stack exhausted")
(assert_return (invoke "depth" (i32.const 1000)) (i32.const 1000))
(assert_exhaustion (invoke "ping" (i32.const 0)) "call stack exhausted")
(assert_exhaustion (invoke "indirect" (i32.const 0)) "call stack exhausted")
(assert_exhaustion (invoke "big_frames" (i64.const 0)) "call stack exhausted")
;; Exhausting the stack again and again does not use up anything.
(assert_exhaustion (invoke "forever" (i32.const 0)) "call stack exhausted")
(assert_exhaustion (invoke "forever" (i32.const 0)) "call stack exhausted")
(assert_return (invoke "depth" (i32.const 1000)) (i32.const 1000))
