//! Unused functions (issue 18): which defined functions anything can ever run, so that
//! the others are neither translated, compiled nor put in the object.
//!
//! kiln sees the whole module and nothing is loaded after it, so a function is reachable
//! only from what the module gives away or runs itself. The roots are every function
//! something outside the code can name or hold: the exports, the start function, every
//! function of an element segment (active, passive or declarative: a table may hold it,
//! `table.init` may copy it, `ref.func` may take it) and every `ref.func` anywhere (the
//! code of every function, reachable or not, global initializers, table initializers,
//! element expressions). A table, imported, exported or not, can only ever hold functions
//! of these: a function reference to one of the module's functions comes into being only
//! by `ref.func` or an element segment, or leaves the module only by an export. From the
//! roots, the static call graph (`call`, `return_call`) closes the set; inlining
//! (`inline.rs`) and devirtualization (`devirt.rs`) only turn such calls and table slots
//! into direct calls, so they never call outside it.
//!
//! An unreachable function keeps its index, its name, its type and its place in every
//! per-function table (metadata, profile counters, `may_throw`): only its code is absent.
//! Its code entry in the descriptor has no code (a null address and length 0, which the
//! runtime does not register), so its `VMFuncRef` has a null `wasm_call` that nothing can
//! call (`runtime/src/vm/instantiate.rs`).

use crate::error::Result;
use crate::module_info::ModuleInfo;
use kiln_abi::metadata::ExternKind;
use rayon::prelude::*;
use wasmparser::Operator;

/// The direct callees and the `ref.func` targets of one body, by function index.
#[derive(Default)]
struct Edges {
    calls: Vec<u32>,
    referenced: Vec<u32>,
}

/// By defined index, whether anything can run the function. With `keep_all` (the
/// analysis turned off), every function is reachable and no body is read.
pub fn analyse(info: &ModuleInfo<'_>, keep_all: bool, parallel: bool) -> Result<Vec<bool>> {
    let n_defined = info.bodies.len();
    if keep_all {
        return Ok(vec![true; n_defined]);
    }
    let n_imported = info.n_imported_funcs();
    let edges: Vec<Edges> = if parallel {
        info.bodies
            .par_iter()
            .map(scan_body)
            .collect::<Result<_>>()?
    } else {
        info.bodies.iter().map(scan_body).collect::<Result<_>>()?
    };
    let metadata = &info.metadata;
    let exported = metadata
        .exports
        .iter()
        .filter(|export| export.kind == ExternKind::Func)
        .map(|export| export.index);
    let in_code = edges
        .iter()
        .flat_map(|edges| edges.referenced.iter().copied());
    let roots = metadata
        .start
        .into_iter()
        .chain(exported)
        .chain(crate::throws::module_references(info))
        .chain(in_code);
    let mut reachable = vec![false; n_defined];
    let mut worklist = Vec::new();
    let visit = |func_index: u32, reachable: &mut [bool], worklist: &mut Vec<usize>| {
        // Imports have no code here; indices were validated.
        let Some(defined) = func_index.checked_sub(n_imported) else {
            return;
        };
        if let Some(slot) = reachable.get_mut(defined as usize) {
            if !*slot {
                *slot = true;
                worklist.push(defined as usize);
            }
        }
    };
    for root in roots {
        visit(root, &mut reachable, &mut worklist);
    }
    while let Some(defined) = worklist.pop() {
        for &callee in &edges[defined].calls {
            visit(callee, &mut reachable, &mut worklist);
        }
    }
    Ok(reachable)
}

/// The calls and references of one body.
fn scan_body(body: &wasmparser::FunctionBody<'_>) -> Result<Edges> {
    let mut edges = Edges::default();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        match reader.read()? {
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                edges.calls.push(function_index)
            }
            Operator::RefFunc { function_index } => edges.referenced.push(function_index),
            _ => {}
        }
    }
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::metadata::MemorySettings;

    /// Which defined functions of `wat` are reachable.
    fn check(wat: &str, expected: &[bool]) {
        let wasm = wat::parse_str(wat).unwrap();
        let info = crate::module_info::parse(&wasm, MemorySettings::DEFAULT).unwrap();
        assert_eq!(analyse(&info, false, false).unwrap(), expected, "{wat}");
        assert!(analyse(&info, true, false).unwrap().iter().all(|r| *r));
    }

    #[test]
    fn exports_and_the_start_function_reach_their_callees() {
        check(
            r#"(module
                 (import "env" "f" (func $import))
                 (func $start (call $from_start))
                 (func $from_start)
                 (func $exported (export "e") (call $import) (return_call $tail))
                 (func $tail (call $exported))
                 (func $unused (call $unused_callee))
                 (func $unused_callee)
                 (start $start))"#,
            &[true, true, true, true, false, false],
        );
    }

    #[test]
    fn every_function_a_table_or_reference_can_hold_is_a_root() {
        check(
            r#"(module
                 (type $v (func))
                 (table 4 funcref)
                 (table $init 1 funcref (ref.func $in_table_init))
                 (elem (i32.const 0) func $active)
                 (elem $passive func $passive)
                 (elem declare func $declared)
                 (elem (table 0) (i32.const 1) funcref (ref.func $element_expr))
                 (global funcref (ref.func $in_global))
                 (func $active)
                 (func $passive)
                 (func $declared)
                 (func $element_expr (call $callee))
                 (func $in_global)
                 (func $in_table_init)
                 (func $callee)
                 (func $unused (drop (ref.func $referenced_by_unused)))
                 (func $referenced_by_unused)
                 (elem declare func $referenced_by_unused))"#,
            &[true, true, true, true, true, true, true, false, true],
        );
    }

    #[test]
    fn a_module_without_roots_keeps_nothing() {
        check(
            r#"(module (func $a (call $b)) (func $b (call $a)))"#,
            &[false, false],
        );
    }
}
