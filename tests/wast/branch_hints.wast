;; Guards branch hints (`metadata.code.branch_hint`): hinted `if`s (with and without
;; `else`, each way) and `br_if`s (taken and not, with values) compute what unhinted ones
;; do, though their unlikely successors become cold blocks placed out of line; and a
;; malformed hint section is ignored, as custom sections must be.

(module
  (func (export "if_unlikely") (param i32) (result i32)
    (local $r i32)
    (local.set $r (i32.const 1))
    (@metadata.code.branch_hint "\00")
    (if (local.get 0) (then (local.set $r (i32.const 2))))
    (local.get $r))
  (func (export "if_likely_else") (param i32) (result i32)
    (@metadata.code.branch_hint "\01")
    (if (result i32) (local.get 0)
      (then (i32.const 10))
      (else (i32.const 20))))
  (func (export "if_unlikely_else") (param i32) (result i32)
    (@metadata.code.branch_hint "\00")
    (if (result i32) (local.get 0)
      (then (i32.const 30))
      (else (i32.const 40))))
  (func (export "if_likely_params") (param i32 i32) (result i32)
    (local.get 1)
    (@metadata.code.branch_hint "\01")
    (if (param i32) (result i32) (local.get 0)
      (then (i32.add (i32.const 100)))
      (else (i32.sub (i32.const 100)))))
  (func (export "br_if_likely") (param i32) (result i32)
    (block $done (result i32)
      (i32.const 7)
      (@metadata.code.branch_hint "\01")
      (br_if $done (local.get 0))
      (drop)
      (i32.const 8)))
  (func (export "br_if_unlikely") (param i32) (result i32)
    (block $done (result i32)
      (i32.const 7)
      (@metadata.code.branch_hint "\00")
      (br_if $done (local.get 0))
      (drop)
      (i32.const 8)))
  (func (export "count") (param i32) (result i32)
    (local $n i32)
    (loop $next
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (@metadata.code.branch_hint "\01")
      (br_if $next (i32.gt_s (local.get 0) (i32.const 0))))
    (local.get $n)))

(assert_return (invoke "if_unlikely" (i32.const 0)) (i32.const 1))
(assert_return (invoke "if_unlikely" (i32.const 1)) (i32.const 2))
(assert_return (invoke "if_likely_else" (i32.const 1)) (i32.const 10))
(assert_return (invoke "if_likely_else" (i32.const 0)) (i32.const 20))
(assert_return (invoke "if_unlikely_else" (i32.const 1)) (i32.const 30))
(assert_return (invoke "if_unlikely_else" (i32.const 0)) (i32.const 40))
(assert_return (invoke "if_likely_params" (i32.const 1) (i32.const 5)) (i32.const 105))
(assert_return (invoke "if_likely_params" (i32.const 0) (i32.const 5)) (i32.const -95))
(assert_return (invoke "br_if_likely" (i32.const 1)) (i32.const 7))
(assert_return (invoke "br_if_likely" (i32.const 0)) (i32.const 8))
(assert_return (invoke "br_if_unlikely" (i32.const 1)) (i32.const 7))
(assert_return (invoke "br_if_unlikely" (i32.const 0)) (i32.const 8))
(assert_return (invoke "count" (i32.const 5)) (i32.const 5))
(assert_return (invoke "count" (i32.const 0)) (i32.const 1))

;; A hint section whose one hint has an invalid length byte (7, not 1): ignored.
(module binary
  "\00asm" "\01\00\00\00"
  "\01\05\01\60\00\01\7f"                                   ;; type 0: [] -> [i32]
  "\03\02\01\00"                                            ;; func 0: type 0
  "\07\05\01\01f\00\00"                                     ;; export "f"
  "\00\1f\19metadata.code.branch_hint\01\00\01\05\07"       ;; malformed hints
  "\0a\06\01\04\00\41\2a\0b")                               ;; i32.const 42
(assert_return (invoke "f") (i32.const 42))
