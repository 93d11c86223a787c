//! Inlining across the module (`CompileOptions::inline`) keeps what depends on frames
//! right: every module here is compiled with and without it, and the two must give the
//! same results; traps in inlined code are reported in the caller's frame at the call,
//! exceptions thrown in inlined code reach the handlers that caught them before, and fuel
//! is counted the same.

use kiln_runtime::{
    load_object, CallError, Extern, Instance, Linker, Module, Store, Trap, TrapCode, Val,
};

fn module(wat: &str, inline: bool, fuel: bool) -> Module {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let options = kiln_compiler::CompileOptions {
        inline,
        fuel,
        ..kiln_compiler::CompileOptions::default()
    };
    let object = kiln_compiler::compile(&wasm, &options).expect("compiles");
    load_object(&object, "").expect("loads")
}

fn instantiate(store: &mut Store, module: &Module) -> Instance {
    Linker::new()
        .instantiate(store, module)
        .expect("instantiates")
}

fn call(
    store: &mut Store,
    instance: Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, CallError> {
    let Some(Extern::Func(func)) = instance.get_export(store, name) else {
        panic!("no function export {name}");
    };
    func.call(store, args)
}

fn trap(result: Result<Vec<Val>, CallError>) -> Trap {
    match result {
        Err(CallError::Trap(trap)) => trap,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// `(function index, wasm offset)` of every frame, innermost first.
fn frames(trap: &Trap) -> Vec<(u32, Option<u32>)> {
    trap.backtrace
        .iter()
        .map(|frame| (frame.func_index, frame.wasm_offset))
        .collect()
}

/// The module offsets of the operators of defined function `defined_index` for which
/// `wanted` holds.
fn operator_offsets(
    wasm: &[u8],
    defined_index: usize,
    wanted: impl Fn(&wasmparser::Operator<'_>) -> bool,
) -> Vec<u32> {
    let body = wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(|payload| match payload.expect("valid wasm") {
            wasmparser::Payload::CodeSectionEntry(body) => Some(body),
            _ => None,
        })
        .nth(defined_index)
        .expect("the function exists");
    let mut reader = body.get_operators_reader().expect("valid body");
    let mut offsets = Vec::new();
    while !reader.eof() {
        let (operator, offset) = reader.read_with_offset().expect("valid operator");
        if wanted(&operator) {
            offsets.push(offset as u32);
        }
    }
    offsets
}

fn is_call(operator: &wasmparser::Operator<'_>) -> bool {
    matches!(operator, wasmparser::Operator::Call { .. })
}

const DIVIDE: &str = r#"(module $calc
    (func $divide (param i32 i32) (result i32)
        (i32.div_u (local.get 0) (local.get 1)))
    (func $average (param i32) (result i32)
        (i32.add (call $divide (i32.const 100) (local.get 0)) (i32.const 1)))
    (func $run (export "run") (param i32) (result i32)
        (i32.mul (call $average (local.get 0)) (i32.const 2)))
    (func $direct (export "direct") (param i32) (result i32)
        (call $divide (i32.const 7) (local.get 0))))"#;

#[test]
fn a_trap_in_inlined_code_is_reported_at_the_call_in_the_caller() {
    let wasm = wat::parse_str(DIVIDE).unwrap();
    let division = operator_offsets(&wasm, 0, |op| matches!(op, wasmparser::Operator::I32DivU))[0];
    let average_call = operator_offsets(&wasm, 1, is_call)[0];
    let run_call = operator_offsets(&wasm, 2, is_call)[0];
    let direct_call = operator_offsets(&wasm, 3, is_call)[0];

    for inline in [false, true] {
        let mut store = Store::new();
        let instance = instantiate(&mut store, &module(DIVIDE, inline, false));
        assert_eq!(
            call(&mut store, instance, "run", &[Val::I32(4)]).unwrap(),
            [Val::I32(52)]
        );
        assert_eq!(
            call(&mut store, instance, "direct", &[Val::I32(2)]).unwrap(),
            [Val::I32(3)]
        );
        let run = trap(call(&mut store, instance, "run", &[Val::I32(0)]));
        let direct = trap(call(&mut store, instance, "direct", &[Val::I32(0)]));
        assert_eq!(run.code, TrapCode::IntegerDivisionByZero);
        assert_eq!(direct.code, TrapCode::IntegerDivisionByZero);
        if inline {
            // `$average` is inlined into `$run` with its call to `$divide` (one level: the
            // callee's body before inlining): `$divide`'s frame is real, `$average`'s is
            // gone and its call is `$run`'s. `$divide` is inlined into `$direct`: the trap
            // is in `$direct`'s frame, at its call.
            assert_eq!(
                frames(&run),
                [(0, Some(division)), (2, Some(run_call))],
                "{run}"
            );
            assert_eq!(frames(&direct), [(3, Some(direct_call))], "{direct}");
        } else {
            assert_eq!(
                frames(&run),
                [
                    (0, Some(division)),
                    (1, Some(average_call)),
                    (2, Some(run_call))
                ],
                "{run}"
            );
            assert_eq!(
                frames(&direct),
                [(0, Some(division)), (3, Some(direct_call))],
                "{direct}"
            );
        }
    }
}

const EXCEPTIONS: &str = r#"(module
    (tag $error (param i32))
    (func $check (param i32) (result i32)
        (if (i32.gt_u (local.get 0) (i32.const 10)) (then (throw $error (local.get 0))))
        (i32.mul (local.get 0) (i32.const 2)))
    (func $check_twice (param i32) (result i32)
        (call $check (call $check (local.get 0))))
    (func (export "catch") (param i32) (result i32)
        (block $caught (result i32)
            (try_table (result i32) (catch $error $caught)
                (call $check (local.get 0)))
            (return))
        (i32.add (i32.const 1000)))
    (func (export "catch_nested") (param i32) (result i32)
        (block $caught (result i32)
            (try_table (result i32) (catch $error $caught)
                (call $check_twice (local.get 0)))
            (return))
        (i32.add (i32.const 2000)))
    (func (export "uncaught") (param i32) (result i32)
        (call $check (local.get 0)))
    (func (export "uncaught_nested") (param i32) (result i32)
        (call $check_twice (local.get 0))))"#;

#[test]
fn an_exception_thrown_in_inlined_code_is_caught_by_the_caller() {
    for inline in [false, true] {
        let mut store = Store::new();
        let instance = instantiate(&mut store, &module(EXCEPTIONS, inline, false));
        let mut run =
            |name: &str, argument: i32| call(&mut store, instance, name, &[Val::I32(argument)]);
        // `$check` throws through a builtin, so it stays a call inside a `try_table`.
        assert_eq!(run("catch", 3).unwrap(), [Val::I32(6)], "inline {inline}");
        assert_eq!(
            run("catch", 11).unwrap(),
            [Val::I32(1011)],
            "inline {inline}"
        );
        // `$check_twice` inlined into a `try_table`: its calls became covered calls, so a
        // throw from the second call (6 * 2 = 12 > 10) is caught too.
        assert_eq!(
            run("catch_nested", 2).unwrap(),
            [Val::I32(8)],
            "inline {inline}"
        );
        assert_eq!(
            run("catch_nested", 6).unwrap(),
            [Val::I32(2012)],
            "inline {inline}"
        );
        assert_eq!(
            run("catch_nested", 40).unwrap(),
            [Val::I32(2040)],
            "inline {inline}"
        );
        let uncaught = trap(run("uncaught", 50));
        assert_eq!(
            uncaught.code,
            TrapCode::UncaughtException,
            "inline {inline}"
        );
        // Functions 0 (`$check`) and 4 ("uncaught"): outside a `try_table`, `$check` is
        // inlined and has no frame.
        let frames: Vec<u32> = uncaught.backtrace.iter().map(|f| f.func_index).collect();
        let expected: &[u32] = if inline { &[4] } else { &[0, 4] };
        assert_eq!(frames, expected, "inline {inline}");
        // `$check_twice` (1) has no frame once inlined: the same callee and the same
        // decision as inside the `try_table` of "catch_nested" (it calls wasm functions
        // only), which the results above show catching what its calls throw.
        let nested = trap(run("uncaught_nested", 50));
        let frames: Vec<u32> = nested.backtrace.iter().map(|f| f.func_index).collect();
        let expected: &[u32] = if inline { &[0, 5] } else { &[0, 1, 5] };
        assert_eq!(frames, expected, "inline {inline}");
        assert_eq!(
            run("uncaught", 5).unwrap(),
            [Val::I32(10)],
            "inline {inline}"
        );
    }
}

#[test]
fn fuel_is_counted_the_same_in_inlined_code() {
    let wat = r#"(module
        (func $step (param i32) (result i32) (i32.add (local.get 0) (i32.const 3)))
        (func (export "loop") (param i32) (result i32) (local i32)
            (loop $again
                (local.set 1 (call $step (local.get 1)))
                (br_if $again (i32.lt_u (local.get 1) (local.get 0))))
            (local.get 1)))"#;
    let mut left = Vec::new();
    for inline in [false, true] {
        let mut store = Store::new();
        store.set_fuel(10_000);
        let instance = instantiate(&mut store, &module(wat, inline, true));
        assert_eq!(
            call(&mut store, instance, "loop", &[Val::I32(300)]).unwrap(),
            [Val::I32(300)]
        );
        left.push(store.fuel());
        let out = trap(call(&mut store, instance, "loop", &[Val::I32(30_000)]));
        assert_eq!(out.code, TrapCode::OutOfFuel, "inline {inline}");
    }
    assert_eq!(left[0], left[1], "fuel left without and with inlining");
}

#[test]
fn a_call_indirect_through_a_code_table_works_inlined() {
    // `$dispatch` is small: inlined into `caller`, its `call_indirect` (a variable index
    // into a fixed table of two functions of one type: the code-table path of `devirt.rs`)
    // must still read the code table, not the symbol of whatever the caller names first
    // (`$a`, here): that was a host crash.
    let wat = r#"(module
        (type $t (func (param i32) (result i32)))
        (table 2 funcref)
        (elem (i32.const 0) $a $b)
        (func $a (type $t) (i32.add (local.get 0) (i32.const 10)))
        (func $b (type $t) (i32.mul (local.get 0) (i32.const 3)))
        (func $dispatch (param i32 i32) (result i32)
            (call_indirect (type $t) (local.get 1) (local.get 0)))
        (func (export "caller") (param i32) (result i32)
            (i32.add (call $a (local.get 0)) (call $dispatch (local.get 0) (i32.const 7)))))"#;
    for inline in [false, true] {
        let mut store = Store::new();
        let instance = instantiate(&mut store, &module(wat, inline, false));
        let mut run = |index: i32| call(&mut store, instance, "caller", &[Val::I32(index)]);
        assert_eq!(run(0).unwrap(), [Val::I32(10 + 17)], "inline {inline}");
        assert_eq!(run(1).unwrap(), [Val::I32(11 + 21)], "inline {inline}");
        let trap = trap(run(2));
        assert_eq!(trap.code, TrapCode::UndefinedElement, "inline {inline}");
    }
}
