//! Devirtualized `call_indirect` (issue 18): a whole-module analysis of which tables keep
//! the contents their element segments give them for the instance's whole life, and what
//! each of their slots holds, so that the translator can drop the work those fixed
//! contents make unnecessary (`translate/devirt.rs`).
//!
//! A table is *fixed* when nothing but instantiation can write it: it is defined by the
//! module (not imported), not exported, no function body names it in `table.set`,
//! `table.grow`, `table.fill`, `table.init` or as the destination of `table.copy`, its
//! initial value is a constant (`ref.null` or `ref.func`), and every active element
//! segment that writes it has a constant offset. Its length is then its declared minimum
//! for good, and each slot holds what the last segment applied to it wrote.
//!
//! Segments are applied in order and instantiation stops at the first one out of bounds,
//! leaving the earlier ones applied; an instance whose instantiation failed can still be
//! called through a function an earlier segment put into an imported table (the spec's
//! `linking.wast` does). So once a segment may fail (its offset is not a constant, or it
//! does not fit the table's declared minimum), the slots later segments write are
//! [`Slot::Unknown`]: the translator then takes the checked path for them.
//!
//! Types are compared by *class*: the lowest type index with the same canonical type id
//! the runtime will intern (`runtime/src/vm/module.rs`). Only types whose identity is
//! plain are merged (final, no supertype, no reference to another type), so two indices
//! share a class only when the runtime gives them one id; any other type is its own
//! class, which at worst sends a call that would have passed to the checked path.
//!
//! For a fixed table that some `call_indirect` uses, the compiler emits a *code table* in
//! read-only data ([`CodeTableLayout`]): per slot, the address of the defined function in
//! the slot and its type's class, or a null address and [`NO_CLASS`] for a null slot, an
//! imported function (whose `vmctx` is not this instance's) and an unknown slot. The table
//! is compiler-private: the runtime never reads it.

use crate::error::Result;
use crate::module_info::ModuleInfo;
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module};
use cranelift_object::ObjectModule;
use kiln_abi::metadata::{
    ConstOp, ElementItems, ElementMode, ExternKind, FuncType, HeapType, RefType, Subtyping, ValType,
};
use rayon::prelude::*;
use std::collections::HashMap;
use wasmparser::Operator;

/// Fixed tables longer than this get no code table (12 bytes per slot in the object) and
/// are called through the checked path.
pub const MAX_FIXED_SLOTS: u64 = 1 << 16;

/// The class of a slot whose call must take the checked path; no type has it.
pub const NO_CLASS: u32 = u32::MAX;

/// The layout of a code table of `n` slots: two arrays, so that each is indexed by a scaled
/// index register (x86_64 `(base, index, 8)`, aarch64 `lsl #3`) rather than a shift:
///
/// ```text
///  0            8 * n               12 * n
///  ┌────────────┬───────────────────┐
///  │ code[n]    │ class[n]          │   code: 8-byte addresses, relocated (null for
///  └────────────┴───────────────────┘   NO_CLASS); class: little-endian u32s
/// ```
pub struct CodeTableLayout;

impl CodeTableLayout {
    /// `log2` of a code address's size.
    pub const CODE_SIZE_LOG2: i64 = 3;
    /// `log2` of a class's size.
    pub const CLASS_SIZE_LOG2: i64 = 2;

    /// Offset of slot `slot`'s code address.
    pub fn code_offset(slot: usize) -> usize {
        slot << Self::CODE_SIZE_LOG2
    }

    /// Offset of the classes in a table of `n_slots` (at most 8 × [`MAX_FIXED_SLOTS`]).
    pub fn classes_offset(n_slots: usize) -> usize {
        n_slots << Self::CODE_SIZE_LOG2
    }

    /// Offset of slot `slot`'s class in a table of `n_slots`.
    pub fn class_offset(n_slots: usize, slot: usize) -> usize {
        Self::classes_offset(n_slots) + (slot << Self::CLASS_SIZE_LOG2)
    }

    /// Size of a table of `n_slots`.
    pub fn size(n_slots: usize) -> usize {
        Self::class_offset(n_slots, n_slots)
    }
}

