//! Instantiation, one function per phase: check the imports, lay out the context
//! (`vmctx`), link functions and imported entities, create the module's memories, tables
//! and globals, apply segments and run the start function, with WebAssembly 2.0 semantics.
//!
//! Order of effects (spec 2.0, "instantiate"): imports are checked first (nothing is
//! created on failure); then globals are initialised, then every active element segment
//! is applied in order, then every active data segment, then the start function runs. A
//! segment out of bounds traps the instantiation; segments applied before it stay applied
//! (visible through imported tables and memories). Active and declared element segments
//! and active data segments are dropped afterwards, as if by `elem.drop`/`data.drop`.
//!
//! Four phases only some modules need are parts that the runtime of executables links on
//! demand (`vm/linked.rs`): creating the tables the module defines ([`TABLES`]), evaluating
//! and applying element segments ([`ELEMENTS`]), creating the tags it defines ([`TAGS`]),
//! and checking imported tables, memories, globals and tags ([`ENTITY_IMPORTS`]). `kiln
//! build` links each when the module has what it works on, so a hello carries none of
//! them; elsewhere they are plain calls. So is the mapping of the module's memory image
//! ([`MEMORY_IMAGE`]), linked when the module has one. A phase with work to do in an
//! executable linked without it fails the instantiation, naming what is missing.
//!
//!
//! The phases are kept out of line (`#[inline(never)]`): inlined into one function they
//! made the executables' runtime about 300 bytes larger (measured, static musl hello).
//!
//! [`TABLES`]: super::linked::TABLES
//! [`ELEMENTS`]: super::linked::ELEMENTS
//! [`TAGS`]: super::linked::TAGS
//! [`ENTITY_IMPORTS`]: super::linked::ENTITY_IMPORTS
//! [`MEMORY_IMAGE`]: super::linked::MEMORY_IMAGE

use super::const_expr::evaluate;
use super::instance::{vmctx_layout, InstanceData};
use super::memory::{settings_compatible, LinearMemory};
use super::module::Module;
use super::store::{
    FuncData, FuncKind, GlobalData, MemoryData, OwnedPtr, Storage, TableData, VMStore,
};
use super::table::{range, TableStorage};
use crate::error::{InstantiateError, Trap};
use kiln_abi::builtins::VMBuiltins;
use kiln_abi::metadata::{
    DataMode, ElementItems, ElementMode, ExternKind, GlobalType, ImportType, MemoryType, TableType,
};
use kiln_abi::vmctx::{VMContextHeader, VMFuncRef, VMOffsets, ValRaw, VMCTX_MAGIC};
use kiln_abi::TrapCode;

/// Instantiates `module` in `store` with `imports` (the kind and store index of each, in
/// the module's import order). The new instance goes to the end of `instances`, the
/// store's instances (even when instantiation then fails: its functions may already be in
/// imported tables); returns its index there.
///
/// # Safety
/// `store` must be live and not borrowed elsewhere for the duration of the call.
pub(crate) unsafe fn instantiate(
    store_ptr: *mut VMStore,
    instances: &mut Vec<OwnedPtr<InstanceData>>,
    module: &Module,
    imports: &[(ExternKind, u32)],
) -> Result<u32, InstantiateError> {
    // SAFETY: caller's contract. This borrow ends before the start function runs.
    let store = unsafe { &mut *store_ptr };
    check_instrumentation(store, module)?;
    check_imports(store, module, imports)?;
    let builtins = super::builtins::table().ok_or_else(|| {
        InstantiateError::Host("the executable was linked without a table of builtins".into())
    })?;
    let instance = allocate_context(store, store_ptr, module, builtins);
    let index = instances.len() as u32;
    instances.push(instance);
    let instance = instances[index as usize].as_ptr();
    // SAFETY: the instance was just allocated at a stable address, owned by `instances`;
    // nothing else refers to it yet.
    let instance = unsafe { &mut *instance };
    link_functions(store, instance, imports);
    link_imported_entities(store, instance, imports);
    let metadata = module.metadata();
    if metadata.tags.len() > instance.tags.len() {
        linked_phase(linked_tags(), "tags")?(store, instance)?;
    }
    create_memories(store, instance)?;
    if metadata.tables.len() > instance.tables.len() {
        linked_phase(linked_tables(), "tables")?(store, instance)?;
    }
    initialize_globals(store, instance)?;
    if !metadata.elements.is_empty() {
        // Effects are visible from the first segment applied on, even if instantiation
        // fails.
        linked_phase(linked_elements(), "element segments")?(store, instance)?;
    }
    apply_data(store, instance)?;
    if let Some(start) = module.metadata().start {
        let func = instance.funcs[start as usize];
        // SAFETY: `store` and `instance` are not used again; the call re-borrows the store.
        unsafe { super::call::call(store_ptr, func, &mut [ValRaw::default()]) }?;
    }
    Ok(index)
}

