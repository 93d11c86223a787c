//! `kiln-bench exec --deterministic` gives the guest kiln's `--deterministic` clocks and
//! random stream (the values kiln's own tests pin in `runtime/src/wasi/tests.rs`), so a
//! workload that draws random numbers does the same work under Wasmtime and kiln.

use std::process::Command;

/// Prints, one per line in hex: monotonic clock, realtime clock, the monotonic clock's
/// resolution, then two 8-byte `random_get` draws (each a little-endian i64).
const GUEST: &str = r#"
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get"
    (func $clock_res_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get"
    (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $check (param $errno i32)
    (if (local.get $errno) (then unreachable)))
  (func $print (param $value i64) (local $i i32) (local $nibble i32)
    (loop $digit
      (local.set $nibble
        (i32.wrap_i64 (i64.and
          (i64.shr_u (local.get $value) (i64.extend_i32_u
            (i32.mul (i32.sub (i32.const 15) (local.get $i)) (i32.const 4))))
          (i64.const 15))))
      (i32.store8 (i32.add (i32.const 256) (local.get $i))
        (i32.add (local.get $nibble)
          (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $nibble) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digit (i32.lt_u (local.get $i) (i32.const 16))))
    (i32.store8 (i32.const 272) (i32.const 10))
    (i32.store (i32.const 192) (i32.const 256))
    (i32.store (i32.const 196) (i32.const 17))
    (call $check (call $fd_write (i32.const 1) (i32.const 192) (i32.const 1) (i32.const 200))))
  (func $clock (param $id i32) (result i64)
    (call $check (call $clock_time_get (local.get $id) (i64.const 1) (i32.const 0)))
    (i64.load (i32.const 0)))
  (func $random (result i64)
    (call $check (call $random_get (i32.const 0) (i32.const 8)))
    (i64.load (i32.const 0)))
  (func (export "_start")
    (call $print (call $clock (i32.const 1)))
    (call $print (call $clock (i32.const 0)))
    (call $check (call $clock_res_get (i32.const 1) (i32.const 0)))
    (call $print (i64.load (i32.const 0)))
    (call $print (call $random))
    (call $print (call $random))))
"#;

fn exec(module: &std::path::Path, deterministic: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln-bench"));
    command.arg("exec");
    if deterministic {
        command.arg("--deterministic");
    }
    let output = command
        .arg(module)
        .output()
        .expect("running kiln-bench exec");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

#[test]
fn exec_deterministic_matches_kilns_clocks_and_random_stream() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("deterministic");
    std::fs::create_dir_all(&dir).unwrap();
    let module = dir.join("guest.wasm");
    std::fs::write(&module, wat::parse_str(GUEST).unwrap()).unwrap();
    let expected = "00000000000003e8\n00000000000007d0\n00000000000003e8\n\
                    e220a8397b1dcdaf\n6e789e6aa1b965f4\n";
    assert_eq!(exec(&module, true), expected);
    // Without the flag: the host's clocks and entropy.
    let host = exec(&module, false);
    assert_eq!(host.lines().count(), 5, "{host}");
    assert_ne!(host.lines().next(), expected.lines().next(), "{host}");
    assert_ne!(host.lines().nth(3), expected.lines().nth(3), "{host}");
}
