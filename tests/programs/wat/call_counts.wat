;; Known call counts for profile-guided optimization (cli/tests/profile.rs): by defined
;; index, `$never` is entered 0 times, `$leaf` 100, `$mid` 10, `$print_u32` 1, `_start` 1.
;; `_start` sums `$mid 0` to `$mid 9` (each ten rounds of `$leaf`, x * 3 + 1) and prints
;; the sum in decimal. With one command-line argument it then traps (unreachable), with
;; two it exits with `proc_exit 7`: the profile must be written whatever ends the run.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $never (result i32) (i32.const 7))
  (func $leaf (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1)))
  (func $mid (param $x i32) (result i32) (local $round i32)
    (loop $rounds
      (local.set $x (call $leaf (local.get $x)))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 10))))
    (local.get $x))
  (func $print_u32 (param $n i32) (local $at i32)
    ;; Digits backwards from 240, a newline at 240, one fd_write of [at, 241).
    (local.set $at (i32.const 240))
    (i32.store8 (local.get $at) (i32.const 10))
    (loop $digits
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at)
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (local.get $n)))
    (i32.store (i32.const 8) (local.get $at))
    (i32.store (i32.const 12) (i32.sub (i32.const 241) (local.get $at)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
  (func (export "_start") (local $i i32) (local $sum i32)
    (loop $each
      (local.set $sum (i32.add (local.get $sum) (call $mid (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 10))))
    (call $print_u32 (local.get $sum))
    ;; argc, the program name included, at 0.
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.eq (i32.load (i32.const 0)) (i32.const 2)) (then unreachable))
    (if (i32.eq (i32.load (i32.const 0)) (i32.const 3)) (then (call $proc_exit (i32.const 7))))))
