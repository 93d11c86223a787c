//! Inputs the fuzz targets found, minimized, each replayed through the oracle that found
//! it (issue 17: a crash becomes a regression test before it is fixed).

use kiln_fuzz::{differential_module_run, Outcome, Settings};

/// `wat` run by kiln and wasmi on `fuel` must agree, every export called.
fn check_differential(wat: &str, fuel: Option<u64>) {
    let wasm = wat::parse_str(wat).unwrap();
    let settings = Settings {
        fuel,
        ..Settings::default()
    };
    match differential_module_run(&wasm, settings) {
        Ok(Outcome::Agreed(calls)) => assert!(calls > 0, "nothing was called"),
        other => panic!("{other:?}"),
    }
}

/// Differential case 1161 of the smoke run (fuel): with fuel metering, the fuel check at a
/// loop header used the fuel variable before the header's parameters were read, so
/// cranelift-frontend's extra block parameter for it was taken as a wasm loop parameter
/// (`local.set` then panicked: "declared type of variable var1 doesn't match type of value").
#[test]
fn fuel_loop_with_an_integer_parameter() {
    check_differential(
        r#"(module
             (func (export "f") (param i32) (result i32)
               local.get 0
               loop (param i32) (result i32)
                 local.set 0
                 local.get 0
                 i32.const 1
                 i32.add
               end))"#,
        Some(1000),
    );
}

/// Differential case 1246 of the smoke run (fuel): the same fault made a float loop
/// parameter the i64 fuel value ("should be implemented in ISLE: fcvt_to_sint.i32" on it).
#[test]
fn fuel_loop_with_a_float_parameter() {
    check_differential(
        r#"(module
             (func (export "f") (result i32)
               f32.const 2.5
               loop (param f32) (result i32)
                 i32.trunc_f32_s
               end))"#,
        Some(1000),
    );
}
