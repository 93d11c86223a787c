;; Micro benchmark: what a `try_table` costs when nothing throws. `plain n` and
;; `covered n` each make n calls to a small function ($step) that calls a leaf; in
;; `covered` that function wraps its call in a `try_table`, so its call is a Cranelift
;; `try_call`. Cranelift's contract for `try_call` in the `tail` convention (Wasmtime's
;; too) is that no register survives a covered call, so $step_covered saves and restores
;; the callee-saved registers and keeps its live values in stack slots (see
;; compiler/tests/golden/try_table_no_throw.wat). This is the worst case: $step does
;; nothing else, so that cost is all there is to see.
;;
;;   time kiln run --invoke plain benches/micro/try_table_no_throw.wat 200000000
;;   time kiln run --invoke covered benches/micro/try_table_no_throw.wat 200000000
;;
;; Both print the same sum for the same n; compare the two outputs when timing them.
(module
  (tag $never)
  (global $sink (mut i32) (i32.const 0))
  (func $leaf (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const -1)) (then (throw $never)))
    (global.set $sink (local.get 0))
    (i32.add (local.get 0) (i32.const 3)))
  (func $step_plain (param $x i32) (param $y i32) (result i32)
    (i32.add (call $leaf (local.get $x)) (local.get $y)))
  (func $step_covered (param $x i32) (param $y i32) (result i32)
    (block $caught
      (try_table (catch_all $caught)
        (return (i32.add (call $leaf (local.get $x)) (local.get $y)))))
    (i32.const -1))
  (func (export "plain") (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $round
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (call $step_plain (local.get $n) (local.get $sum)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $round)))
    (local.get $sum))
  (func (export "covered") (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $round
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (call $step_covered (local.get $n) (local.get $sum)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $round)))
    (local.get $sum)))
