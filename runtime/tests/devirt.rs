//! Devirtualized `call_indirect` (`CompileOptions::devirtualize`) keeps what depends on
//! frames right: the module here is compiled with and without it, and every call must give
//! the same results, or the same trap with the same backtrace (function and wasm offset of
//! every frame, as `common::Outcome`), and spend the same fuel. Its tables are fixed, so each path is taken: a
//! constant index (a direct call), a type with one function in the table (a guarded
//! direct call, its guard passing and failing), a type with several (the code table), and
//! the checked call in the cold blocks (imports, null slots, wrong types, out of bounds),
//! as plain and tail calls.

mod common;

use common::{call_with_fuel, Outcome};
use kiln_runtime::{load_object, Extern, Func, FuncType, Linker, Module, Store, Val, ValType};

const WAT: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (type $v_i (func (result i32)))
  (import "env" "host" (func $host (type $ii)))
  (table $t 6 funcref)
  (elem (table $t) (i32.const 0) func $inc $checked_div $host $only $traps)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $checked_div (type $ii) (i32.div_u (i32.const 100) (local.get 0)))
  (func $traps (type $ii) (unreachable))
  (func $only (type $v_i) (i32.const 7))
  (func (export "several") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "several_tail") (param i32 i32) (result i32)
    (return_call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "one") (param i32) (result i32)
    (call_indirect $t (type $v_i) (local.get 0)))
  (func (export "one_tail") (param i32) (result i32)
    (return_call_indirect $t (type $v_i) (local.get 0)))
  (func (export "constant_div") (param i32) (result i32)
    (call_indirect $t (type $ii) (local.get 0) (i32.const 1)))
  (func (export "constant_traps") (param i32) (result i32)
    (call_indirect $t (type $ii) (local.get 0) (i32.const 4)))
  (func (export "constant_null") (param i32) (result i32)
    (call_indirect $t (type $ii) (local.get 0) (i32.const 5))))"#;

/// Every call of `calls`, in a fresh instance of the module compiled with `devirtualize`,
/// with the fuel each left (from 100,000 each).
fn run(devirtualize: bool, calls: &[(&str, Vec<i32>)]) -> Vec<(Outcome, u64)> {
    let wasm = wat::parse_str(WAT).expect("valid wat");
    let options = kiln_compiler::CompileOptions {
        devirtualize,
        fuel: true,
        ..kiln_compiler::CompileOptions::default()
    };
    let object = kiln_compiler::compile(&wasm, &options).expect("compiles");
    let module: Module = load_object(&object, "").expect("loads");
    let mut store = Store::new();
    let host = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        },
        |_caller, args| {
            let Val::I32(x) = args[0] else {
                unreachable!("an i32 parameter")
            };
            Ok(vec![Val::I32(x * 3)])
        },
    );
    let mut linker = Linker::new();
    linker.define("env", "host", Extern::Func(host));
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    calls
        .iter()
        .map(|(name, args)| call_with_fuel(&mut store, &instance, name, args))
        .collect()
}

#[test]
fn devirtualized_calls_give_the_same_results_traps_backtraces_and_fuel() {
    let mut calls = Vec::new();
    for name in ["several", "several_tail"] {
        for index in [0, 1, 2, 3, 4, 5, 6, -1] {
            calls.push((name, vec![index, 5]));
        }
        // A trap in the callee (division by zero).
        calls.push((name, vec![1, 0]));
    }
    for name in ["one", "one_tail"] {
        for index in [0, 3, 5, 6, 1_000_000] {
            calls.push((name, vec![index]));
        }
    }
    for name in ["constant_div", "constant_traps", "constant_null"] {
        calls.push((name, vec![4]));
        calls.push((name, vec![0]));
    }
    let checked = run(false, &calls);
    let devirtualized = run(true, &calls);
    for (((name, args), checked), devirtualized) in calls.iter().zip(&checked).zip(&devirtualized) {
        assert_eq!(
            checked, devirtualized,
            "{name}{args:?}: checked, then devirtualized"
        );
    }
    // The calls did what the module says, so the comparison compared something.
    let outcome = |i: usize| &checked[i].0;
    assert_eq!(outcome(0), &Outcome::Returned(vec![6]), "several(0, 5)");
    assert_eq!(
        outcome(2),
        &Outcome::Returned(vec![15]),
        "several(2, 5): the import"
    );
    assert!(
        matches!(outcome(3), Outcome::Trapped(message, _) if message == "indirect call type mismatch"),
        "several(3, 5): {:?}",
        outcome(3)
    );
    assert!(
        matches!(outcome(8), Outcome::Trapped(message, frames)
            if message == "integer divide by zero" && frames.len() == 2),
        "several(1, 0): the callee's frame and the caller's: {:?}",
        outcome(8)
    );
}