/// What a slot of a fixed table holds once the instance exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A null reference: `call_indirect` traps with `uninitialized element`.
    Null,
    /// Function `index` (imported or defined).
    Func(u32),
    /// Not known at compile time (an initial value or element that reads a global, or a
    /// slot written after a segment that may have failed).
    Unknown,
}

/// A table whose contents are fixed after instantiation.
#[derive(Clone, Debug)]
pub struct FixedTable {
    /// Every slot, as many as the table's length (its declared minimum).
    pub slots: Vec<Slot>,
    /// The code table in read-only data, when some `call_indirect` uses the table and a
    /// slot holds a defined function (see [`Devirt::declare_code_tables`]).
    pub code_table: Option<DataId>,
    /// By class: the one defined function that every slot of the class holding a defined
    /// function holds (see [`Devirt::sole_target`]); no entry when there are several.
    sole_targets: HashMap<u32, SoleTarget>,
}

/// The one defined function of a class in a fixed table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoleTarget {
    /// The function.
    pub func: u32,
    /// The slot that holds it, when it is the only one.
    pub slot: Option<u64>,
}

/// The analysis' result for a whole module; empty (nothing fixed) by default.
#[derive(Clone, Debug, Default)]
pub struct Devirt {
    /// By table index: `Some` for a fixed table.
    tables: Vec<Option<FixedTable>>,
    /// Class of each type index.
    classes: Vec<u32>,
    /// Type index of each function, imports included.
    function_types: Vec<u32>,
    /// Number of imported functions.
    n_imported_funcs: u32,
    /// Which tables some `call_indirect` or `return_call_indirect` uses.
    called: Vec<bool>,
}

/// What the function bodies do with tables.
#[derive(Clone, Default)]
struct TableUses {
    /// Written by an instruction.
    written: Vec<bool>,
    /// Used by `call_indirect` or `return_call_indirect`.
    called: Vec<bool>,
}

impl TableUses {
    fn new(n_tables: usize) -> Self {
        TableUses {
            written: vec![false; n_tables],
            called: vec![false; n_tables],
        }
    }

    fn merge(mut self, other: TableUses) -> TableUses {
        for (mine, theirs) in self.written.iter_mut().zip(other.written) {
            *mine |= theirs;
        }
        for (mine, theirs) in self.called.iter_mut().zip(other.called) {
            *mine |= theirs;
        }
        self
    }
}

impl Devirt {
    /// Analyses `info` (already validated): which tables are fixed, and what their slots
    /// hold. Scans every function body once, on all cores when `parallel`.
    pub fn analyze(info: &ModuleInfo<'_>, parallel: bool) -> Result<Devirt> {
        let metadata = &info.metadata;
        let n_tables = metadata.tables.len();
        let uses = scan_bodies(info, n_tables, parallel)?;
        let n_imported_tables = metadata.imported_count(ExternKind::Table) as usize;
        let exported: Vec<bool> = (0..n_tables)
            .map(|table| {
                metadata
                    .exports
                    .iter()
                    .any(|e| e.kind == ExternKind::Table && e.index as usize == table)
            })
            .collect();
        let mut tables: Vec<Option<FixedTable>> = (0..n_tables)
            .map(|table| {
                let ty = &metadata.tables[table];
                let candidate = table >= n_imported_tables
                    && !exported[table]
                    && !uses.written[table]
                    && is_func_ref(ty.element)
                    && ty.min <= MAX_FIXED_SLOTS;
                if !candidate {
                    return None;
                }
                let initial = match metadata.table_inits.get(table - n_imported_tables) {
                    None | Some(None) => Slot::Null,
                    Some(Some(expr)) => slot_of_expr(expr),
                };
                if initial == Slot::Unknown {
                    return None;
                }
                Some(FixedTable {
                    slots: vec![initial; ty.min as usize],
                    code_table: None,
                    sole_targets: HashMap::new(),
                })
            })
            .collect();
        apply_element_segments(info, &mut tables);
        let classes = type_classes(&metadata.types, &metadata.subtyping);
        let mut devirt = Devirt {
            tables,
            classes,
            function_types: metadata.functions.clone(),
            n_imported_funcs: info.n_imported_funcs(),
            called: uses.called,
        };
        devirt.find_sole_targets();
        Ok(devirt)
    }

