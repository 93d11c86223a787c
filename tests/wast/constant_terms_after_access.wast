;;! wasm3 = true
;; Guards constant terms moved into the static offset (compiler/src/translate/memory.rs,
;; `split_constant_term`): after an access at index `x` in the same block, an access at
;; `x + c` (an `i32.add`, which wraps at 2^32) is compiled as `x` with `c` added to its
;; offset when `c` is at most the memory's headroom below 2^32 (abi.rs, `memory_headroom`:
;; 2^32 less the largest length the memory can reach). Each directive below holds with and
;; without that, and fails if a sum that can wrap is moved.

(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08")
  (data (i32.const 65528) "\a1\a2\a3\a4\a5\a6\a7\a8")

  ;; p[0] then p[1]: the second sum cannot wrap.
  (func (export "two") (param $p i32) (result i32)
    (i32.add (i32.load8_u (local.get $p))
      (i32.load8_u (i32.add (local.get $p) (i32.const 1)))))
  ;; The sum on the left, and a chain: (p + 4) + 2 after p + 4 was accessed.
  (func (export "chain") (param $p i32) (result i32)
    (local $q i32)
    (drop (i32.load16_u (local.get $p)))
    (local.set $q (i32.add (i32.const 4) (local.get $p)))
    (i32.add (i32.load16_u (local.get $q))
      (i32.load16_u (i32.add (local.get $q) (i32.const 2)))))
  ;; A negative constant is a term larger than the headroom: p - 1 wraps at p = 0.
  (func (export "minus one") (param $p i32) (result i32)
    (i32.add (i32.load8_u (local.get $p))
      (i32.load8_u (i32.add (local.get $p) (i32.const -1)))))
  ;; p was accessed in another block (an `if` not taken): p + 4 may wrap.
  (func (export "other block") (param $p i32) (param $c i32) (result i32)
    (if (local.get $c) (then (drop (i32.load8_u (local.get $p)))))
    (i32.load8_u (i32.add (local.get $p) (i32.const 4))))
  ;; A store proves the index as a load does.
  (func (export "after store") (param $p i32) (result i32)
    (i32.store8 (local.get $p) (i32.const 0x33))
    (i32.load (i32.add (local.get $p) (i32.const 4))))
)

(assert_return (invoke "two" (i32.const 0)) (i32.const 3))
(assert_return (invoke "two" (i32.const 65534)) (i32.const 335))
;; p + 1 is the first byte past the memory.
(assert_trap (invoke "two" (i32.const 65535)) "out of bounds memory access")
(assert_trap (invoke "two" (i32.const -1)) "out of bounds memory access")
(assert_return (invoke "chain" (i32.const 0)) (i32.const 0x0e0c))
(assert_return (invoke "chain" (i32.const 65524)) (i32.const 83780))
(assert_trap (invoke "chain" (i32.const 65530)) "out of bounds memory access")
(assert_return (invoke "minus one" (i32.const 1)) (i32.const 3))
(assert_trap (invoke "minus one" (i32.const 0)) "out of bounds memory access")
;; p = -4: p + 4 wraps to 0, a valid address, when p itself was not accessed.
(assert_return (invoke "other block" (i32.const -4) (i32.const 0)) (i32.const 1))
(assert_trap (invoke "other block" (i32.const -4) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "other block" (i32.const 0) (i32.const 1)) (i32.const 5))
(assert_return (invoke "after store" (i32.const 0)) (i32.const 0x08070605))
(assert_trap (invoke "after store" (i32.const 65532)) "out of bounds memory access")

