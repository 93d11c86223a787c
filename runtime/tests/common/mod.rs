//! What the differential tests (`devirt.rs`, `unused_functions.rs`, `identical_functions.rs`)
//! observe of a call: the module is compiled with and without an optimization, and each
//! call must give the same outcome and spend the same fuel either way.

use kiln_runtime::{load_object, CallError, Extern, Instance, Linker, Module, Store, Val};

/// What a call did: its results, or its trap's code and frames (function index, name and
/// wasm offset of each).
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Returned(Vec<i32>),
    Trapped(String, Vec<(u32, Option<String>, Option<u32>)>),
}

/// Calls export `name` of `instance` with `args` and 100,000 fuel: its outcome and the
/// fuel it left.
pub fn call_with_fuel(
    store: &mut Store,
    instance: &Instance,
    name: &str,
    args: &[i32],
) -> (Outcome, u64) {
    let Some(Extern::Func(func)) = instance.get_export(store, name) else {
        panic!("no function export {name}");
    };
    let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
    store.set_fuel(100_000);
    let outcome = match func.call(store, &args) {
        Ok(results) => Outcome::Returned(
            results
                .iter()
                .map(|result| match result {
                    Val::I32(value) => *value,
                    other => panic!("{name}: an i32 result, not {other:?}"),
                })
                .collect(),
        ),
        Err(CallError::Trap(trap)) => Outcome::Trapped(
            trap.code.message().to_string(),
            trap.backtrace
                .iter()
                .map(|frame| (frame.func_index, frame.func_name.clone(), frame.wasm_offset))
                .collect(),
        ),
        Err(other) => panic!("{name}: {other:?}"),
    };
    (outcome, store.fuel().expect("fuel was set"))
}

/// Every call of `calls` in one instance of `wat` compiled with `options` (a module without
/// imports), each with its outcome and the fuel it left (`call_with_fuel`); then, for code
/// compiled to count (`profile_generate`), each defined function's entry count.
#[allow(dead_code)] // Not every test binary that includes this module calls it.
pub fn run_calls(
    wat: &str,
    options: &kiln_compiler::CompileOptions,
    calls: &[(&str, Vec<i32>)],
) -> (Vec<(Outcome, u64)>, Option<Vec<u64>>) {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let object = kiln_compiler::compile(&wasm, options).expect("compiles");
    let module: Module = load_object(&object, "").expect("loads");
    let mut store = Store::new();
    let instance = Linker::new()
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let outcomes = calls
        .iter()
        .map(|(name, args)| call_with_fuel(&mut store, &instance, name, args))
        .collect();
    let counts = options.profile_generate.then(|| {
        kiln_runtime::profile::profile(&module)
            .expect("the code counts")
            .expect("the profile settings decode")
            .counts
    });
    (outcomes, counts)
}