    /// Fills each fixed table's `sole_targets`.
    fn find_sole_targets(&mut self) {
        let mut tables = std::mem::take(&mut self.tables);
        for fixed in tables.iter_mut().flatten() {
            // By class: the function and its slot, `None` once a second function is met.
            let mut found: HashMap<u32, Option<SoleTarget>> = HashMap::new();
            for (index, slot) in fixed.slots.iter().enumerate() {
                let Slot::Func(func) = *slot else { continue };
                if func < self.n_imported_funcs {
                    continue;
                }
                let index = index as u64;
                found
                    .entry(self.func_class(func))
                    .and_modify(|target| {
                        *target = match *target {
                            Some(target) if target.func == func => {
                                Some(SoleTarget { func, slot: None })
                            }
                            _ => None,
                        }
                    })
                    .or_insert(Some(SoleTarget {
                        func,
                        slot: Some(index),
                    }));
            }
            fixed.sole_targets = found
                .into_iter()
                .filter_map(|(class, target)| Some((class, target?)))
                .collect();
        }
        self.tables = tables;
    }

    /// Emits the code table of every fixed table that some `call_indirect` uses and that
    /// holds a defined function, as local read-only data named [`code_table_symbol`].
    pub fn declare_code_tables(
        &mut self,
        module: &mut ObjectModule,
        func_ids: &[Option<FuncId>],
        prefix: &str,
    ) -> Result<()> {
        for table in 0..self.tables.len() {
            if !self.called[table] {
                continue;
            }
            let Some(fixed) = &self.tables[table] else {
                continue;
            };
            let n_slots = fixed.slots.len();
            let mut bytes = vec![0u8; CodeTableLayout::size(n_slots)];
            let mut functions = Vec::new();
            for (i, slot) in fixed.slots.iter().enumerate() {
                let class = match *slot {
                    // A function in a table is always compiled (`reachability.rs`);
                    // were it not, its slot would take the checked call.
                    Slot::Func(func) if func >= self.n_imported_funcs => {
                        let defined = (func - self.n_imported_funcs) as usize;
                        match func_ids[defined] {
                            Some(func_id) => {
                                functions.push((CodeTableLayout::code_offset(i), func_id));
                                self.func_class(func)
                            }
                            None => NO_CLASS,
                        }
                    }
                    _ => NO_CLASS,
                };
                let class_at = CodeTableLayout::class_offset(n_slots, i);
                bytes[class_at..class_at + 4].copy_from_slice(&class.to_le_bytes());
            }
            if functions.is_empty() {
                continue;
            }
            let name = code_table_symbol(prefix, table as u32);
            let id = module
                .declare_data(&name, Linkage::Local, false, false)
                .map_err(crate::object::emit_error)?;
            let mut description = DataDescription::new();
            description.define(bytes.into_boxed_slice());
            description.set_align(8);
            for (offset, func_id) in functions {
                let func_ref = module.declare_func_in_data(func_id, &mut description);
                description.write_function_addr(offset as u32, func_ref);
            }
            module
                .define_data(id, &description)
                .map_err(crate::object::emit_error)?;
            if let Some(fixed) = &mut self.tables[table] {
                fixed.code_table = Some(id);
            }
        }
        Ok(())
    }

    /// The fixed table `table`, if it is one.
    pub fn fixed_table(&self, table: u32) -> Option<&FixedTable> {
        self.tables.get(table as usize)?.as_ref()
    }

    /// The class of type `type_index`.
    pub fn class(&self, type_index: u32) -> u32 {
        self.classes[type_index as usize]
    }

    /// The class of function `func`'s type (its declared type, for an import).
    fn func_class(&self, func: u32) -> u32 {
        self.class(self.function_types[func as usize])
    }

    /// The function a `call_indirect` of type `type_index` through `table` at the constant
    /// `index` certainly calls without trapping, when the analysis knows one: the slot
    /// holds a function whose type (declared type, for an import: the actual one is a
    /// subtype of it) has the expected type's class, so the runtime's checks would pass.
    pub fn constant_target(&self, table: u32, type_index: u32, index: u64) -> Option<u32> {
        let fixed = self.fixed_table(table)?;
        match *fixed.slots.get(usize::try_from(index).ok()?)? {
            Slot::Func(func) if self.func_class(func) == self.class(type_index) => Some(func),
            _ => None,
        }
    }

