;; Micro benchmark: throw and catch across 10 frames. `run n` does n rounds; each calls
;; $dive 11 levels deep (10 frames between the handler's and the thrower's), the innermost
;; throws $found with a payload, the `try_table` in `run` catches it. Returns the sum of
;; the payloads (n(n+1)/2 mod 2^32), so the work cannot be skipped.
;;
;;   kiln compile benches/micro/throw_catch.wat -o /tmp/throw_catch.o   # (or let run cache it)
;;   time kiln run --invoke run benches/micro/throw_catch.wat 0
;;   time kiln run --invoke run benches/micro/throw_catch.wat 200000
;;
;; The difference divided by n is the time of one throw and catch (see benches/README.md).
(module
  (tag $found (param i32))
  (func $dive (param $depth i32) (param $value i32) (result i32)
    (if (i32.eqz (local.get $depth))
      (then (throw $found (local.get $value))))
    ;; The addition keeps the recursive call from being a tail position.
    (i32.add
      (call $dive (i32.sub (local.get $depth) (i32.const 1)) (local.get $value))
      (i32.const 1)))
  (func (export "run") (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $round
        (br_if $done (i32.eqz (local.get $n)))
        (block $caught (result i32)
          (try_table (result i32) (catch $found $caught)
            (call $dive (i32.const 10) (local.get $n))))
        (local.set $sum (i32.add (local.get $sum)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $round)))
    (local.get $sum)))