;; A memory with a declared maximum of one page can reach 64 KiB: its headroom is
;; 2^32 - 65536, so a term of 0xffff0000 moves (p + c ends at most at 2^32 - 1, out of
;; bounds either way) and 0xffff0001 does not (p + c wraps for p = 65535).
(module
  (memory 1 1)
  (data (i32.const 0) "\01\02\03\04")
  (func (export "largest") (param $p i32) (result i32)
    (i32.add (i32.load8_u (local.get $p))
      (i32.load8_u (i32.add (local.get $p) (i32.const 0xffff0000)))))
  (func (export "past the headroom") (param $p i32) (result i32)
    (i32.add (i32.load8_u (local.get $p))
      (i32.load8_u (i32.add (local.get $p) (i32.const 0xffff0001)))))
)
(assert_trap (invoke "largest" (i32.const 65535)) "out of bounds memory access")
(assert_trap (invoke "largest" (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "past the headroom" (i32.const 65535)) (i32.const 1))
(assert_trap (invoke "past the headroom" (i32.const 65534)) "out of bounds memory access")

;; Across blocks: kiln counts an access only in its own block, but any sound rule must
;; pass these. An access dominates what follows it in its construct, not what follows
;; its `else`, its `end` or a `catch`. At p = -4 each `p + 4` below wraps to 0, a valid
;; address (byte 1), unless an access at p ran first (and trapped).
(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08")
  (tag $oops)
  ;; An access before an `if` dominates both arms; one in the `then` arm not the `else`.
  (func (export "before if") (param $p i32) (param $c i32) (result i32)
    (drop (i32.load8_u (local.get $p)))
    (if (result i32) (local.get $c)
      (then (i32.load8_u (i32.add (local.get $p) (i32.const 4))))
      (else (i32.load8_u (i32.add (local.get $p) (i32.const 5))))))
  (func (export "then, else") (param $p i32) (param $c i32) (result i32)
    (if (result i32) (local.get $c)
      (then (i32.load8_u (local.get $p)))
      (else (i32.load8_u (i32.add (local.get $p) (i32.const 4))))))
  ;; A branch out of a block skips the access inside it: after `end`, p is unproven.
  (func (export "skipped by br_if") (param $p i32) (param $c i32) (result i32)
    (block
      (br_if 0 (local.get $c))
      (drop (i32.load8_u (local.get $p))))
    (i32.load8_u (i32.add (local.get $p) (i32.const 4))))
  ;; After a `br_if` not taken, an access before it still holds.
  (func (export "past br_if") (param $p i32) (param $c i32) (result i32)
    (block (result i32)
      (drop (i32.load8_u (local.get $p)))
      (br_if 0 (i32.const 9) (local.get $c))
      (drop)
      (i32.load8_u (i32.add (local.get $p) (i32.const 4)))))
  ;; An access before a loop holds in its body.
  (func (export "before loop") (param $p i32) (result i32)
    (local $i i32) (local $sum i32)
    (drop (i32.load8_u (local.get $p)))
    (loop $next
      (local.set $sum (i32.add (local.get $sum)
        (i32.load8_u (i32.add (local.get $p) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 3))))
    (local.get $sum))
  ;; A throw before the access goes to the handler past the block: p is unproven there.
  (func $maybe_throw (param $c i32)
    (if (local.get $c) (then (throw $oops))))
  (func (export "caught") (param $p i32) (param $c i32) (result i32)
    (block $handler
      (try_table (catch $oops $handler)
        (call $maybe_throw (local.get $c))
        (drop (i32.load8_u (local.get $p))))
      (return (i32.const -1)))
    (i32.load8_u (i32.add (local.get $p) (i32.const 4))))
)
(assert_return (invoke "before if" (i32.const 0) (i32.const 1)) (i32.const 5))
(assert_return (invoke "before if" (i32.const 0) (i32.const 0)) (i32.const 6))
(assert_trap (invoke "before if" (i32.const -4) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "then, else" (i32.const -4) (i32.const 0)) (i32.const 1))
(assert_trap (invoke "then, else" (i32.const -4) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "skipped by br_if" (i32.const -4) (i32.const 1)) (i32.const 1))
(assert_trap (invoke "skipped by br_if" (i32.const -4) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "skipped by br_if" (i32.const 0) (i32.const 0)) (i32.const 5))
(assert_return (invoke "past br_if" (i32.const 0) (i32.const 0)) (i32.const 5))
(assert_return (invoke "past br_if" (i32.const 0) (i32.const 1)) (i32.const 9))
(assert_trap (invoke "past br_if" (i32.const 65535) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "before loop" (i32.const 0)) (i32.const 6))
(assert_trap (invoke "before loop" (i32.const 65535)) "out of bounds memory access")
(assert_return (invoke "caught" (i32.const -4) (i32.const 1)) (i32.const 1))
(assert_trap (invoke "caught" (i32.const -4) (i32.const 0)) "out of bounds memory access")
(assert_return (invoke "caught" (i32.const 0) (i32.const 0)) (i32.const -1))