    /// The one defined function that a `call_indirect` of type `type_index` through fixed
    /// table `table` can reach without the checked path (a slot of another function of
    /// the type's class holds an import, or there is none), when there is one.
    pub fn sole_target(&self, table: u32, type_index: u32) -> Option<SoleTarget> {
        let fixed = self.fixed_table(table)?;
        fixed.sole_targets.get(&self.class(type_index)).copied()
    }

    /// Number of tables found fixed.
    #[cfg(test)]
    pub fn n_fixed(&self) -> usize {
        self.tables.iter().flatten().count()
    }
}

/// The local data symbol of table `table`'s code table.
pub fn code_table_symbol(prefix: &str, table: u32) -> String {
    format!("{prefix}kiln_code_table_{table}")
}

/// Whether a table of element type `element` holds function references.
fn is_func_ref(element: ValType) -> bool {
    matches!(
        element,
        ValType::Ref(RefType {
            heap: HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_),
            ..
        })
    )
}

/// The slot a constant expression (a table's initial value, an element) gives.
fn slot_of_expr(expr: &[ConstOp]) -> Slot {
    match expr {
        [ConstOp::RefNull] => Slot::Null,
        [ConstOp::RefFunc(func)] => Slot::Func(*func),
        _ => Slot::Unknown,
    }
}

/// A constant offset expression's value.
fn constant_offset(expr: &[ConstOp]) -> Option<u64> {
    match expr {
        [ConstOp::I32Const(value)] => Some(u64::from(*value as u32)),
        [ConstOp::I64Const(value)] => Some(*value as u64),
        _ => None,
    }
}

/// Applies the active element segments to the fixed tables' slots, in order, as
/// instantiation does; a table written at an offset that is not constant is not fixed.
fn apply_element_segments(info: &ModuleInfo<'_>, tables: &mut [Option<FixedTable>]) {
    let metadata = &info.metadata;
    // Whether an earlier segment may have stopped instantiation, leaving the later ones
    // unapplied (see the file's comment).
    let mut may_have_failed = false;
    for segment in &metadata.elements {
        let ElementMode::Active { table, offset } = &segment.mode else {
            continue;
        };
        let table = *table as usize;
        let n_items = match &segment.items {
            ElementItems::Functions(functions) => functions.len(),
            ElementItems::Expressions(exprs) => exprs.len(),
        } as u64;
        let offset = constant_offset(offset);
        // An imported table is at least its declared minimum long.
        let fits = offset
            .and_then(|offset| offset.checked_add(n_items))
            .is_some_and(|end| end <= metadata.tables[table].min);
        if let Some(fixed) = &mut tables[table] {
            match (offset, fits) {
                (None, _) => tables[table] = None,
                (Some(_), false) => {}
                (Some(offset), true) => {
                    let slots = &mut fixed.slots[offset as usize..(offset + n_items) as usize];
                    match &segment.items {
                        _ if may_have_failed => slots.fill(Slot::Unknown),
                        ElementItems::Functions(functions) => {
                            for (slot, func) in slots.iter_mut().zip(functions) {
                                *slot = Slot::Func(*func);
                            }
                        }
                        ElementItems::Expressions(exprs) => {
                            for (slot, expr) in slots.iter_mut().zip(exprs) {
                                *slot = slot_of_expr(expr);
                            }
                        }
                    }
                }
            }
        }
        may_have_failed |= !fits;
    }
}