/// A phase of instantiation that executables link on demand (see the module
/// documentation).
type Phase = fn(&mut VMStore, &mut InstanceData) -> Result<(), InstantiateError>;

/// Applying the memory image: whether the module had one (see `apply_memory_image`).
type MemoryImage = fn(&mut VMStore, &InstanceData) -> Result<bool, InstantiateError>;

/// The check of an imported table, memory, global or tag against its import type.
type EntityImportCheck = fn(&VMStore, &Module, ImportType, (ExternKind, u32)) -> Result<(), String>;

#[cfg(feature = "exe-main")]
super::linked::linked_part!(kiln_linked_tables, fn linked_tables() -> Option<Phase>);
#[cfg(feature = "exe-main")]
super::linked::linked_part!(kiln_linked_elements, fn linked_elements() -> Option<Phase>);
#[cfg(feature = "exe-main")]
super::linked::linked_part!(kiln_linked_tags, fn linked_tags() -> Option<Phase>);
#[cfg(feature = "exe-main")]
super::linked::linked_part!(
    kiln_linked_entity_imports,
    fn linked_entity_imports() -> Option<EntityImportCheck>
);
#[cfg(feature = "exe-main")]
super::linked::linked_part!(kiln_linked_memory_image, fn linked_memory_image() -> Option<MemoryImage>);

#[cfg(not(feature = "exe-main"))]
fn linked_tables() -> Option<Phase> {
    Some(create_tables)
}
#[cfg(not(feature = "exe-main"))]
fn linked_elements() -> Option<Phase> {
    Some(evaluate_and_apply_elements)
}
#[cfg(not(feature = "exe-main"))]
fn linked_tags() -> Option<Phase> {
    Some(create_tags)
}
#[cfg(not(feature = "exe-main"))]
fn linked_entity_imports() -> Option<EntityImportCheck> {
    Some(check_entity_import)
}
#[cfg(not(feature = "exe-main"))]
fn linked_memory_image() -> Option<MemoryImage> {
    Some(apply_memory_image)
}

/// The part `part` that a module with `what` needs, or the error of an executable linked
/// without it (not by `kiln build`, which links every part the module needs).
fn linked_phase<T>(part: Option<T>, what: &str) -> Result<T, InstantiateError> {
    part.ok_or_else(|| {
        InstantiateError::Host(format!(
            "the module has {what}, but the executable was linked without the code that \
             instantiates them"
        ))
    })
}

fn unlinkable(message: String) -> InstantiateError {
    InstantiateError::Unlinkable(message)
}

fn trap(code: TrapCode) -> InstantiateError {
    InstantiateError::Trap(Trap {
        code,
        backtrace: Vec::new(),
        backtrace_truncated: false,
        exception_tag: None,
        message: None,
    })
}

/// Checks that the module's code enforces the store's fuel and time limits: code compiled
/// without the checks would run unmetered and uninterruptible.
#[inline(never)]
fn check_instrumentation(store: &VMStore, module: &Module) -> Result<(), InstantiateError> {
    let metadata = module.metadata();
    let name = metadata.name.unwrap_or("module");
    if store.fuel_metered && !metadata.fuel {
        return Err(InstantiateError::Host(format!(
            "the store meters fuel but `{name}` was compiled without fuel metering \
             (compile it with `--fuel`)"
        )));
    }
    if store.time_limited && !metadata.interruptible {
        return Err(InstantiateError::Host(format!(
            "the store has a time limit but `{name}` was compiled without interruption \
             checks (compile it with `--timeout` or `--interruptible`)"
        )));
    }
    Ok(())
}

