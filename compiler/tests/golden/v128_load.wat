;; SIMD memory accesses: addresses come from memory.rs (no bounds check needed with the
;; default 4 GiB reservation + 2 GiB guard), and extending loads fold into `pmovsx*`.
(module
  (memory 1)
  (func $v128_load8x8_s (export "v128_load8x8_s") (param i32) (result v128)
    (v128.load8x8_s offset=16 (local.get 0)))
  (func $v128_load32_zero (export "v128_load32_zero") (param i32) (result v128)
    (v128.load32_zero (local.get 0)))
  (func $v128_store_lane (export "v128_store_lane") (param i32 v128)
    (v128.store16_lane 3 (local.get 0) (local.get 1))))
