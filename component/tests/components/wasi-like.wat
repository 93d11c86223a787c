;; A small hand-written component in the shape of a WASI 0.2 command, for the plan tests
;; (component/tests/plan.rs): host imports of a resource and of functions taking and
;; returning handles, a core instance providing memory and `cabi_realloc`, `canon lower`
;; with those options, `resource.drop` of a host resource, a nested component defining a
;; resource of its own (with a destructor) behind `resource.new`/`rep`/`drop`, an alias of
;; the nested instance's export, a `canon lower` of that lifted function (which makes the
;; translator generate a fused adapter module), and `wasi:cli/run`'s `run` exported.
(component
  (import "wasi:io/streams@0.2.3" (instance $streams
    (export "output-stream" (type $os (sub resource)))
    (export "error" (type $err (sub resource)))
    (type $stream-error (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $se (eq $stream-error)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se)))))
  ))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:cli/stdout@0.2.3" (instance $stdout
    (alias outer 1 $output-stream (type $os))
    (export "output-stream" (type $os2 (eq $os)))
    (export "get-stdout" (func (result (own $os2))))
  ))

  ;; The nested component: a counter resource defined by the component itself.
  (component $counter
    (core module $dtor
      (global (export "dropped") (mut i32) (i32.const 0))
      (func (export "dtor") (param i32)))
    (core instance $dtor (instantiate $dtor))
    (type $counter (resource (rep i32) (dtor (core func $dtor "dtor"))))
    (core func $new (canon resource.new $counter))
    (core func $rep (canon resource.rep $counter))
    (core func $drop (canon resource.drop $counter))
    (core module $use
      (import "counter" "new" (func $new (param i32) (result i32)))
      (import "counter" "rep" (func $rep (param i32) (result i32)))
      (import "counter" "drop" (func $drop (param i32)))
      (func (export "count") (result i32)
        (local $handle i32) (local $value i32)
        (local.set $handle (call $new (i32.const 41)))
        (local.set $value (i32.add (call $rep (local.get $handle)) (i32.const 1)))
        (call $drop (local.get $handle))
        (local.get $value)))
    (core instance $use (instantiate $use
      (with "counter" (instance
        (export "new" (func $new))
        (export "rep" (func $rep))
        (export "drop" (func $drop))))))
    (func (export "count") (result u32) (canon lift (core func $use "count")))
  )
  (instance $counter (instantiate $counter))
  (alias export $counter "count" (func $count))

  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $bump))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $libc (instantiate $libc))
  (core func $get-stdout (canon lower (func $stdout "get-stdout")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush")
    (memory (core memory $libc "memory")) (realloc (core func $libc "cabi_realloc"))))
  (core func $drop-output-stream (canon resource.drop $output-stream))
  (core func $count (canon lower (func $count)))
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "wasi" "get-stdout" (func $get-stdout (result i32)))
    (import "wasi" "write" (func $write (param i32 i32 i32 i32)))
    (import "wasi" "drop-output-stream" (func $drop (param i32)))
    (import "counter" "count" (func $count (result i32)))
    (data (i32.const 16) "hello\n")
    (func (export "run") (result i32)
      (local $out i32)
      (drop (call $count))
      (local.set $out (call $get-stdout))
      (call $write (local.get $out) (i32.const 16) (i32.const 6) (i32.const 32))
      (call $drop (local.get $out))
      (i32.load8_u (i32.const 32))))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "wasi" (instance
      (export "get-stdout" (func $get-stdout))
      (export "write" (func $write))
      (export "drop-output-stream" (func $drop-output-stream))))
    (with "counter" (instance (export "count" (func $count))))))
  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run (export "run" (func $run)))
  (export "wasi:cli/run@0.2.3" (instance $run))
)
