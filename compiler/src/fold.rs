//! Identical functions (issue 20): defined functions with the same type and the same body
//! share one copy of machine code.
//!
//! Two bodies that are equal byte for byte (locals and instructions) under the same type
//! index compute the same thing: every index in them (functions, globals, tables, memories,
//! types, locals) names the same entity. Toolchains leave many of them: Rust's monomorphized
//! drop glue and formatting impls that lower to the same wasm, C's wrappers. The Rust
//! `files` test program repeats 29 of its 476 bodies, 2.9 KB of x86_64 code.
//!
//! The first reachable function of each group (in index order) is compiled; every other one
//! is folded into it: it is neither translated nor compiled, every call to it and every
//! code-table slot (`devirt.rs`) names the first one's code, its code entry in the
//! descriptor repeats the first one's offset and length with empty tables, and the object
//! gives it a symbol at the same address, for debuggers and profilers. The runtime
//! registers one range for the entries of a group, the first's (`vm/code.rs`), so a frame
//! in the shared code is reported as the first function's, at the first body's offsets:
//! the body is the same, only the name is one of the group's. A function with branch hints
//! is compiled on its own (they are by function index, outside the body); with a profile,
//! a folded function's entries count for the code that runs them (`merged_profile`).
//! `--keep-identical-functions`
//! compiles every function on its own, and so does `--profile-generate` (every function
//! counts its own entries).
//!
//! The comparison hashes every body once: linear in the size of the code section.

use crate::module_info::ModuleInfo;
use crate::profile::Profile;
use std::collections::HashMap;

/// By defined index, the defined function whose code the function shares, if it is folded
/// into an earlier one; `None` for every function compiled on its own and every function
/// left out (`reachable` false).
pub fn identical_functions(info: &ModuleInfo<'_>, reachable: &[bool]) -> Vec<Option<u32>> {
    let n_imported = info.n_imported_funcs() as usize;
    let mut first: HashMap<(u32, &[u8]), u32> = HashMap::new();
    let mut folded = vec![None; info.bodies.len()];
    for (defined, body) in info.bodies.iter().enumerate() {
        if !reachable[defined] {
            continue;
        }
        let index = n_imported + defined;
        // Branch hints (`metadata.code.branch_hint`) are by function index, outside the
        // body: a hinted function is compiled with its own hints.
        if info.branch_hints.contains_key(&(index as u32)) {
            continue;
        }
        let ty = info.metadata.functions[index];
        let defined = defined as u32;
        let canonical = *first.entry((ty, body.as_bytes())).or_insert(defined);
        if canonical != defined {
            folded[defined as usize] = Some(canonical);
        }
    }
    folded
}

/// `profile` with the entries of each `folded` function counted for the function it is
/// folded into, whose code runs them: placement and inlining see the group's entries.
pub fn merged_profile(profile: &Profile, folded: &[Option<u32>]) -> Profile {
    let mut counts = profile.counts().to_vec();
    for (defined, into) in folded.iter().enumerate() {
        if let (Some(into), Some(&count)) = (into, profile.counts().get(defined)) {
            if let Some(total) = counts.get_mut(*into as usize) {
                *total = total.saturating_add(count);
            }
        }
    }
    profile.with_counts(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::metadata::MemorySettings;

    fn folded(wat: &str, reachable: &[bool]) -> Vec<Option<u32>> {
        let wasm = wat::parse_str(wat).unwrap();
        let info = crate::module_info::parse(&wasm, MemorySettings::DEFAULT).unwrap();
        identical_functions(&info, reachable)
    }

    #[test]
    fn equal_bodies_of_one_type_fold_into_the_first_reachable() {
        let wat = r#"(module
            (import "env" "f" (func (param i32) (result i32)))
            (type $t (func (param i32) (result i32)))
            (func $a (type $t) (i32.add (local.get 0) (i32.const 1)))
            (func $b (type $t) (i32.add (local.get 0) (i32.const 1)))
            (func $c (type $t) (i32.add (local.get 0) (i32.const 2)))
            (func $d (type $t) (i32.add (local.get 0) (i32.const 1)))
            (func $e (type $t) (local i64) (i32.add (local.get 0) (i32.const 1))))"#;
        assert_eq!(
            folded(wat, &[true; 5]),
            [None, Some(0), None, Some(0), None],
            "a differing constant or an extra local is another body"
        );
        // With the first left out, the next reachable one is compiled.
        assert_eq!(
            folded(wat, &[false, true, true, true, true]),
            [None, None, None, Some(1), None]
        );
    }

    #[test]
    fn hinted_functions_are_compiled_with_their_own_hints() {
        // The same body; only the second has a branch hint (`@metadata.code.branch_hint`),
        // by function index, outside the body. Unhinted, the third folds into the first.
        let wat = r#"(module
            (func (param i32) (result i32)
              (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))
            (func (param i32) (result i32)
              (@metadata.code.branch_hint "\00")
              (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))
            (func (param i32) (result i32)
              (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2)))))"#;
        assert_eq!(folded(wat, &[true; 3]), [None, None, Some(0)]);
    }

    #[test]
    fn a_profile_counts_folded_entries_for_the_code_that_runs_them() {
        let profile = Profile::new([7; 32], vec![1, 2, 30, 400, 5000]);
        let merged = merged_profile(&profile, &[None, Some(0), None, Some(0), Some(2)]);
        assert_eq!(merged, Profile::new([7; 32], vec![403, 2, 5030, 400, 5000]));
    }

    #[test]
    fn equal_bodies_of_different_types_stay_apart() {
        // The same body, `unreachable`, under two signatures: code for one type is not
        // code for the other.
        let wat = r#"(module
            (func (param i32) unreachable)
            (func (param i64) unreachable)
            (func (param i32) unreachable))"#;
        assert_eq!(folded(wat, &[true; 3]), [None, None, Some(0)]);
    }
}
