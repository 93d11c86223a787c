//! Which calls may throw (issue 16): a whole-module analysis, so that a call a handler
//! covers is a Cranelift `try_call` only when its callee may throw. A `try_call` in the
//! `tail` convention preserves no register across its exception edge (values live across
//! it are spilled, the callee-saved registers saved in the prologue); a call to a function
//! that can never throw needs none of that and is a plain `call`
//! (`compiler/tests/golden/try_table_nothrow_callee.wat`).
//!
//! A defined function may throw when it contains a `throw`, `throw_ref` or `rethrow`, or a
//! call (direct, `call_indirect`, `call_ref`, and their tail-call forms) to something that
//! may throw, unless a `try_table` with a `catch_all` or `catch_all_ref` clause covers it
//! (in a function without `delegate`, which could send exceptions past such a scope; a
//! tail call is never covered: the caller's handlers are gone). Everything else that
//! stops a function (traps, builtins, running out of fuel) is a trap, not a throw. Legacy
//! `catch_all` clauses are not trusted to absorb: they may `rethrow`, and a scan in one
//! pass does not know yet which clauses a `try` will have.
//!
//! Imports: a host function never throws into wasm (an exception never crosses a host
//! frame in kiln), but an import can be bound to another instance's function that throws.
//! The imports of WASI (preview 1's [`WASI_MODULE_NAMES`] and the `wasi:` interfaces) are
//! assumed not to throw, unless the module is compiled without
//! `CompileOptions::nothrow_wasi_imports` (the core modules of components, where those
//! names are bound to the preview 1 adapter and to shims that call lowered imports through
//! a table, which the analysis cannot prove never to throw); every other import may
//! throw. The module's
//! metadata records the assumption ([`ModuleMetadata::may_throw`]: for each import, whether
//! the code lets it throw; for each defined function, whether it may throw), and the
//! runtime refuses to bind an import assumed not to throw to a wasm function that may
//! (`runtime/src/vm/instantiate.rs`), so a wrong assumption cannot run silently.
//!
//! Indirect calls (`call_indirect`, `call_ref`) may throw unless the module is closed (no
//! table imported or exported, and no import or export whose type holds a reference, so
//! that every function reference in it is a `ref.func` of its own) and no function of a
//! matching type that the module takes a reference to may throw. Types match by
//! structure; when a type declares a supertype or refers to another type, every type
//! matches every other.
//!
//! The fixed point is a worklist over reverse edges (callee to callers, a function to the
//! indirect calls its type may reach): each function and each type class enters it at most
//! once, so the work is linear in the number of calls.
//!
//! [`WASI_MODULE_NAMES`]: kiln_abi::WASI_MODULE_NAMES
//! [`ModuleMetadata::may_throw`]: kiln_abi::metadata::ModuleMetadata::may_throw

use crate::error::Result;
use crate::module_info::ModuleInfo;
use kiln_abi::metadata::{
    ConstExpr, ConstOp, ElementItems, ExternKind, FuncType, HeapType, ImportType, ValType,
};
use rayon::prelude::*;
use std::collections::HashMap;
use wasmparser::{Catch, Operator};

/// What the analysis found: which functions, and which indirect calls, may throw.
#[derive(Clone, Debug, Default)]
pub struct MayThrow {
    /// By function index, imports first: whether a call to it may throw (for an import,
    /// whether the code lets it throw).
    pub functions: Vec<bool>,
    /// By type index: whether a `call_indirect` or `call_ref` of that type may throw.
    pub indirect: Vec<bool>,
}

impl MayThrow {
    /// Everything may throw: what code compiled without the analysis assumes.
    pub fn everything(info: &ModuleInfo<'_>) -> MayThrow {
        MayThrow {
            functions: vec![true; info.metadata.functions.len()],
            indirect: vec![true; info.metadata.types.len()],
        }
    }

    /// Whether a direct call to function `func_index` (an import or a defined one) may
    /// throw.
    pub fn function(&self, func_index: u32) -> bool {
        self.functions
            .get(func_index as usize)
            .copied()
            .unwrap_or(true)
    }

    /// Whether a `call_indirect` or `call_ref` of type `type_index` may throw.
    pub fn indirect(&self, type_index: u32) -> bool {
        self.indirect
            .get(type_index as usize)
            .copied()
            .unwrap_or(true)
    }
}

/// Whether code may assume that the function imports of module `module` never throw:
/// WASI's are host functions (a wasm function that may throw, bound to one of them, is
/// refused at instantiation).
pub fn import_assumed_not_to_throw(module: &str) -> bool {
    kiln_abi::WASI_MODULE_NAMES.contains(&module) || module.starts_with("wasi:")
}