/// Checks every import against the module's import types, and that no import the code
/// calls as one that never throws (`ModuleMetadata::may_throw`) is given a wasm function
/// that may; nothing is created on failure.
#[inline(never)]
fn check_imports(
    store: &VMStore,
    module: &Module,
    imports: &[(ExternKind, u32)],
) -> Result<(), InstantiateError> {
    let metadata = module.metadata();
    if imports.len() != metadata.imports.len() {
        return Err(unlinkable(format!(
            "the module has {} imports, {} were given",
            metadata.imports.len(),
            imports.len()
        )));
    }
    let mut func_index = 0;
    for (import, &item) in metadata.imports.iter().zip(imports) {
        check_import(store, module, import.ty, item).map_err(|reason| {
            unlinkable(format!(
                "incompatible import type for `{}::{}`: {reason}",
                import.module, import.name
            ))
        })?;
        if let ImportType::Func(_) = import.ty {
            let assumed_not_to_throw = metadata.may_throw.get(func_index) == Some(&false);
            if assumed_not_to_throw && store.funcs[item.1 as usize].may_throw {
                return Err(unlinkable(format!(
                    "import `{}::{}` was compiled assuming that it never throws an \
                     exception, but the function given for it is a wasm function that may \
                     throw (under a WASI module name, import host functions or wasm \
                     functions that cannot throw, or compile the module without \
                     `nothrow_wasi_imports`)",
                    import.module, import.name
                )));
            }
            func_index += 1;
        }
    }
    Ok(())
}

fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match max {
            None => true,
            Some(max) => actual_max.is_some_and(|actual_max| actual_max <= max),
        }
}

fn describe_limits(min: u64, max: Option<u64>) -> String {
    match max {
        Some(max) => format!("{min}..{max}"),
        None => format!("{min}.."),
    }
}

fn describe_table(ty: TableType) -> String {
    let index = if ty.table64 { "i64 " } else { "" };
    format!(
        "table {index}{} {}",
        describe_limits(ty.min, ty.max),
        ty.element
    )
}

/// The name of an entity kind, for messages.
fn kind_name(kind: ExternKind) -> &'static str {
    match kind {
        ExternKind::Func => "function",
        ExternKind::Table => "table",
        ExternKind::Memory => "memory",
        ExternKind::Global => "global",
        ExternKind::Tag => "tag",
    }
}

/// Checks one import.
fn check_import(
    store: &VMStore,
    module: &Module,
    import_ty: ImportType,
    (kind, index): (ExternKind, u32),
) -> Result<(), String> {
    match (import_ty, kind) {
        (ImportType::Func(type_index), ExternKind::Func) => {
            // The same canonical type, or one that declares the expected type among its
            // supertypes (Wasm 3.0 `sub`).
            let actual = &store.funcs[index as usize];
            if !super::module::is_subtype(actual.type_id, module.0.type_ids[type_index as usize]) {
                let expected = module.canonical_func_type(type_index);
                return Err(format!("expected {expected}, found {}", actual.ty));
            }
            Ok(())
        }
        (ImportType::Func(_), _) | (_, ExternKind::Func) => Err(kind_mismatch(import_ty, kind)),
        _ => match linked_entity_imports() {
            Some(check) => check(store, module, import_ty, (kind, index)),
            None => Err(
                "the executable was linked without the code that checks imported \
                 tables, memories, globals and tags"
                    .into(),
            ),
        },
    }
}

/// Why an item of kind `kind` does not match an import of type `expected`.
fn kind_mismatch(expected: ImportType, kind: ExternKind) -> String {
    let expected = match expected {
        ImportType::Func(_) => ExternKind::Func,
        ImportType::Table(_) => ExternKind::Table,
        ImportType::Memory(_) => ExternKind::Memory,
        ImportType::Global(_) => ExternKind::Global,
        ImportType::Tag(_) => ExternKind::Tag,
    };
    format!(
        "expected a {}, found a {}",
        kind_name(expected),
        kind_name(kind)
    )
}

