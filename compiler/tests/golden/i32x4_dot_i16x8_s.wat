;; i32x4.dot_i16x8_s: translated as widen-multiply-add-pairwise, which the x64 backend
;; matches into one `pmaddwd`. The extended pairwise adds match `pmaddubsw`/`pmaddwd` too.
(module
  (func $i32x4_dot_i16x8_s (export "i32x4_dot_i16x8_s") (param v128 v128) (result v128)
    (i32x4.dot_i16x8_s (local.get 0) (local.get 1)))
  (func $i16x8_extadd_pairwise_i8x16_s (export "i16x8_extadd_pairwise_i8x16_s") (param v128) (result v128)
    (i16x8.extadd_pairwise_i8x16_s (local.get 0))))