/// What one function's body does that matters here.
#[derive(Default)]
struct Summary {
    /// It throws (`throw`, `throw_ref`, `rethrow`) where no handler of its own takes
    /// everything.
    throws: bool,
    /// The functions it calls directly, where no handler of its own takes everything.
    calls: Vec<u32>,
    /// The types of its indirect calls, likewise.
    indirect_calls: Vec<u32>,
    /// Functions its code takes a reference to (`ref.func`).
    referenced: Vec<u32>,
}

/// Analyses the whole module; the imports of WASI's module names never throw when
/// `nothrow_wasi_imports` (`CompileOptions::nothrow_wasi_imports`).
pub fn analyse(info: &ModuleInfo<'_>, nothrow_wasi_imports: bool) -> Result<MayThrow> {
    let metadata = &info.metadata;
    let n_imported = info.n_imported_funcs() as usize;
    let n_functions = metadata.functions.len();
    let summaries = info
        .bodies
        .par_iter()
        .map(scan_body)
        .collect::<Result<Vec<Summary>>>()?;

    // Type classes: an indirect call of one type may reach functions of its class.
    let classes = TypeClasses::new(info);
    let closed = is_closed(info);
    let mut referenced = vec![false; n_functions];
    for index in
        module_references(info).chain(summaries.iter().flat_map(|s| s.referenced.iter().copied()))
    {
        if let Some(slot) = referenced.get_mut(index as usize) {
            *slot = true;
        }
    }

    // Nodes: functions (by index), then type classes.
    let class_node = |class: usize| n_functions + class;
    let n_nodes = n_functions + classes.count;
    let mut may_throw = vec![false; n_nodes];
    let mut worklist = Vec::new();
    // Reverse edges, as (to, from) pairs sorted by `to`: who may throw when `to` does.
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let function_imports = metadata
        .imports
        .iter()
        .filter(|import| matches!(import.ty, ImportType::Func(_)));
    for (func_index, import) in function_imports.enumerate() {
        if !(nothrow_wasi_imports && import_assumed_not_to_throw(import.module)) {
            mark(func_index, &mut may_throw, &mut worklist);
        }
    }
    if !closed {
        for class in 0..classes.count {
            mark(class_node(class), &mut may_throw, &mut worklist);
        }
    }
    for (func_index, &is_referenced) in referenced.iter().enumerate() {
        if is_referenced {
            let class = classes.of_type(metadata.functions[func_index]);
            edges.push((func_index as u32, class_node(class) as u32));
        }
    }
    for (defined, summary) in summaries.iter().enumerate() {
        let caller = (n_imported + defined) as u32;
        if summary.throws {
            mark(caller as usize, &mut may_throw, &mut worklist);
        }
        for &callee in &summary.calls {
            edges.push((callee, caller));
        }
        for &ty in &summary.indirect_calls {
            edges.push((class_node(classes.of_type(ty)) as u32, caller));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    while let Some(node) = worklist.pop() {
        let start = edges.partition_point(|&(to, _)| (to as usize) < node);
        let end = edges.partition_point(|&(to, _)| (to as usize) <= node);
        for &(_, from) in &edges[start..end] {
            mark(from as usize, &mut may_throw, &mut worklist);
        }
    }
    let indirect = (0..metadata.types.len() as u32)
        .map(|ty| may_throw[class_node(classes.of_type(ty))])
        .collect();
    may_throw.truncate(n_functions);
    Ok(MayThrow {
        functions: may_throw,
        indirect,
    })
}

/// Marks `node` as one that may throw, and queues it for its callers, if it was not yet.
fn mark(node: usize, may_throw: &mut [bool], worklist: &mut Vec<usize>) {
    if !may_throw[node] {
        may_throw[node] = true;
        worklist.push(node);
    }
}

/// Scans one body: its throws and calls outside handlers that take everything.
fn scan_body(body: &wasmparser::FunctionBody<'_>) -> Result<Summary> {
    let mut summary = Summary::default();
    // Calls and throws a `catch_all` covers, kept apart until the end: a `delegate` in the
    // function makes them count after all.
    let mut covered = Summary::default();
    let mut has_delegate = false;
    // Per open block: whether it is the body of a `try_table` that catches everything.
    let mut frames: Vec<bool> = vec![false];
    let mut n_catching_all = 0usize;
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let op = reader.read()?;
        let target = if n_catching_all > 0 {
            &mut covered
        } else {
            &mut summary
        };
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. } => frames.push(false),
            Operator::TryTable { try_table } => {
                let catches_all = try_table
                    .catches
                    .iter()
                    .any(|catch| matches!(catch, Catch::All { .. } | Catch::AllRef { .. }));
                n_catching_all += usize::from(catches_all);
                frames.push(catches_all);
            }
            Operator::End | Operator::Delegate { .. } => {
                has_delegate |= matches!(op, Operator::Delegate { .. });
                if frames.pop() == Some(true) {
                    n_catching_all -= 1;
                }
            }
            Operator::Throw { .. } | Operator::ThrowRef | Operator::Rethrow { .. } => {
                target.throws = true
            }
            Operator::Call { function_index } => target.calls.push(function_index),
            Operator::CallIndirect { type_index, .. } | Operator::CallRef { type_index } => {
                target.indirect_calls.push(type_index)
            }
            // A tail call leaves the function's handlers behind.
            Operator::ReturnCall { function_index } => summary.calls.push(function_index),
            Operator::ReturnCallIndirect { type_index, .. }
            | Operator::ReturnCallRef { type_index } => summary.indirect_calls.push(type_index),
            Operator::RefFunc { function_index } => summary.referenced.push(function_index),
            _ => {}
        }
    }
    if has_delegate {
        summary.throws |= covered.throws;
        summary.calls.append(&mut covered.calls);
        summary.indirect_calls.append(&mut covered.indirect_calls);
    }
    Ok(summary)
}

