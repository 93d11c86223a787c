;; f32x4.min: NaN-propagating, with -0 < +0. `minps` is neither (it returns its second
;; operand for NaN and for equal zeros), so the result is `minps` both ways combined.
;; f32x4.pmin is the spec's `b < a ? b : a`, which is exactly one `minps`.
(module
  (func $f32x4_min (export "f32x4_min") (param v128 v128) (result v128)
    (f32x4.min (local.get 0) (local.get 1)))
  (func $f32x4_pmin (export "f32x4_pmin") (param v128 v128) (result v128)
    (f32x4.pmin (local.get 0) (local.get 1))))
