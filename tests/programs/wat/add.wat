;; A library module for `kiln run --invoke` and `kiln inspect`: exports `add` and a memory.
(module
  (memory (export "memory") 1)

  (func $add (export "add") (param $left i32) (param $right i32) (result i32)
    (i32.add (local.get $left) (local.get $right))))
