;; i8x16.swizzle: lanes with an index >= 16 become 0. SSSE3's `pshufb` zeroes a lane only
;; when the index's top bit is set, so a saturating add of 0x70 comes first.
(module
  (func $i8x16_swizzle (export "i8x16_swizzle") (param v128 v128) (result v128)
    (i8x16.swizzle (local.get 0) (local.get 1))))
