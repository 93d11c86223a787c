;; Traps with "unreachable" three calls deep, as a Rust or C++ guest's panic or abort does,
;; in functions whose name-section names are mangled: C++ Itanium (`divide(int, int)`), Rust
;; legacy with its hash (`calc::average`) and Rust v0 (`calc::run`). The report must show
;; them demangled, innermost first.
(module $calc
  (func $_Z6divideii (param $numerator i32) (param $denominator i32) (result i32)
    (if (i32.eqz (local.get $denominator)) (then (unreachable)))
    (i32.div_s (local.get $numerator) (local.get $denominator)))

  (func $_ZN4calc7average17h0123456789abcdefE (param $total i32) (param $count i32) (result i32)
    ;; The addition after the call keeps it from being a tail call.
    (i32.add (call $_Z6divideii (local.get $total) (local.get $count)) (i32.const 1)))

  (func $_RNvCs1234_4calc3run
    (drop (call $_ZN4calc7average17h0123456789abcdefE (i32.const 100) (i32.const 0))))

  (func $_start (export "_start")
    (call $_RNvCs1234_4calc3run)))
