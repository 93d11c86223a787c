;; i16x8.q15mulr_sat_s: `pmulhrsw` computes it except that 0x8000 * 0x8000 wraps to
;; 0x8000 instead of saturating to 0x7fff; the fix-up flips exactly those lanes.
(module
  (func $i16x8_q15mulr_sat_s (export "i16x8_q15mulr_sat_s") (param v128 v128) (result v128)
    (i16x8.q15mulr_sat_s (local.get 0) (local.get 1))))