/// What every function body does with tables, scanned on all cores when `parallel`.
fn scan_bodies(info: &ModuleInfo<'_>, n_tables: usize, parallel: bool) -> Result<TableUses> {
    let scan = |body: &wasmparser::FunctionBody<'_>| -> Result<TableUses> {
        let mut uses = TableUses::new(n_tables);
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let written = match reader.read()? {
                Operator::CallIndirect { table_index, .. }
                | Operator::ReturnCallIndirect { table_index, .. } => {
                    uses.called[table_index as usize] = true;
                    continue;
                }
                Operator::TableSet { table }
                | Operator::TableGrow { table }
                | Operator::TableFill { table }
                | Operator::TableInit { table, .. }
                | Operator::TableCopy {
                    dst_table: table, ..
                }
                | Operator::TableAtomicSet {
                    table_index: table, ..
                }
                | Operator::TableAtomicRmwXchg {
                    table_index: table, ..
                }
                | Operator::TableAtomicRmwCmpxchg {
                    table_index: table, ..
                } => table,
                _ => continue,
            };
            uses.written[written as usize] = true;
        }
        Ok(uses)
    };
    let merge = |a: Result<TableUses>, b: Result<TableUses>| Ok(a?.merge(b?));
    if parallel {
        info.bodies
            .par_iter()
            .map(scan)
            .reduce(|| Ok(TableUses::new(n_tables)), merge)
    } else {
        info.bodies
            .iter()
            .map(scan)
            .fold(Ok(TableUses::new(n_tables)), merge)
    }
}