/// Checks an import of a table, memory, global or tag (a part linked on demand in
/// executables, see the module documentation).
#[cfg_attr(feature = "exe-main", export_name = "kiln_check_entity_import")]
fn check_entity_import(
    store: &VMStore,
    module: &Module,
    import_ty: ImportType,
    (kind, index): (ExternKind, u32),
) -> Result<(), String> {
    let metadata = module.metadata();
    let index = index as usize;
    match (import_ty, kind) {
        (ImportType::Table(expected), ExternKind::Table) => {
            let expected = TableType {
                element: module.canonical_val_type(expected.element),
                ..expected
            };
            let actual = store.tables[index].storage.ty();
            if actual.element != expected.element
                || actual.table64 != expected.table64
                || !limits_match(actual.min, actual.max, expected.min, expected.max)
            {
                return Err(format!(
                    "expected {}, found {}",
                    describe_table(expected),
                    describe_table(actual)
                ));
            }
        }
        (ImportType::Memory(expected), ExternKind::Memory) => {
            let memory = &store.memories[index].memory;
            let actual = memory.ty();
            if actual.memory64 != expected.memory64
                || actual.shared != expected.shared
                || !limits_match(
                    actual.min_pages,
                    actual.max_pages,
                    expected.min_pages,
                    expected.max_pages,
                )
            {
                let index = |ty: MemoryType| if ty.memory64 { "i64 " } else { "" };
                return Err(format!(
                    "expected memory {}{}, found memory {}{}",
                    index(expected),
                    describe_limits(expected.min_pages, expected.max_pages),
                    index(actual),
                    describe_limits(actual.min_pages, actual.max_pages)
                ));
            }
            let settings = memory.settings();
            let wanted = metadata.memory_settings;
            if !settings_compatible(wanted, settings) {
                return Err(format!(
                    "the memory was created with a {} byte reservation and a {} byte guard, but the module was compiled for a {} byte reservation and a {} byte guard",
                    settings.reservation, settings.guard_size, wanted.reservation, wanted.guard_size
                ));
            }
        }
        (ImportType::Global(expected), ExternKind::Global) => {
            let expected = GlobalType {
                ty: module.canonical_val_type(expected.ty),
                ..expected
            };
            let actual = store.globals[index].ty;
            // An immutable global may be of a subtype; a mutable one is read and written.
            let matches = actual.mutable == expected.mutable
                && if expected.mutable {
                    actual.ty == expected.ty
                } else {
                    super::module::is_val_subtype(actual.ty, expected.ty)
                };
            if !matches {
                return Err(format!("expected {expected}, found {actual}"));
            }
        }
        (ImportType::Tag(type_index), ExternKind::Tag) => {
            // Tags match exactly: same payload types (function types are final without GC).
            let expected = module.canonical_func_type(type_index);
            let actual = &store.tags[index].ty;
            if *actual != expected {
                return Err(format!("expected tag {expected}, found tag {actual}"));
            }
        }
        (expected, kind) => return Err(kind_mismatch(expected, kind)),
    }
    Ok(())
}

/// Allocates the instance and its zeroed context, and writes the context's header and
/// type ids.
#[inline(never)]
fn allocate_context(
    store: &mut VMStore,
    store_ptr: *mut VMStore,
    module: &Module,
    builtins: &'static VMBuiltins,
) -> OwnedPtr<InstanceData> {
    let metadata = module.metadata();
    let offsets = VMOffsets::new(metadata.vm_counts());
    let layout = vmctx_layout(&offsets);
    // SAFETY: the layout has a non-zero size.
    let vmctx = unsafe { std::alloc::alloc_zeroed(layout) };
    if vmctx.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    let data = OwnedPtr::new(InstanceData {
        module: module.clone(),
        offsets,
        vmctx,
        store: store_ptr,
        funcs: Vec::new(),
        memories: Vec::new(),
        tables: Vec::new(),
        globals: Vec::new(),
        tags: Vec::new(),
        elements: Vec::new(),
        data_dropped: vec![false; metadata.data.len()],
        memory_export: InstanceData::find_memory_export(module),
    });
    let instance = data.as_ptr();
    // SAFETY: `vmctx` is a zeroed allocation of `offsets.size` bytes, aligned to 16; the
    // type-id slots lie within it.
    unsafe {
        let header = vmctx.cast::<VMContextHeader>();
        (*header).magic = VMCTX_MAGIC;
        (*header).limits = store.limits.get();
        (*header).builtins = builtins;
        (*header).instance = instance.cast();
        for (index, &type_id) in module.0.type_ids.iter().enumerate() {
            *(*instance).at::<u32>(offsets.type_id(index as u32)) = type_id;
        }
    }
    data
}

