//! Functions nothing can run are left out of the object (`CompileOptions::
//! drop_unused_functions`, `compiler/src/reachability.rs`) without changing anything that
//! runs: the module here, whose unused functions sit between the used ones (so that
//! indices, names and tables all have gaps), is compiled with and without them, and every
//! call must give the same results, or the same trap with the same backtrace (function
//! index, name and wasm offset of every frame), spend the same fuel and count the same
//! profile (one counter per defined function, used or not). Calls go through exports,
//! tables (active and passive segments, `table.init`), `ref.func` and tail calls, with
//! inlining on and off.

mod common;

use common::{run_calls, Outcome};

const WAT: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (table $t 4 funcref)
  (table $passive_target 2 funcref)
  (elem (table $t) (i32.const 0) func $inc $div)
  (elem $passive func $triple)
  (func $unused_first (type $ii) (call $unused_second (local.get 0)))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $unused_second (type $ii) (i32.div_u (i32.const 1) (local.get 0)))
  (func $div (type $ii) (i32.div_u (i32.const 100) (local.get 0)))
  (func $triple (type $ii) (i32.mul (local.get 0) (i32.const 3)))
  (func $unused_calls_used (type $ii) (call $inc (local.get 0)))
  (func $by_ref (type $ii) (call $div (local.get 0)))
  (func $helper (type $ii) (call $div (call $inc (local.get 0))))
  (func (export "direct") (param i32) (result i32) (call $helper (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "tail") (param i32) (result i32) (return_call $helper (local.get 0)))
  (func (export "by_ref") (param i32) (result i32)
    (call_ref $ii (local.get 0) (ref.func $by_ref)))
  (func (export "passive") (param i32) (result i32)
    (table.init $passive_target $passive (i32.const 0) (i32.const 0) (i32.const 1))
    (call_indirect $passive_target (type $ii) (local.get 0) (i32.const 0)))
  (elem declare func $by_ref))"#;

/// Every call of `calls` in one instance of the module compiled with `drop_unused` and
/// `inline`, each with the fuel it left (from 100,000 each); then the entry counts.
fn run(
    drop_unused: bool,
    inline: bool,
    calls: &[(&str, Vec<i32>)],
) -> (Vec<(Outcome, u64)>, Vec<u64>) {
    let options = kiln_compiler::CompileOptions {
        drop_unused_functions: drop_unused,
        inline,
        fuel: true,
        profile_generate: true,
        ..kiln_compiler::CompileOptions::default()
    };
    let (outcomes, counts) = run_calls(WAT, &options, calls);
    (outcomes, counts.expect("the code counts"))
}

#[test]
fn leaving_unused_functions_out_changes_no_result_trap_backtrace_fuel_or_profile() {
    let mut calls = Vec::new();
    for arg in [4, 0, u32::MAX as i32] {
        calls.push(("direct", vec![arg]));
        calls.push(("tail", vec![arg]));
        calls.push(("by_ref", vec![arg]));
        calls.push(("passive", vec![arg]));
        for index in [0, 1, 2, 4] {
            calls.push(("indirect", vec![arg, index]));
        }
    }
    for inline in [false, true] {
        let (kept, kept_counts) = run(false, inline, &calls);
        let (dropped, dropped_counts) = run(true, inline, &calls);
        for (((name, args), kept), dropped) in calls.iter().zip(&kept).zip(&dropped) {
            assert_eq!(
                kept, dropped,
                "{name}{args:?}, inline {inline}: kept, then left out"
            );
        }
        assert_eq!(kept_counts, dropped_counts, "inline {inline}");
        // One counter per defined function; the unused ones (0, 2, 5) never counted.
        assert_eq!(dropped_counts.len(), 13);
        for unused in [0, 2, 5] {
            assert_eq!(dropped_counts[unused], 0);
        }
        // The calls did what the module says, so the comparison compared something.
        assert_eq!(kept[0].0, Outcome::Returned(vec![20]), "direct(4)");
        assert_eq!(kept[2].0, Outcome::Returned(vec![25]), "by_ref(4)");
        assert_eq!(kept[3].0, Outcome::Returned(vec![12]), "passive(4)");
        let Outcome::Trapped(message, frames) = &kept[10].0 else {
            panic!("by_ref(0) traps: {:?}", kept[10]);
        };
        assert_eq!(message, "integer divide by zero");
        // Without inlining, `$div` (index 3, after the unused `$unused_second`) has a
        // frame of its own; inlined, it is reported in `$by_ref`'s.
        let innermost = if inline { (6, "by_ref") } else { (3, "div") };
        assert_eq!(
            (frames[0].0, frames[0].1.as_deref()),
            (innermost.0, Some(innermost.1)),
            "{frames:?}"
        );
    }
}
