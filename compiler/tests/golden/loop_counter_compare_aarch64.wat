;;! target = "aarch64"
;;! test = "compile"
;;! opt_level = "speed"
;; The counted loop of `loop_counter_compare.wat` on aarch64: the compare stays on the
;; new counter (`add w7, w7, #4; cmp w7, #1, lsl #12`), and the counter is not moved between
;; two registers on the back edge. (The move of the sum there is the register allocator's
;; own, with or without this.)
(module
  (memory 1)
  (func $sum (export "sum") (param $p i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (i32.add (local.get $p) (local.get $i)))))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 4096))))
    (local.get $s)))

;; == aarch64 ==
;; sum:
;;      0: stp x29, x30, [sp, #-0x10]!
;;      4: mov x29, sp
;;      8: mov w4, #0
;;      c: ldr x10, [x2, #0x20]
;;     10: mov x7, x4
;;     14: add w11, w3, w7
;;     18: ldr w11, [x10, w11, uxtw]
;;     1c: add w7, w7, #4
;;     20: mov x2, x4
;;     24: add w2, w2, w11
;;     28: cmp w7, #1, lsl #12
;;     2c: b.eq #0x38
;;     30: mov x4, x2
;;     34: b #0x14
;;     38: ldp x29, x30, [sp], #0x10
;;     3c: ret