/// Fills the context's `VMFuncRef`s: imports first (copied from the exporter's), then the
/// module's own functions, which become functions of the store.
#[inline(never)]
fn link_functions(store: &mut VMStore, instance: &mut InstanceData, imports: &[(ExternKind, u32)]) {
    let module = instance.module.clone();
    let metadata = module.metadata();
    let offsets = instance.offsets;
    let mut imported_funcs = imports
        .iter()
        .filter(|(kind, _)| *kind == ExternKind::Func)
        .map(|&(_, index)| index);
    for (func_index, &type_index) in metadata.functions.iter().enumerate() {
        let slot = instance.at::<VMFuncRef>(offsets.func_ref(func_index as u32));
        let func = if let Some(store_index) = imported_funcs.next() {
            let source = &store.funcs[store_index as usize];
            // SAFETY: the source func ref is live (owned by this store); the slot is ours.
            unsafe {
                let mut copy = *source.func_ref;
                if source.kind == FuncKind::Host {
                    copy.wasm_call = module.exit_trampoline(type_index);
                    if (*source.func_ref).wasm_call.is_null() {
                        (*source.func_ref).wasm_call = copy.wasm_call;
                    }
                }
                slot.write(copy);
            }
            store_index
        } else {
            let defined_index = func_index as u32 - module.0.n_imported_functions;
            let type_id = module.0.type_ids[type_index as usize];
            // SAFETY: the slot lies within our context.
            unsafe {
                slot.write(VMFuncRef {
                    wasm_call: module.function_code(defined_index),
                    array_call: std::ptr::null(),
                    vmctx: instance.vmctx,
                    type_id,
                    _pad: 0,
                });
            }
            store.push_func_unindexed(FuncData {
                ty: module.canonical_func_type(type_index),
                type_id,
                func_ref: slot,
                kind: FuncKind::Wasm,
                may_throw: metadata.may_throw.get(func_index).copied().unwrap_or(true),
            })
        };
        instance.funcs.push(func);
    }
    // The slots, one after another from the first, recorded in one run.
    let first_slot = instance.at::<VMFuncRef>(offsets.func_ref(0)) as usize;
    store.func_by_ref.extend(first_slot, &instance.funcs);
    // Host functions made before any module of their type was registered get their
    // `wasm_call` now, so that they can be called through tables.
    store.fill_exit_trampolines();
}

/// Points the context's imported memory, table and global slots at the exporters'
/// definitions.
#[inline(never)]
fn link_imported_entities(
    store: &VMStore,
    instance: &mut InstanceData,
    imports: &[(ExternKind, u32)],
) {
    let offsets = instance.offsets;
    for &(kind, index) in imports {
        let (slot, definition, indices) = match kind {
            ExternKind::Func => continue,
            ExternKind::Tag => (
                offsets.tag(instance.tags.len() as u32),
                store.tags[index as usize].vmtag.as_ptr().cast(),
                &mut instance.tags,
            ),
            ExternKind::Memory => (
                offsets.imported_memory(instance.memories.len() as u32),
                store.memories[index as usize]
                    .definition
                    .as_ptr()
                    .cast::<u8>(),
                &mut instance.memories,
            ),
            ExternKind::Table => (
                offsets.imported_table(instance.tables.len() as u32),
                store.tables[index as usize].definition.as_ptr().cast(),
                &mut instance.tables,
            ),
            ExternKind::Global => (
                offsets.imported_global(instance.globals.len() as u32),
                store.globals[index as usize].definition.as_ptr().cast(),
                &mut instance.globals,
            ),
        };
        indices.push(index);
        // SAFETY: the slot lies within our context; the definition is owned by the store
        // at a stable address.
        unsafe { *instance.at::<*mut u8>(slot) = definition };
    }
}

