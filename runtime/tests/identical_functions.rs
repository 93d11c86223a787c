//! Functions with the same type and body share one copy of code
//! (`CompileOptions::fold_identical_functions`, `compiler/src/fold.rs`) without changing
//! anything that runs but the name of a frame in the shared code: the module here, whose
//! `$div_b` and exported `$div_c` are `$div_a` again, is compiled with and without folding,
//! and every call (direct, through a table, through `ref.func`, a tail call, through the
//! exports; inlining on and off) must give the same results, spend the same fuel, and trap
//! with the same backtrace, except that a frame of a folded function is the first's.
//! Counting profiles (`profile_generate`) turns folding off: each function counts its own
//! entries.

mod common;

use common::{run_calls, Outcome};

const WAT: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (table $t 3 funcref)
  (elem (table $t) (i32.const 0) func $div_a $other $div_b)
  (func $div_a (type $ii) (i32.div_u (i32.const 100) (local.get 0)))
  (func $other (type $ii) (i32.div_u (i32.const 200) (local.get 0)))
  (func $div_b (type $ii) (i32.div_u (i32.const 100) (local.get 0)))
  (func (export "calls_b") (param i32) (result i32)
    (i32.add (call $div_b (local.get 0)) (i32.const 1)))
  (func (export "tail_b") (param i32) (result i32) (return_call $div_b (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 0) (local.get 1)))
  (func (export "b_by_ref") (param i32) (result i32)
    (call_ref $ii (local.get 0) (ref.func $div_b)))
  (func $div_c (export "div_c") (type $ii) (i32.div_u (i32.const 100) (local.get 0)))
  (elem declare func $div_b))"#;

/// Index of `$div_a` and `$div_b` in the module.
const DIV_A: u32 = 0;
const DIV_B: u32 = 2;

/// Every call of `calls` in one instance of the module compiled with `fold`, `inline`
/// and `profile`, each with the fuel it left (from 100,000 each); then the entry counts
/// when `profile`.
fn run(
    fold: bool,
    inline: bool,
    profile: bool,
    calls: &[(&str, Vec<i32>)],
) -> (Vec<(Outcome, u64)>, Option<Vec<u64>>) {
    let options = kiln_compiler::CompileOptions {
        fold_identical_functions: fold,
        inline,
        fuel: true,
        profile_generate: profile,
        ..kiln_compiler::CompileOptions::default()
    };
    run_calls(WAT, &options, calls)
}

fn calls() -> Vec<(&'static str, Vec<i32>)> {
    let mut calls = Vec::new();
    for arg in [4, 0] {
        calls.push(("calls_b", vec![arg]));
        calls.push(("tail_b", vec![arg]));
        calls.push(("b_by_ref", vec![arg]));
        calls.push(("div_c", vec![arg]));
        for index in [0, 1, 2, 3] {
            calls.push(("indirect", vec![arg, index]));
        }
    }
    calls
}

/// The innermost frame of a trap.
fn innermost(outcome: &Outcome) -> &(u32, Option<String>, Option<u32>) {
    match outcome {
        Outcome::Trapped(_, frames) => &frames[0],
        Outcome::Returned(results) => panic!("returned {results:?}, no trap"),
    }
}

#[test]
fn folding_identical_functions_changes_no_result_or_fuel_and_names_the_first_in_backtraces() {
    let calls = calls();
    let position = |name: &str, args: &[i32]| {
        calls
            .iter()
            .position(|(n, a)| *n == name && a == args)
            .unwrap()
    };
    for inline in [false, true] {
        let (kept, _) = run(false, inline, false, &calls);
        let (folded, _) = run(true, inline, false, &calls);
        // `indirect(0, 0)` traps in `$div_a` itself: its innermost frame, the same both
        // ways, is what every frame of a function folded into `$div_a` becomes.
        let div_a_frame = innermost(&kept[position("indirect", &[0, 0])].0).clone();
        assert_eq!(
            div_a_frame,
            *innermost(&folded[position("indirect", &[0, 0])].0)
        );
        assert_eq!(
            (div_a_frame.0, div_a_frame.1.as_deref()),
            (DIV_A, Some("div_a"))
        );
        for (((name, args), kept), folded) in calls.iter().zip(&kept).zip(&folded) {
            let context = format!("{name}{args:?}, inline {inline}");
            assert_eq!(kept.1, folded.1, "{context}: fuel");
            match (&kept.0, &folded.0) {
                (
                    Outcome::Trapped(kept_message, kept_frames),
                    Outcome::Trapped(message, frames),
                ) => {
                    assert_eq!(kept_message, message, "{context}");
                    assert_eq!(kept_frames.len(), frames.len(), "{context}");
                    for (kept_frame, frame) in kept_frames.iter().zip(frames) {
                        let expected = match kept_frame.1.as_deref() {
                            Some("div_b" | "div_c") => &div_a_frame,
                            _ => kept_frame,
                        };
                        assert_eq!(frame, expected, "{context}: {frames:?}");
                    }
                }
                (kept, folded) => assert_eq!(kept, folded, "{context}"),
            }
        }
        // The calls did what the module says, so the comparison compared something.
        let outcome = |name: &str, args: &[i32]| &kept[position(name, args)].0;
        assert_eq!(outcome("calls_b", &[4]), &Outcome::Returned(vec![26]));
        assert_eq!(outcome("div_c", &[4]), &Outcome::Returned(vec![25]));
        assert_eq!(outcome("indirect", &[4, 1]), &Outcome::Returned(vec![50]));
        let Outcome::Trapped(message, _) = outcome("indirect", &[4, 3]) else {
            panic!("indirect(4, 3) traps: {:?}", outcome("indirect", &[4, 3]));
        };
        assert_eq!(message, "undefined element");
        // Without inlining `calls_b(0)` traps in `$div_b`'s own frame, which folding
        // names `$div_a`; a folded function was really taken for the first.
        let trapped_in = innermost(&kept[position("calls_b", &[0])].0);
        if !inline {
            assert_eq!(trapped_in.1.as_deref(), Some("div_b"));
            assert_eq!(trapped_in.0, DIV_B);
        }
        let folded_in = innermost(&folded[position("calls_b", &[0])].0);
        if !inline {
            assert_eq!(folded_in, &div_a_frame);
        }
    }
}

#[test]
fn counting_profiles_compile_every_function_on_its_own() {
    let calls = [
        ("calls_b", vec![4]),
        ("calls_b", vec![5]),
        ("div_c", vec![4]),
    ];
    let (outcomes, counts) = run(true, false, true, &calls);
    assert_eq!(outcomes[0].0, Outcome::Returned(vec![26]));
    let counts = counts.unwrap();
    // `$div_a` never ran; `$div_b` ran twice, `$div_c` (index 7) once.
    assert_eq!((counts[0], counts[2], counts[7]), (0, 2, 1), "{counts:?}");
}
