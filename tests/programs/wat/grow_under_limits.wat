;; Grows its memory a page at a time up to 9 pages or until memory.grow fails, grows its
;; one-element table by 3; prints the memory's pages and table.grow's result + 1 (2: it
;; grew from 1 element; 0: it failed). cli/tests/limits.rs runs it under --max-memory and --max-table-elements.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table 1 funcref)
  (func $print_digit (param $d i32)
    (i32.store8 (i32.const 100) (i32.add (i32.const 48) (local.get $d)))
    (i32.store8 (i32.const 101) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    ;; grows one page at a time until memory.grow fails or 9 pages are reached: prints pages
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (memory.size) (i32.const 9)))
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $again)))
    (call $print_digit (memory.size))
    (call $print_digit (i32.add (i32.const 1) (table.grow (ref.null func) (i32.const 3))))))