/// Creates the tags the module defines: new identities, one per instance.
#[cfg_attr(feature = "exe-main", export_name = "kiln_instantiate_tags")]
fn create_tags(store: &mut VMStore, instance: &mut InstanceData) -> Result<(), InstantiateError> {
    let module = instance.module.clone();
    let metadata = module.metadata();
    let n_imported = instance.tags.len();
    for (tag_index, &type_index) in metadata.tags.iter().enumerate().skip(n_imported) {
        let exported = || {
            metadata
                .exports
                .iter()
                .find(|export| export.kind == ExternKind::Tag && export.index as usize == tag_index)
                .map(|export| export.name)
        };
        let name = match metadata.tag_names.get(tag_index) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => exported().map_or_else(|| format!("#{tag_index}"), str::to_string),
        };
        let index = store.push_tag(module.canonical_func_type(type_index), name);
        // SAFETY: the slot lies within our context; the tag is owned by the store at a
        // stable address.
        unsafe {
            *instance.at::<*const u8>(instance.offsets.tag(tag_index as u32)) =
                store.tags[index as usize].vmtag.as_ptr().cast();
        }
        instance.tags.push(index);
    }
    Ok(())
}

/// Creates the memories the module defines.
#[inline(never)]
fn create_memories(
    store: &mut VMStore,
    instance: &mut InstanceData,
) -> Result<(), InstantiateError> {
    let metadata = instance.module.metadata();
    let n_imported = instance.memories.len();
    for (defined_index, ty) in metadata.memories[n_imported..].iter().enumerate() {
        if let Some(max) = store.resource_limits.max_memory_bytes {
            let bytes = ty.min_pages.checked_mul(kiln_abi::WASM_PAGE_SIZE);
            if bytes.is_none_or(|bytes| bytes > max) {
                return Err(InstantiateError::Host(format!(
                    "memory {} starts with {} pages ({} bytes), over the limit of {max} bytes",
                    n_imported + defined_index,
                    ty.min_pages,
                    bytes.map_or_else(|| "too many".to_string(), |b| b.to_string())
                )));
            }
        }
        let memory = match metadata.fixed_memory_address {
            Some(address) if defined_index == 0 => {
                fixed_memory_address(address, n_imported, ty, metadata.memory_settings)?;
                LinearMemory::new_at(*ty, metadata.memory_settings, address as usize)
            }
            _ => LinearMemory::new(*ty, metadata.memory_settings),
        }
        .map_err(|error| InstantiateError::Host(error.to_string()))?;
        let definition = instance.at(instance.offsets.memory(defined_index as u32));
        let index = store.push_memory(MemoryData::new(memory, Storage::InContext(definition)));
        instance.memories.push(index);
    }
    Ok(())
}

/// Checks the fixed address the metadata gives the first memory: the one the compiler
/// writes, for a memory it defines, 32-bit, that never moves (no explicit bounds checks).
/// Anything else is a corrupt object, whose code would reach outside its memory.
fn fixed_memory_address(
    address: u64,
    n_imported: usize,
    ty: &kiln_abi::metadata::MemoryType,
    settings: kiln_abi::metadata::MemorySettings,
) -> Result<(), InstantiateError> {
    if address != kiln_abi::metadata::FIXED_MEMORY_ADDRESS
        || n_imported != 0
        || ty.memory64
        || settings.bounds_checks
    {
        return Err(InstantiateError::Host(format!(
            "corrupt module: a fixed memory address {address:#x} for a memory that cannot \
             have one"
        )));
    }
    Ok(())
}