/// The functions the module's constant expressions and element segments refer to.
pub(crate) fn module_references<'m>(info: &'m ModuleInfo<'_>) -> impl Iterator<Item = u32> + 'm {
    let metadata = &info.metadata;
    let in_expr = |expr: &'m ConstExpr| {
        expr.iter().filter_map(|op| match op {
            ConstOp::RefFunc(index) => Some(*index),
            _ => None,
        })
    };
    let elements = metadata.elements.iter().flat_map(move |segment| {
        let items: Box<dyn Iterator<Item = u32> + 'm> = match &segment.items {
            ElementItems::Functions(indices) => Box::new(indices.iter().copied()),
            ElementItems::Expressions(exprs) => Box::new(exprs.iter().flat_map(in_expr)),
        };
        items
    });
    let globals = metadata
        .globals
        .iter()
        .flat_map(move |global| in_expr(&global.init));
    let tables = metadata.table_inits.iter().flatten().flat_map(in_expr);
    elements.chain(globals).chain(tables)
}

/// Whether every function reference the module can hold is a `ref.func` of its own: no
/// table is imported or exported, and no import or export has a type that holds a
/// reference (a function's parameters or results, a global, a tag's payload).
fn is_closed(info: &ModuleInfo<'_>) -> bool {
    let metadata = &info.metadata;
    let holds_reference = |ty: &FuncType| {
        ty.params
            .iter()
            .chain(&ty.results)
            .any(|value| matches!(value, ValType::Ref(_)))
    };
    let imports_closed = metadata.imports.iter().all(|import| match import.ty {
        ImportType::Func(ty) | ImportType::Tag(ty) => {
            !holds_reference(&metadata.types[ty as usize])
        }
        ImportType::Table(_) => false,
        ImportType::Memory(_) => true,
        ImportType::Global(global) => !matches!(global.ty, ValType::Ref(_)),
    });
    let exports_closed = metadata.exports.iter().all(|export| {
        let index = export.index as usize;
        match export.kind {
            ExternKind::Func => {
                !holds_reference(&metadata.types[metadata.functions[index] as usize])
            }
            ExternKind::Tag => !holds_reference(&metadata.types[metadata.tags[index] as usize]),
            ExternKind::Table => false,
            ExternKind::Memory => true,
            ExternKind::Global => !matches!(metadata.global_types[index].ty, ValType::Ref(_)),
        }
    });
    imports_closed && exports_closed
}

/// Function types grouped so that an indirect call of one type reaches only functions of
/// its group: by structure, or all in one group when a type declares a supertype or
/// refers to another type (then structure alone does not decide what matches).
struct TypeClasses {
    by_type: Vec<usize>,
    count: usize,
}

impl TypeClasses {
    fn new(info: &ModuleInfo<'_>) -> TypeClasses {
        let metadata = &info.metadata;
        let refers_to_types = metadata.types.iter().any(|ty| {
            ty.params.iter().chain(&ty.results).any(|value| {
                matches!(
                    value,
                    ValType::Ref(reference) if matches!(reference.heap, HeapType::Concrete(_))
                )
            })
        });
        let subtyping = metadata
            .subtyping
            .iter()
            .any(|subtyping| subtyping.supertype.is_some());
        if refers_to_types || subtyping {
            return TypeClasses {
                by_type: vec![0; metadata.types.len()],
                count: 1,
            };
        }
        let mut classes: HashMap<&FuncType, usize> = HashMap::new();
        let by_type = metadata
            .types
            .iter()
            .map(|ty| {
                let next = classes.len();
                *classes.entry(ty).or_insert(next)
            })
            .collect();
        TypeClasses {
            by_type,
            count: classes.len(),
        }
    }

