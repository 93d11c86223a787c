;; Several memories (multi-memory), one of them 64-bit: `check` writes a pattern into each,
;; copies between them (32 to 64 bits, 64 to 32, 32 to 32) and returns a checksum of what
;; arrived, 544; every memory keeps its own bytes and size. `_start` traps unless `check`
;; is right; `out_of_bounds` copies past the small memory's end and must trap.
(module
  (memory $a 1)
  (memory $b i64 2)
  (memory $c 1 1)
  (func $check (export "check") (result i32) (local $i i32) (local $sum i32)
    (memory.fill $a (i32.const 0) (i32.const 1) (i32.const 16))
    (memory.fill $b (i64.const 65536) (i32.const 2) (i64.const 16))
    (memory.fill $c (i32.const 100) (i32.const 3) (i32.const 16))
    ;; $a[16..32] <- $b[65536..65552]: twos; $b[0..16] <- $a[0..16]: ones;
    ;; $c[0..32] <- $a[0..32]: ones then twos.
    (memory.copy $a $b (i32.const 16) (i64.const 65536) (i32.const 16))
    (memory.copy $b $a (i64.const 0) (i32.const 0) (i32.const 16))
    (memory.copy $c $a (i32.const 0) (i32.const 0) (i32.const 32))
    (loop $next
      (local.set $sum
        (i32.add (local.get $sum)
          (i32.add
            (i32.mul (i32.load8_u $c (local.get $i)) (i32.const 10))
            (i32.add
              (i32.load8_u $b (i64.extend_i32_u (local.get $i)))
              (i32.load8_u $c offset=100 (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 32))))
    ;; Sizes are per memory.
    (if (i32.ne (memory.size $a) (i32.const 1)) (then unreachable))
    (if (i64.ne (memory.size $b) (i64.const 2)) (then unreachable))
    (if (i32.ne (memory.grow $c (i32.const 1)) (i32.const -1)) (then unreachable))
    (local.get $sum))
  (func (export "out_of_bounds")
    (memory.copy $c $b (i32.const 65530) (i64.const 0) (i32.const 7)))
  (func (export "_start")
    (if (i32.ne (call $check) (i32.const 544)) (then unreachable))))