/// Creates the tables the module defines, every element null or, with an initialiser
/// expression, that expression's value (evaluated once per table: it is constant).
#[cfg_attr(feature = "exe-main", export_name = "kiln_instantiate_tables")]
fn create_tables(store: &mut VMStore, instance: &mut InstanceData) -> Result<(), InstantiateError> {
    let metadata = instance.module.metadata();
    let n_imported = instance.tables.len();
    for (defined_index, ty) in metadata.tables[n_imported..].iter().enumerate() {
        let init = match metadata.table_inits.get(defined_index) {
            Some(Some(expression)) => evaluate(store, instance, expression)
                .map_err(InstantiateError::Host)?
                .u64() as usize,
            _ => 0,
        };
        let ty = TableType {
            element: instance.module.canonical_val_type(ty.element),
            ..*ty
        };
        if let Some(max) = store.resource_limits.max_table_elements {
            if ty.min > max {
                return Err(InstantiateError::Host(format!(
                    "table {} starts with {} elements, over the limit of {max} elements",
                    n_imported + defined_index,
                    ty.min
                )));
            }
        }
        let storage = TableStorage::new(ty, init).ok_or_else(|| {
            InstantiateError::Host(format!("table of {} elements is too large", ty.min))
        })?;
        let definition = instance.at(instance.offsets.table(defined_index as u32));
        let index = store.push_table(TableData::new(storage, Storage::InContext(definition)));
        instance.tables.push(index);
    }
    Ok(())
}

/// Creates the globals the module defines, with their initial values.
#[inline(never)]
fn initialize_globals(
    store: &mut VMStore,
    instance: &mut InstanceData,
) -> Result<(), InstantiateError> {
    let metadata = instance.module.metadata();
    for (defined_index, global) in metadata.globals.iter().enumerate() {
        let value = evaluate(store, instance, &global.init).map_err(InstantiateError::Host)?;
        let definition = instance.at(instance.offsets.global(defined_index as u32));
        let mut data = GlobalData {
            ty: GlobalType {
                ty: instance.module.canonical_val_type(global.ty.ty),
                ..global.ty
            },
            definition: Storage::InContext(definition),
        };
        data.set(value);
        let index = store.push_global(data);
        instance.globals.push(index);
    }
    Ok(())
}

/// Evaluates the element segments, then applies the active ones (a part linked on demand
/// in executables, see the module documentation).
#[cfg_attr(feature = "exe-main", export_name = "kiln_instantiate_elements")]
fn evaluate_and_apply_elements(
    store: &mut VMStore,
    instance: &mut InstanceData,
) -> Result<(), InstantiateError> {
    evaluate_elements(store, instance)?;
    apply_elements(store, instance)
}

/// Evaluates every element segment's items once, as table elements: they are constant.
fn evaluate_elements(
    store: &mut VMStore,
    instance: &mut InstanceData,
) -> Result<(), InstantiateError> {
    let metadata = instance.module.metadata();
    for segment in &metadata.elements {
        let items = match &segment.items {
            ElementItems::Functions(indices) => indices
                .iter()
                .map(|&index| {
                    let func = *instance.funcs.get(index as usize).ok_or_else(|| {
                        InstantiateError::Host(format!("element refers to function {index}"))
                    })?;
                    Ok(store.func_ref_address(func))
                })
                .collect::<Result<Vec<_>, InstantiateError>>()?,
            ElementItems::Expressions(expressions) => expressions
                .iter()
                .map(|expression| Ok(evaluate(store, instance, expression)?.u64() as usize))
                .collect::<Result<Vec<_>, String>>()
                .map_err(InstantiateError::Host)?,
        };
        instance.elements.push(items);
    }
    Ok(())
}

