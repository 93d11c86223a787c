;; Prints, one per line, the result of each relaxed SIMD operator on inputs where x86_64's
;; and aarch64's native forms give different (allowed) results: out-of-range swizzle
;; indices and truncations, NaNs, zeros of opposite signs, mixed lane-select masks, q15
;; overflow, a negative i7 operand, and a multiply-add whose fused and unfused results
;; differ. Each line is a name and the v128 as one 128-bit hex number (lane 0 last). For
;; the first min and max lines, NaN lanes are printed as their all-ones mask, the others
;; exactly; the lines ending in N print NaN results with payloads as they are. Compiled
;; with `--relaxed-simd=deterministic` the output is the same on every target
;; (`cli/tests/targets.rs` checks it).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Scratch: 192 an iovec, 200 the count written, 256.. the line being written.

  ;; Writes $name's 16 bytes at 128 as text, then $value as 32 hex digits and a newline.
  (func $print (param $name i64) (param $value v128) (local $i i32) (local $nibble i32)
    (local $half i64)
    (i64.store (i32.const 256) (local.get $name))
    (i32.store8 (i32.const 264) (i32.const 32))
    (loop $digit
      (local.set $half
        (if (result i64) (i32.lt_u (local.get $i) (i32.const 16))
          (then (i64x2.extract_lane 1 (local.get $value)))
          (else (i64x2.extract_lane 0 (local.get $value)))))
      (local.set $nibble
        (i32.wrap_i64 (i64.and
          (i64.shr_u (local.get $half) (i64.extend_i32_u
            (i32.mul (i32.sub (i32.const 15) (i32.and (local.get $i) (i32.const 15)))
              (i32.const 4))))
          (i64.const 15))))
      (i32.store8 (i32.add (i32.const 265) (local.get $i))
        (i32.add (local.get $nibble)
          (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $nibble) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digit (i32.lt_u (local.get $i) (i32.const 32))))
    (i32.store8 (i32.const 297) (i32.const 10))
    (i32.store (i32.const 192) (i32.const 256))
    (i32.store (i32.const 196) (i32.const 42))
    (if (call $fd_write (i32.const 1) (i32.const 192) (i32.const 1) (i32.const 200))
      (then unreachable)))

  ;; NaN lanes as all ones, other lanes as they are.
  (func $f32_lanes (param $x v128) (result v128)
    (local $nan v128)
    (local.set $nan (f32x4.ne (local.get $x) (local.get $x)))
    (v128.or (local.get $nan) (v128.andnot (local.get $x) (local.get $nan))))
  (func $f64_lanes (param $x v128) (result v128)
    (local $nan v128)
    (local.set $nan (f64x2.ne (local.get $x) (local.get $x)))
    (v128.or (local.get $nan) (v128.andnot (local.get $x) (local.get $nan))))

  ;; Operands come from these functions, so that no constant folding decides the results.
  (func $id (param v128) (result v128) (local.get 0))

  (func $main (export "_start")
    ;; Names are 8 ASCII bytes, little-endian.
    (call $print (i64.const 0x2020207a7a697773) ;; "swizz"
      (i8x16.relaxed_swizzle
        (call $id (v128.const i8x16 0x10 0x11 0x12 0x13 0x14 0x15 0x16 0x17
                                    0x18 0x19 0x1a 0x1b 0x1c 0x1d 0x1e 0x1f))
        (call $id (v128.const i8x16 0 17 35 127 128 255 16 5 15 64 100 200 3 31 48 1))))
    (call $print (i64.const 0x2020733233667274) ;; "trf32s"
      (i32x4.relaxed_trunc_f32x4_s (call $id (v128.const f32x4 nan 3e9 -3e9 -1.5))))
    (call $print (i64.const 0x2020753233667274) ;; "trf32u"
      (i32x4.relaxed_trunc_f32x4_u (call $id (v128.const f32x4 nan 5e9 -3.0 1.5))))
    (call $print (i64.const 0x2020733436667274) ;; "trf64s"
      (i32x4.relaxed_trunc_f64x2_s_zero (call $id (v128.const f64x2 nan 1e10))))
    (call $print (i64.const 0x2020753436667274) ;; "trf64u"
      (i32x4.relaxed_trunc_f64x2_u_zero (call $id (v128.const f64x2 -1e10 nan))))
    ;; (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 with one rounding and 0 with two.
    (call $print (i64.const 0x206464616d323366) ;; "f32madd"
      (f32x4.relaxed_madd
        (call $id (v128.const i32x4 0x3f800800 0x3f800800 0x40000000 0x3f800000))
        (call $id (v128.const i32x4 0x3f800800 0x3f800800 0x40400000 0x3f800000))
        (call $id (v128.const i32x4 0xbf801000 0x3f801000 0x3f800000 0x3f800000))))
    (call $print (i64.const 0x6464616d6e323366) ;; "f32nmadd"
      (f32x4.relaxed_nmadd
        (call $id (v128.const i32x4 0x3f800800 0x3f800800 0x40000000 0x3f800000))
        (call $id (v128.const i32x4 0x3f800800 0x3f800800 0x40400000 0x3f800000))
        (call $id (v128.const i32x4 0x3f801000 0xbf801000 0x3f800000 0x3f800000))))
    ;; (1 + 2^-27)^2 - (1 + 2^-26) is 2^-54 with one rounding and 0 with two.
    (call $print (i64.const 0x206464616d343666) ;; "f64madd"
      (f64x2.relaxed_madd
        (call $id (v128.const i64x2 0x3ff0000002000000 0x3ff0000002000000))
        (call $id (v128.const i64x2 0x3ff0000002000000 0x3ff0000002000000))
        (call $id (v128.const i64x2 0xbff0000004000000 0x3ff0000000000000))))
    (call $print (i64.const 0x6464616d6e343666) ;; "f64nmadd"
      (f64x2.relaxed_nmadd
        (call $id (v128.const i64x2 0x3ff0000002000000 0x3ff0000002000000))
        (call $id (v128.const i64x2 0x3ff0000002000000 0x3ff0000002000000))
        (call $id (v128.const i64x2 0x3ff0000004000000 0x3ff0000000000000))))
    (call $print (i64.const 0x202020386c65736c) ;; "lsel8"
      (i8x16.relaxed_laneselect
        (call $id (v128.const i8x16 0x11 0x11 0x11 0x11 0x11 0x11 0x11 0x11
                                    0x11 0x11 0x11 0x11 0x11 0x11 0x11 0x11))
        (call $id (v128.const i8x16 0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22
                                    0x22 0x22 0x22 0x22 0x22 0x22 0x22 0x22))
        (call $id (v128.const i8x16 0x80 0x7f 0xf0 0x0f 0xff 0x00 0x81 0x01
                                    0x80 0x7f 0xf0 0x0f 0xff 0x00 0x81 0x01))))
    (call $print (i64.const 0x202036316c65736c) ;; "lsel16"
      (i16x8.relaxed_laneselect
        (call $id (v128.const i16x8 0x1111 0x1111 0x1111 0x1111 0x1111 0x1111 0x1111 0x1111))
        (call $id (v128.const i16x8 0x2222 0x2222 0x2222 0x2222 0x2222 0x2222 0x2222 0x2222))
        (call $id (v128.const i16x8 0x8000 0x7fff 0xff00 0x00ff 0xffff 0 0x8001 1))))
    (call $print (i64.const 0x202032336c65736c) ;; "lsel32"
      (i32x4.relaxed_laneselect
        (call $id (v128.const i32x4 0x11111111 0x11111111 0x11111111 0x11111111))
        (call $id (v128.const i32x4 0x22222222 0x22222222 0x22222222 0x22222222))
        (call $id (v128.const i32x4 0x80000000 0x7fffffff 0xffff0000 0x0000ffff))))
    (call $print (i64.const 0x202034366c65736c) ;; "lsel64"
      (i64x2.relaxed_laneselect
        (call $id (v128.const i64x2 0x1111111111111111 0x1111111111111111))
        (call $id (v128.const i64x2 0x2222222222222222 0x2222222222222222))
        (call $id (v128.const i64x2 0x8000000000000000 0x7fffffffffffffff))))
    (call $print (i64.const 0x20206e696d323366) ;; "f32min"
      (call $f32_lanes (f32x4.relaxed_min
        (call $id (v128.const f32x4 nan 1.0 0.0 -0.0))
        (call $id (v128.const f32x4 1.0 nan -0.0 0.0)))))
    (call $print (i64.const 0x202078616d323366) ;; "f32max"
      (call $f32_lanes (f32x4.relaxed_max
        (call $id (v128.const f32x4 nan 1.0 0.0 -0.0))
        (call $id (v128.const f32x4 1.0 nan -0.0 0.0)))))
    (call $print (i64.const 0x20206e696d343666) ;; "f64min"
      (call $f64_lanes (f64x2.relaxed_min
        (call $id (v128.const f64x2 nan 0.0))
        (call $id (v128.const f64x2 1.0 -0.0)))))
    (call $print (i64.const 0x202078616d343666) ;; "f64max"
      (call $f64_lanes (f64x2.relaxed_max
        (call $id (v128.const f64x2 -0.0 1.0))
        (call $id (v128.const f64x2 0.0 nan)))))
    ;; NaN operands with payloads, some signaling: which NaN the hardware passes on
    ;; differs between targets; the deterministic profile makes each the canonical NaN.
    (call $print (i64.const 0x204e6e696d323366) ;; "f32minN"
      (f32x4.relaxed_min
        (call $id (v128.const f32x4 nan:0x200001 -nan:0x1 1.0 nan))
        (call $id (v128.const f32x4 -nan:0x400005 nan:0x300000 nan:0x7 2.0))))
    (call $print (i64.const 0x204e78616d343666) ;; "f64maxN"
      (f64x2.relaxed_max
        (call $id (v128.const f64x2 nan:0x1 2.0))
        (call $id (v128.const f64x2 -nan:0x80000 -nan:0x4))))
    (call $print (i64.const 0x4e6464616d323366) ;; "f32maddN"
      (f32x4.relaxed_madd
        (call $id (v128.const f32x4 nan:0x1 1.0 2.0 -nan:0x300000))
        (call $id (v128.const f32x4 1.0 nan:0x200000 3.0 1.0))
        (call $id (v128.const f32x4 -nan:0x100000 1.0 -nan:0x5 nan:0x7))))
    (call $print (i64.const 0x20726c756d353171) ;; "q15mulr"
      (i16x8.relaxed_q15mulr_s
        (call $id (v128.const i16x8 -32768 -32768 16384 -16384 32767 -32768 1 0))
        (call $id (v128.const i16x8 -32768 32767 16384 16384 32767 -32768 -1 5))))
    (call $print (i64.const 0x2020203631746f64) ;; "dot16"
      (i16x8.relaxed_dot_i8x16_i7x16_s
        (call $id (v128.const i8x16 -128 -128 -128 -128 127 127 1 2 3 4 -5 6 -128 -128 0 0))
        (call $id (v128.const i8x16 -127 -127 -128 -128 -1 -1 1 2 3 4 5 -6 127 127 0 0))))
    (call $print (i64.const 0x2020203233746f64) ;; "dot32"
      (i32x4.relaxed_dot_i8x16_i7x16_add_s
        (call $id (v128.const i8x16 -128 -128 -128 -128 127 127 1 2 3 4 -5 6 -128 -128 0 0))
        (call $id (v128.const i8x16 -127 -127 -127 -127 -1 -1 1 2 3 4 5 -6 127 127 0 0))
        (call $id (v128.const i32x4 1 2 3 4))))))