    fn of_type(&self, type_index: u32) -> usize {
        self.by_type[type_index as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::metadata::MemorySettings;

    /// Which functions of `wat` may throw (imports first), and which types' indirect
    /// calls, with WASI's imports assumed not to throw when `nothrow_wasi_imports`.
    fn analysed(wat: &str, nothrow_wasi_imports: bool) -> (Vec<bool>, Vec<bool>) {
        let wasm = wat::parse_str(wat).unwrap();
        let info = crate::module_info::parse(&wasm, MemorySettings::DEFAULT).unwrap();
        let may_throw = analyse(&info, nothrow_wasi_imports).unwrap();
        (may_throw.functions, may_throw.indirect)
    }

    fn check(wat: &str, functions: &[bool]) {
        assert_eq!(analysed(wat, true).0, functions, "{wat}");
    }

    #[test]
    fn throws_reach_callers_unless_a_catch_all_takes_them() {
        check(
            r#"(module
                 (tag $e)
                 (func $throws (throw $e))
                 (func $calls (call $throws))
                 (func $calls_calls (call $calls))
                 (func $quiet (nop))
                 (func $absorbs (block $h (try_table (catch_all $h) (call $calls))))
                 (func $absorbs_ref (block $h (result exnref)
                   (try_table (catch_all_ref $h) (call $calls)) (return)) (drop))
                 (func $rethrows (block $h (result exnref)
                   (try_table (catch_all_ref $h) (call $calls)) (return)) (throw_ref))
                 (func $only_tag (block $h (try_table (catch $e $h) (call $calls)))))"#,
            &[true, true, true, false, false, false, true, true],
        );
    }

    #[test]
    fn a_delegate_or_a_tail_call_leaves_a_catch_all() {
        check(
            r#"(module
                 (tag $e)
                 (func $throws (throw $e))
                 (func $delegates (block $h (try_table (catch_all $h)
                   try (call $throws) delegate 2)))
                 (func $tail (block $h (try_table (catch_all $h) (return_call $throws)))))"#,
            &[true, true, true],
        );
    }

    #[test]
    fn recursion_reaches_a_fixed_point() {
        check(
            r#"(module
                 (tag $e)
                 (func $a (param i32) (if (local.get 0) (then (call $b (local.get 0)))))
                 (func $b (param i32) (call $a (local.get 0)) (call $c))
                 (func $c (throw $e))
                 (func $d (param i32) (if (local.get 0) (then (call $e (local.get 0)))))
                 (func $e (param i32) (call $d (local.get 0))))"#,
            &[true, true, true, false, false],
        );
    }

    #[test]
    fn imports_may_throw_unless_wasi_ones_are_assumed_not_to() {
        let wat = r#"(module
                 (import "wasi_snapshot_preview1" "fd_write" (func $fd_write))
                 (import "wasi:cli/stdout@0.2.0" "get-stdout" (func $stdout))
                 (import "env" "callback" (func $callback))
                 (func (call $fd_write) (call $stdout))
                 (func (call $callback)))"#;
        assert_eq!(analysed(wat, true).0, [false, false, true, false, true]);
        assert_eq!(analysed(wat, false).0, [true, true, true, true, true]);
    }

    #[test]
    fn indirect_calls_throw_only_what_a_closed_module_can_reach() {
        // Of type `(i32) -> ()` only `$throws` is referenced; `$unreferenced` of type
        // `() -> ()` throws but is in no table.
        let closed = r#"(module
                 (type $v (func))
                 (tag $e (type $v))
                 (type $i (func (param i32)))
                 (table 2 funcref)
                 (elem (i32.const 0) func $quiet $throws)
                 (func $quiet (type $v))
                 (func $throws (type $i) (throw $e))
                 (func $unreferenced (type $v) (throw $e))
                 (func $calls_v (call_indirect (type $v) (i32.const 0)))
                 (func $calls_i (call_indirect (type $i) (i32.const 0) (i32.const 1))))"#;
        let (functions, indirect) = analysed(closed, true);
        assert_eq!(functions, [false, true, true, false, true]);
        assert_eq!(indirect, [false, true]);
        // Exporting the table opens the module: any function could be put there.
        let open = closed.replace("(table 2 funcref)", r#"(table (export "t") 2 funcref)"#);
        let (functions, indirect) = analysed(&open, true);
        assert_eq!(functions, [false, true, true, true, true]);
        assert_eq!(indirect, [true, true]);
        // So does an import whose type holds a reference.
        let open = closed.replace(
            "(tag $e (type $v))",
            r#"(import "env" "get" (func (result funcref))) (tag $e (type $v))"#,
        );
        let (_, indirect) = analysed(&open, true);
        assert!(indirect.iter().all(|may_throw| *may_throw), "{indirect:?}");
    }
}
