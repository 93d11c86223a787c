;; A component written in the text format, embedded with kiln_build::Component: exports
;; with scalar and string parameters and results (typed methods in its bindings), one
;; that traps, and a core module with its own memory and `realloc` for the strings.
(component
  (core module $m
    (memory (export "memory") 1)
    (data (i32.const 16) "Hello, ")
    ;; Where the next allocation starts: a bump allocator, enough for a few calls.
    (global $next (mut i32) (i32.const 1024))
    (func $realloc (export "realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
      (result i32)
      (local $at i32)
      (local.set $at
        (i32.and
          (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $at) (local.get $size)))
      (local.get $at))
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1)))
    (func (export "divide") (param i32 i32) (result i32)
      (i32.div_s (local.get 0) (local.get 1)))
    ;; "Hello, " + name + "!", returned through the (pointer, length) pair at 8.
    (func (export "greet") (param $name i32) (param $len i32) (result i32)
      (local $out i32) (local $total i32)
      (local.set $total (i32.add (local.get $len) (i32.const 8)))
      (local.set $out
        (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $total)))
      (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
      (memory.copy
        (i32.add (local.get $out) (i32.const 7)) (local.get $name) (local.get $len))
      (i32.store8
        (i32.sub (i32.add (local.get $out) (local.get $total)) (i32.const 1))
        (i32.const 33))
      (i32.store (i32.const 8) (local.get $out))
      (i32.store (i32.const 12) (local.get $total))
      (i32.const 8))
  )
  (core instance $i (instantiate $m))
  (alias core export $i "memory" (core memory $memory))
  (alias core export $i "realloc" (core func $realloc))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add")))
  (func (export "divide") (param "a" s32) (param "b" s32) (result s32)
    (canon lift (core func $i "divide")))
  (func (export "greet") (param "name" string) (result string)
    (canon lift (core func $i "greet") (memory $memory) (realloc $realloc)))
)
