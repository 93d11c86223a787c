;; memory.copy between overlapping ranges, in both directions, at the lengths and
;; distances where a memmove changes strategy (the overlapping moves of small lengths; 16-,
;; 32- and 64-byte blocks and 128-byte loops; destinations at every alignment; the bytes
;; left over). Each case fills 1700 bytes at 1024 with a pattern, copies from 1324, and
;; compares the result with a byte-at-a-time reference copy made in wasm at 4096; `_start`
;; traps with `unreachable` at the first difference.
(module
  (memory 1)
  (func $fill (param $at i32) (local $i i32)
    (loop $next
      (i32.store8 (i32.add (local.get $at) (local.get $i))
        (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 1700)))))
  ;; The reference: a byte loop in the safe direction.
  (func $reference (param $dst i32) (param $src i32) (param $len i32) (local $i i32)
    (if (i32.gt_u (local.get $dst) (local.get $src))
      (then
        (local.set $i (local.get $len))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $i)))
            (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (i32.store8 (i32.add (local.get $dst) (local.get $i))
              (i32.load8_u (i32.add (local.get $src) (local.get $i))))
            (br $next))))
      (else
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
            (i32.store8 (i32.add (local.get $dst) (local.get $i))
              (i32.load8_u (i32.add (local.get $src) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next))))))
  ;; Copies `len` bytes `distance` bytes up (or down when negative) from offset 300.
  (func $case (param $distance i32) (param $len i32) (local $i i32)
    (call $fill (i32.const 1024))
    (call $fill (i32.const 4096))
    (memory.copy
      (i32.add (i32.const 1324) (local.get $distance))
      (i32.const 1324)
      (local.get $len))
    (call $reference
      (i32.add (i32.const 4396) (local.get $distance))
      (i32.const 4396)
      (local.get $len))
    (loop $next
      (if (i32.ne (i32.load8_u (i32.add (i32.const 1024) (local.get $i)))
                  (i32.load8_u (i32.add (i32.const 4096) (local.get $i))))
        (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 1700)))))
  ;; Every distance in ±{1, 5, 16, 17, 31, 33, 64, 100, 300} (u16 at 0) with every length
  ;; in {0, 1, 2, 3, 5, 8, 15, 16, 17, 33, 63, 64, 65, 96, 97, 129, 191, 192, 200, 255,
  ;; 256, 257, 500, 1001} (u16 at 64).
  (func $sweep (local $d i32) (local $l i32) (local $distance i32) (local $len i32)
    (loop $distances
      (local.set $distance
        (i32.load16_u (i32.shl (local.get $d) (i32.const 1))))
      (local.set $l (i32.const 0))
      (loop $lengths
        (local.set $len
          (i32.load16_u offset=64 (i32.shl (local.get $l) (i32.const 1))))
        (call $case (local.get $distance) (local.get $len))
        (call $case (i32.sub (i32.const 0) (local.get $distance)) (local.get $len))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br_if $lengths (i32.lt_u (local.get $l) (i32.const 24))))
      (local.set $d (i32.add (local.get $d) (i32.const 1)))
      (br_if $distances (i32.lt_u (local.get $d) (i32.const 9)))))
  ;; 5000 backward copies of 1000 bytes (5 MB): past the 4 MiB after which kiln's musl
  ;; memmove asks the processor for AVX2 (`runtime/src/musl_memmove.rs`).
  (func $many_backward_copies (local $i i32)
    (loop $next
      (memory.copy (i32.const 8193) (i32.const 8192) (i32.const 1000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 5000)))))
  ;; Every case before and after many backward copies: with SSE, then with AVX2 (when the
  ;; processor has it).
  (func (export "_start")
    (call $sweep)
    (call $many_backward_copies)
    (call $sweep))
  (data (i32.const 0) "\01\00\05\00\10\00\11\00\1f\00\21\00\40\00\64\00\2c\01")
  (data (i32.const 64) "\00\00\01\00\02\00\03\00\05\00\08\00\0f\00\10\00\11\00\21\00\3f\00\40\00\41\00\60\00\61\00\81\00\bf\00\c0\00\c8\00\ff\00\00\01\01\01\f4\01\e9\03"))
