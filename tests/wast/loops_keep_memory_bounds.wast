;; Guards what loops may keep of a memory's base and length. With explicit bounds checks
;; (the kiln-wast-bounds-checks suite) they are loaded in front of every loop and kept in
;; registers while the loop makes no call; a call may grow the memory (and move it), so
;; every access after one must see the new base and length: memory.grow in the loop, a
;; wasm function that grows it, an imported memory grown by its exporter, and accesses
;; in a loop to memories past the first four (whose bounds are not loaded in front of it).
;; In the default layout the same directives run with guard pages.
;;! wasm3 = true

(module $owner
  (memory (export "mem") 1)
  (func (export "grow") (param i32) (result i32)
    (memory.grow (local.get 0))))
(register "owner" $owner)

(module
  (import "owner" "mem" (memory $shared 1))
  (import "owner" "grow" (func $grow_shared (param i32) (result i32)))
  (memory $own 1)
  (memory $m2 1)
  (memory $m3 1)
  (memory $m4 1)
  (memory $m5 1)

  ;; Writes 4-byte words from address 65,528 on, growing the memory by a page each time
  ;; the next word would not fit: every write after the first grow lands in the new page.
  ;; Returns the sum of what it reads back.
  (func (export "grow_in_loop") (param $n i32) (result i32)
    (local $p i32) (local $sum i32)
    (local.set $p (i32.const 65528))
    (loop $l
      (if (i32.gt_u (i32.add (local.get $p) (i32.const 4))
                    (i32.mul (memory.size $own) (i32.const 65536)))
        (then (drop (memory.grow $own (i32.const 1)))))
      (i32.store $own (local.get $p) (local.get $n))
      (local.set $sum (i32.add (local.get $sum) (i32.load $own (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; As above, but the shared memory is grown by its exporter, through an import.
  (func (export "grow_shared_in_loop") (param $n i32) (result i32)
    (local $p i32) (local $sum i32)
    (local.set $p (i32.const 65532))
    (loop $l
      (if (i32.gt_u (i32.add (local.get $p) (i32.const 4))
                    (i32.mul (memory.size $shared) (i32.const 65536)))
        (then (drop (call $grow_shared (i32.const 1)))))
      (i32.store $shared (local.get $p) (i32.const 7))
      (local.set $sum (i32.add (local.get $sum) (i32.load $shared (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; A loop that walks off the end of the memory traps at the first word past it, after
  ;; the words before it were written.
  (func (export "walk_off_end") (param $p i32)
    (loop $l
      (i32.store $own (local.get $p) (i32.const 1))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $l)))
  (func (export "load_own") (param i32) (result i32)
    (i32.load $own (local.get 0)))
  (func (export "size_own") (result i32)
    (memory.size $own))

  ;; One loop that touches six memories, the last two past the ones loaded in front of it.
  (func (export "six_memories") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (i32.store8 $shared (local.get $i) (i32.const 1))
      (i32.store8 $own (local.get $i) (i32.const 2))
      (i32.store8 $m2 (local.get $i) (i32.const 3))
      (i32.store8 $m3 (local.get $i) (i32.const 4))
      (i32.store8 $m4 (local.get $i) (i32.const 5))
      (i32.store8 $m5 (local.get $i) (i32.const 6))
      (local.set $sum (i32.add (local.get $sum)
        (i32.add (i32.add (i32.load8_u $shared (local.get $i)) (i32.load8_u $own (local.get $i)))
          (i32.add (i32.add (i32.load8_u $m2 (local.get $i)) (i32.load8_u $m3 (local.get $i)))
            (i32.add (i32.load8_u $m4 (local.get $i)) (i32.load8_u $m5 (local.get $i)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func (export "grow_m5") (result i32)
    (memory.grow $m5 (i32.const 1)))
  (func (export "load_m5_in_loop") (param $p i32) (param $n i32) (result i32)
    (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u $m5 (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))
)

;; 2 words fit in the first page, then 3 grows for 40,000 more words: sum of n..1.
(assert_return (invoke "grow_in_loop" (i32.const 40002)) (i32.const 800100003))
(assert_return (invoke "size_own") (i32.const 4))
(assert_return (invoke "grow_shared_in_loop" (i32.const 20000)) (i32.const 140000))
(assert_trap (invoke "walk_off_end" (i32.const 262136)) "out of bounds memory access")
(assert_return (invoke "load_own" (i32.const 262140)) (i32.const 1))
(assert_return (invoke "six_memories" (i32.const 1000)) (i32.const 21000))
(assert_trap (invoke "load_m5_in_loop" (i32.const 65530) (i32.const 10)) "out of bounds memory access")
(assert_return (invoke "grow_m5") (i32.const 1))
(assert_return (invoke "load_m5_in_loop" (i32.const 65530) (i32.const 10)) (i32.const 0))