/// The class of every type: the lowest index of a type with the same plain identity, or
/// the type's own index (see the file's comment).
fn type_classes(types: &[FuncType], subtyping: &[Subtyping]) -> Vec<u32> {
    let mut first: HashMap<&FuncType, u32> = HashMap::new();
    types
        .iter()
        .enumerate()
        .map(|(index, ty)| {
            let index = index as u32;
            let plain = subtyping
                .get(index as usize)
                .is_none_or(|s| *s == Subtyping::FINAL)
                && ty.params.iter().chain(&ty.results).all(|t| {
                    !matches!(
                        t,
                        ValType::Ref(RefType {
                            heap: HeapType::Concrete(_),
                            ..
                        })
                    )
                });
            if plain {
                *first.entry(ty).or_insert(index)
            } else {
                index
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_MEMORY_SETTINGS;

    fn analyze(wat: &str) -> Devirt {
        let wasm = wat::parse_str(wat).unwrap();
        crate::validate(&wasm, crate::DEFAULT_FEATURES).unwrap();
        let info = crate::module_info::parse(&wasm, DEFAULT_MEMORY_SETTINGS).unwrap();
        Devirt::analyze(&info, false).unwrap()
    }

    fn slots(devirt: &Devirt, table: u32) -> Option<Vec<Slot>> {
        devirt.fixed_table(table).map(|fixed| fixed.slots.clone())
    }

    #[test]
    fn slots_follow_the_segments_in_order() {
        let devirt = analyze(
            r#"(module
                 (type $t (func (result i32)))
                 (import "env" "f" (func $imported (type $t)))
                 (func $a (type $t) (i32.const 1))
                 (func $b (type $t) (i32.const 2))
                 (table 4 funcref)
                 (elem (i32.const 0) func $a $b)
                 (elem (i32.const 1) funcref (ref.func $imported) (ref.null func))
                 (func (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
        );
        use Slot::*;
        assert_eq!(slots(&devirt, 0), Some(vec![Func(1), Func(0), Null, Null]));
    }

    #[test]
    fn tables_that_can_change_are_not_fixed() {
        for (what, table) in [
            ("exported", "(table (export \"t\") 2 funcref)"),
            ("imported", "(import \"env\" \"t\" (table 2 funcref))"),
        ] {
            let devirt = analyze(&format!(
                "(module {table} (elem (i32.const 0) func 0) (func))"
            ));
            assert_eq!(devirt.n_fixed(), 0, "{what}");
        }
        for (what, body) in [
            ("table.set", "(table.set 0 (i32.const 0) (ref.null func))"),
            (
                "table.grow",
                "(drop (table.grow 0 (ref.null func) (i32.const 1)))",
            ),
            (
                "table.fill",
                "(table.fill 0 (i32.const 0) (ref.null func) (i32.const 1))",
            ),
            (
                "table.init",
                "(table.init 0 0 (i32.const 0) (i32.const 0) (i32.const 0))",
            ),
            (
                "table.copy",
                "(table.copy 0 1 (i32.const 0) (i32.const 0) (i32.const 0))",
            ),
        ] {
            let devirt = analyze(&format!(
                "(module (table 2 funcref) (table 2 funcref) (elem func 0) (func {body}))"
            ));
            assert!(devirt.fixed_table(0).is_none(), "{what}");
            assert!(
                devirt.fixed_table(1).is_some(),
                "{what} leaves the other table fixed"
            );
        }
        // An offset read from an imported global.
        let devirt = analyze(
            r#"(module (import "env" "g" (global i32)) (table 2 funcref)
                 (elem (global.get 0) func 0) (func))"#,
        );
        assert_eq!(devirt.n_fixed(), 0);
    }

    #[test]
    fn slots_after_a_segment_that_may_fail_are_unknown() {
        let devirt = analyze(
            r#"(module
                 (import "env" "t" (table 1 funcref))
                 (func $f)
                 (table $own 3 funcref)
                 (elem (table $own) (i32.const 0) func $f)
                 (elem (table 0) (i32.const 0) func $f $f)
                 (elem (table $own) (i32.const 1) func $f))"#,
        );
        use Slot::*;
        assert_eq!(slots(&devirt, 1), Some(vec![Func(0), Unknown, Null]));
    }

    #[test]
    fn sole_targets_are_the_only_defined_function_of_a_class() {
        let devirt = analyze(
            r#"(module
                 (type $t (func (result i32)))
                 (type $u (func (result i64)))
                 (type $v (func))
                 (import "env" "f" (func $imported (type $t)))
                 (func $a (type $t) (i32.const 1))
                 (func $b (type $u) (i64.const 2))
                 (func $c (type $u) (i64.const 3))
                 (func $d (type $v))
                 (table 8 funcref)
                 (elem (i32.const 0) func $a $imported $b $c $d $d))"#,
        );
        let sole = |type_index| devirt.sole_target(0, type_index);
        let target = |func, slot| Some(SoleTarget { func, slot });
        assert_eq!(
            sole(0),
            target(1, Some(0)),
            "the import goes the checked way"
        );
        assert_eq!(sole(1), None, "two functions");
        assert_eq!(sole(2), target(4, None), "one function in two slots");
    }

    #[test]
    fn a_function_named_like_a_code_table_keeps_its_symbol_apart() {
        let wasm = wat::parse_str(
            r#"(module
                 (type $t (func))
                 (func $kiln_code_table_0 (type $t))
                 (table 1 funcref)
                 (elem (i32.const 0) func $kiln_code_table_0)
                 (func (param i32) (call_indirect (type $t) (local.get 0))))"#,
        )
        .unwrap();
        let options = crate::CompileOptions {
            parallel: false,
            ..Default::default()
        };
        crate::compile(&wasm, &options).expect("compiles");
    }

    #[test]
    fn classes_merge_plain_types_only() {
        let devirt = analyze(
            r#"(module
                 (type $a (func (param i32)))
                 (type $b (func (param i32)))
                 (type $c (func (param i64)))
                 (type $open (sub (func (param i32))))
                 (type $d (func (param i64))))"#,
        );
        let classes: Vec<u32> = (0..5).map(|t| devirt.class(t)).collect();
        assert_eq!(classes, [0, 0, 2, 3, 2]);
    }

    #[test]
    fn constant_targets_need_a_matching_class() {
        let wat = r#"(module
                 (type $t (func (result i32)))
                 (type $u (func (result i64)))
                 (import "env" "f" (func $imported (type $t)))
                 (func $a (type $t) (i32.const 1))
                 (func $b (type $u) (i64.const 2))
                 (table 4 funcref)
                 (elem (i32.const 0) func $a $b $imported))"#;
        let devirt = analyze(wat);
        assert_eq!(devirt.constant_target(0, 0, 0), Some(1));
        assert_eq!(devirt.constant_target(0, 0, 1), None, "type mismatch");
        assert_eq!(devirt.constant_target(0, 1, 1), Some(2));
        assert_eq!(devirt.constant_target(0, 0, 2), Some(0), "an import");
        assert_eq!(devirt.constant_target(0, 0, 3), None, "null");
        assert_eq!(devirt.constant_target(0, 0, 4), None, "out of bounds");
    }
}
