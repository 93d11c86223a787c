;; Traps with "out of bounds memory access" three calls deep: _start -> lookup -> load_at.
;; The address is far past the one-page memory but inside the guard region.
(module
  (memory (export "memory") 1)

  (func $load_at (param $address i32) (result i32)
    (i32.load (local.get $address)))

  (func $lookup (param $index i32) (result i32)
    (i32.add (call $load_at (i32.mul (local.get $index) (i32.const 4))) (i32.const 1)))

  (func $_start (export "_start")
    (drop (call $lookup (i32.const 0x1000000)))))