/// Copies active element segments into their tables, in order, and drops them and the
/// declared ones.
fn apply_elements(
    store: &mut VMStore,
    instance: &mut InstanceData,
) -> Result<(), InstantiateError> {
    let metadata = instance.module.metadata();
    for (segment_index, segment) in metadata.elements.iter().enumerate() {
        match &segment.mode {
            ElementMode::Active { table, offset } => {
                let offset = evaluate(store, instance, offset).map_err(InstantiateError::Host)?;
                let table_index = instance.tables[*table as usize];
                let items = std::mem::take(&mut instance.elements[segment_index]);
                let elements = store.tables[table_index as usize].storage.elements_mut();
                let range = range(offset.u64(), items.len() as u64, elements.len())
                    .ok_or_else(|| trap(TrapCode::TableOutOfBounds))?;
                elements[range].copy_from_slice(&items);
            }
            ElementMode::Declared => instance.elements[segment_index].clear(),
            ElementMode::Passive => {}
        }
    }
    Ok(())
}

/// Applies the first memory's image, when the module has one (it replaces that memory's
/// active segments), then every other active data segment in order, and drops them.
#[inline(never)]
fn apply_data(store: &mut VMStore, instance: &mut InstanceData) -> Result<(), InstantiateError> {
    let module = instance.module.clone();
    let metadata = module.metadata();
    let image_applied = match metadata.memory_image_offset {
        Some(_) => linked_memory_image().ok_or_else(|| {
            InstantiateError::Host(
                "the module has a memory image, but the executable was linked without the \
                 code that maps it"
                    .into(),
            )
        })?(store, instance)?,
        None => false,
    };
    for (segment_index, segment) in metadata.data.iter().enumerate() {
        let DataMode::Active { memory, offset } = &segment.mode else {
            continue;
        };
        if !(image_applied && *memory == 0) {
            let offset = evaluate(store, instance, offset).map_err(InstantiateError::Host)?;
            let (base, length) = instance
                .memory_view(*memory)
                .ok_or_else(|| InstantiateError::Host(format!("no memory {memory}")))?;
            let range = range(offset.u64(), segment.bytes.len() as u64, length)
                .ok_or_else(|| trap(TrapCode::MemoryOutOfBounds))?;
            if let Some(bytes) = segment.bytes.as_plain() {
                // SAFETY: the range lies within the memory's accessible bytes (checked
                // above), which do not overlap the module's read-only segment bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        base.add(range.start),
                        bytes.len(),
                    );
                }
            } else {
                // SAFETY: as above; nothing else reads or writes the range while
                // instantiation decodes the segment straight into it.
                let destination =
                    unsafe { std::slice::from_raw_parts_mut(base.add(range.start), range.len()) };
                if !super::unpack::unpack_data_into(&segment.bytes, destination) {
                    return Err(InstantiateError::Host(
                        "corrupt compressed data segment".into(),
                    ));
                }
            }
        }
        instance.data_dropped[segment_index] = true;
    }
    Ok(())
}

/// Maps or copies the module's memory image into its first memory; whether it had one.
#[cfg_attr(feature = "exe-main", export_name = "kiln_apply_memory_image")]
fn apply_memory_image(
    store: &mut VMStore,
    instance: &InstanceData,
) -> Result<bool, InstantiateError> {
    let module = &instance.module;
    // SAFETY: the descriptor's image is the module's read-only data.
    let image = unsafe { module.0.descriptor.memory_image() };
    let Some(offset) = module.metadata().memory_image_offset else {
        return Ok(false);
    };
    if image.is_empty() {
        return Ok(false);
    }
    // The compiler makes an image only for a memory the module defines, so its first
    // memory is one this instantiation just created.
    let defines_first_memory = module.metadata().imported_count(ExternKind::Memory) == 0;
    let memory = match instance.memories.first() {
        Some(&index) if defines_first_memory => &mut store.memories[index as usize].memory,
        _ => {
            return Err(InstantiateError::Host(
                "memory image without a memory".into(),
            ))
        }
    };
    // The compiler makes an image only within the memory's initial size; a corrupt object
    // must not write past it.
    let range = range(offset, image.len() as u64, memory.len())
        .ok_or_else(|| InstantiateError::Host("memory image out of bounds".into()))?;
    // SAFETY: fresh zeroed accessible pages of a memory nothing uses yet, in bounds
    // (checked above).
    unsafe { super::memory_image::apply(memory.mapping_mut(), range.start, image) }
        .map_err(|error| InstantiateError::Host(error.to_string()))?;
    Ok(true)
}
