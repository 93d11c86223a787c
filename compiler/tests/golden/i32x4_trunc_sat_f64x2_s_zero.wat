;; i32x4.trunc_sat_f64x2_s_zero: saturating conversion to 64-bit lanes, then a narrow into
;; the low half; the x64 backend matches the pair into one `cvttpd2dq` plus NaN/overflow
;; fix-ups.
(module
  (func $i32x4_trunc_sat_f64x2_s_zero (export "i32x4_trunc_sat_f64x2_s_zero") (param v128) (result v128)
    (i32x4.trunc_sat_f64x2_s_zero (local.get 0))))
