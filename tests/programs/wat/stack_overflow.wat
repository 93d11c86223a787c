;; Recurses without end: _start -> descend -> recurse -> recurse -> ... until the stack is
;; exhausted ("call stack exhausted"). The innermost frame is recurse.
(module
  (func $recurse (param $depth i64) (result i64)
    (i64.add (call $recurse (i64.add (local.get $depth) (i64.const 1))) (local.get $depth)))

  (func $descend (result i64)
    (i64.add (call $recurse (i64.const 0)) (i64.const 1)))

  (func $_start (export "_start")
    (drop (call $descend))))
