//! Instantiation: checking imports, laying out the context (`vmctx`), creating the
//! module's memories, tables and globals, applying segments and running the start
//! function, with WebAssembly 2.0 semantics.
//!
//! Order of effects (spec 2.0, "instantiate"): imports are checked first (nothing is
//! created on failure); then globals are initialised, then every active element segment
//! is applied in order, then every active data segment, then the start function runs. A
//! segment out of bounds traps the instantiation; segments applied before it stay applied
//! (visible through imported tables and memories). Active and declared element segments
//! and active data segments are dropped afterwards, as if by `elem.drop`/`data.drop`.

use crate::error::{InstantiateError, Trap};
use crate::memory::{settings_compatible, LinearMemory};
use crate::module::Module;
use crate::store::{
    Extern, Func, FuncData, FuncKind, Global, GlobalData, Instance, Memory, MemoryData, OwnedPtr,
    Store, StoreInner, Table, TableData,
};
use crate::table::TableStorage;
use crate::values::Val;
use kiln_abi::metadata::{
    ConstOp, DataMode, ElementItems, ElementMode, ExternKind, FuncType, ImportType, ValType,
};
use kiln_abi::vmctx::{
    VMContextHeader, VMFuncRef, VMGlobal, VMMemoryDefinition, VMOffsets, VMCTX_MAGIC,
};
use kiln_abi::TrapCode;
use std::alloc::Layout;

/// The runtime side of an instance: `vmctx.instance` points here.
pub(crate) struct InstanceData {
    pub module: Module,
    pub offsets: VMOffsets,
    /// The context compiled code receives; owned (allocated with `vmctx_layout`).
    pub vmctx: *mut u8,
    pub store: *mut StoreInner,
    /// Every function, imported first.
    pub funcs: Vec<Func>,
    /// Store indices of every memory, imported first.
    pub memories: Vec<u32>,
    /// Store indices of every table, imported first.
    pub tables: Vec<u32>,
    /// Store indices of every global, imported first.
    pub globals: Vec<u32>,
    /// Each element segment's references as table elements; emptied by `elem.drop`.
    pub elements: Vec<Vec<usize>>,
    /// Whether each data segment was dropped.
    pub data_dropped: Vec<bool>,
}

fn vmctx_layout(offsets: &VMOffsets) -> Layout {
    Layout::from_size_align(offsets.size.max(16) as usize, 16).expect("context layout")
}

impl Drop for InstanceData {
    fn drop(&mut self) {
        // SAFETY: allocated in `instantiate` with this layout.
        unsafe { std::alloc::dealloc(self.vmctx, vmctx_layout(&self.offsets)) };
    }
}

impl InstanceData {
    /// Pointer to a field of the context at `offset`.
    pub fn at<T>(&self, offset: u32) -> *mut T {
        // SAFETY: offsets come from `VMOffsets` for this context's size.
        unsafe { self.vmctx.add(offset as usize).cast::<T>() }
    }

    /// The `VMMemoryDefinition` compiled code uses for memory `index`.
    pub fn memory_definition(&self, index: u32) -> *mut VMMemoryDefinition {
        let imported = self.offsets.counts.imported_memories;
        if index < imported {
            // SAFETY: the import pointers are written at instantiation.
            unsafe { *self.at::<*mut VMMemoryDefinition>(self.offsets.imported_memory(index)) }
        } else {
            self.at(self.offsets.memory(index - imported))
        }
    }

    /// The calling instance's export named `name`.
    pub fn export(&self, name: &str) -> Option<Extern> {
        let export = self
            .module
            .metadata()
            .exports
            .iter()
            .find(|export| export.name == name)?;
        self.extern_of(export.kind, export.index)
    }

    /// The entity of kind `kind` at `index`.
    pub fn extern_of(&self, kind: ExternKind, index: u32) -> Option<Extern> {
        // SAFETY: the store outlives its instances.
        let store = unsafe { (*self.store).id };
        let index = index as usize;
        Some(match kind {
            ExternKind::Func => Extern::Func(*self.funcs.get(index)?),
            ExternKind::Table => Extern::Table(Table {
                store,
                index: *self.tables.get(index)?,
            }),
            ExternKind::Memory => Extern::Memory(Memory {
                store,
                index: *self.memories.get(index)?,
            }),
            ExternKind::Global => Extern::Global(Global {
                store,
                index: *self.globals.get(index)?,
            }),
        })
    }
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new(
        store: &mut Store,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, InstantiateError> {
        let store = store.as_ptr();
        // SAFETY: `store` is a live store that nothing else borrows during this call.
        unsafe { instantiate(store, module, imports) }
    }

    /// The export `name`.
    pub fn get_export(&self, store: &Store, name: &str) -> Option<Extern> {
        self.data(store).export(name)
    }

    /// Every export, in the module's order.
    pub fn exports(&self, store: &Store) -> Vec<(String, Extern)> {
        let data = self.data(store);
        let exports = &data.module.metadata().exports;
        exports
            .iter()
            .filter_map(|export| {
                Some((
                    export.name.to_owned(),
                    data.extern_of(export.kind, export.index)?,
                ))
            })
            .collect()
    }

    /// The module this is an instance of.
    pub fn module(&self, store: &Store) -> Module {
        self.data(store).module.clone()
    }

    fn data<'a>(&self, store: &'a Store) -> &'a InstanceData {
        store.inner.check(self.store);
        // SAFETY: instances live as long as their store.
        unsafe { &*store.inner.instances[self.index as usize].as_ptr() }
    }
}

/// Formats a function type like `(i32, i64) -> (f32)`.
pub(crate) fn describe_func_type(ty: &FuncType) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(|ty| ty.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("func ({}) -> ({})", list(&ty.params), list(&ty.results))
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

/// Checks one import; returns the store index of the entity.
fn check_import(
    store: &StoreInner,
    module: &Module,
    import_ty: ImportType,
    item: Extern,
) -> Result<u32, String> {
    let metadata = module.metadata();
    let item_store = match item {
        Extern::Func(f) => f.store,
        Extern::Table(t) => t.store,
        Extern::Memory(m) => m.store,
        Extern::Global(g) => g.store,
    };
    if item_store != store.id {
        return Err("the item belongs to another store".into());
    }
    match (import_ty, item) {
        (ImportType::Func(type_index), Extern::Func(func)) => {
            let expected = &metadata.types[type_index as usize];
            let actual = &store.funcs[func.index as usize].ty;
            if expected != actual {
                return Err(format!(
                    "expected {}, found {}",
                    describe_func_type(expected),
                    describe_func_type(actual)
                ));
            }
            Ok(func.index)
        }
        (ImportType::Table(expected), Extern::Table(table)) => {
            let actual = store.tables[table.index as usize].storage.ty();
            if actual.element != expected.element
                || !limits_match(actual.min, actual.max, expected.min, expected.max)
            {
                return Err(format!(
                    "expected table {} {}, found table {} {}",
                    describe_limits(expected.min, expected.max),
                    expected.element.name(),
                    describe_limits(actual.min, actual.max),
                    actual.element.name()
                ));
            }
            Ok(table.index)
        }
        (ImportType::Memory(expected), Extern::Memory(memory)) => {
            let data = &store.memories[memory.index as usize];
            let actual = data.memory.ty();
            if actual.memory64 != expected.memory64
                || actual.shared != expected.shared
                || !limits_match(
                    actual.min_pages,
                    actual.max_pages,
                    expected.min_pages,
                    expected.max_pages,
                )
            {
                return Err(format!(
                    "expected memory {}, found memory {}",
                    describe_limits(expected.min_pages, expected.max_pages),
                    describe_limits(actual.min_pages, actual.max_pages)
                ));
            }
            let settings = data.memory.settings();
            if !settings_compatible(metadata.memory_settings, settings) {
                return Err(format!(
                    "the memory was created with a {} byte reservation and a {} byte guard, but the module was compiled for a {} byte reservation and a {} byte guard",
                    settings.reservation,
                    settings.guard_size,
                    metadata.memory_settings.reservation,
                    metadata.memory_settings.guard_size
                ));
            }
            Ok(memory.index)
        }
        (ImportType::Global(expected), Extern::Global(global)) => {
            let actual = store.globals[global.index as usize].ty;
            if actual != expected {
                let describe = |ty: kiln_abi::metadata::GlobalType| {
                    format!(
                        "global {}{}",
                        if ty.mutable { "mut " } else { "" },
                        ty.ty.name()
                    )
                };
                return Err(format!(
                    "expected {}, found {}",
                    describe(expected),
                    describe(actual)
                ));
            }
            Ok(global.index)
        }
        (expected, item) => {
            let expected = match expected {
                ImportType::Func(_) => "function",
                ImportType::Table(_) => "table",
                ImportType::Memory(_) => "memory",
                ImportType::Global(_) => "global",
            };
            Err(format!(
                "expected a {expected}, found a {}",
                item.kind_name()
            ))
        }
    }
}

fn trap(code: TrapCode) -> InstantiateError {
    InstantiateError::Trap(Trap {
        code,
        backtrace: Vec::new(),
        backtrace_truncated: false,
    })
}

/// Instantiates `module` in `store`.
///
/// # Safety
/// `store` must be live and not borrowed elsewhere for the duration of the call.
pub(crate) unsafe fn instantiate(
    store_ptr: *mut StoreInner,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance, InstantiateError> {
    // SAFETY: caller's contract. This borrow ends before the start function runs.
    let store = unsafe { &mut *store_ptr };
    let metadata = module.metadata();
    if imports.len() != metadata.imports.len() {
        return Err(InstantiateError::Unlinkable(format!(
            "the module has {} imports, {} were given",
            metadata.imports.len(),
            imports.len()
        )));
    }
    let mut imported = Vec::with_capacity(imports.len());
    for (import, &item) in metadata.imports.iter().zip(imports) {
        let index = check_import(store, module, import.ty, item).map_err(|reason| {
            InstantiateError::Unlinkable(format!(
                "incompatible import type for `{}::{}`: {reason}",
                import.module, import.name
            ))
        })?;
        imported.push((import.ty, index));
    }

    let offsets = VMOffsets::new(metadata.vm_counts());
    // SAFETY: the layout has a non-zero size.
    let vmctx = unsafe { std::alloc::alloc_zeroed(vmctx_layout(&offsets)) };
    if vmctx.is_null() {
        std::alloc::handle_alloc_error(vmctx_layout(&offsets));
    }
    let instance_index = store.instances.len() as u32;
    let data = OwnedPtr::new(InstanceData {
        module: module.clone(),
        offsets,
        vmctx,
        store: store_ptr,
        funcs: Vec::new(),
        memories: Vec::new(),
        tables: Vec::new(),
        globals: Vec::new(),
        elements: Vec::new(),
        data_dropped: vec![false; metadata.data.len()],
    });
    let data_ptr = data.as_ptr();
    store.instances.push(data);
    // SAFETY: freshly allocated, owned by the store, not otherwise borrowed.
    let instance = unsafe { &mut *data_ptr };

    // SAFETY: `vmctx` is a zeroed allocation of `offsets.size` bytes, aligned to 16.
    unsafe {
        let header = vmctx.cast::<VMContextHeader>();
        (*header).magic = VMCTX_MAGIC;
        (*header).limits = store.limits.get();
        (*header).builtins = &crate::builtins::BUILTINS;
        (*header).instance = data_ptr.cast();
        for (index, &type_id) in module.0.type_ids.iter().enumerate() {
            *instance.at::<u32>(offsets.type_id(index as u32)) = type_id;
        }
    }

    // Functions: imports first (their `VMFuncRef` copied in), then this module's own.
    let mut imported_funcs = imported
        .iter()
        .filter(|(ty, _)| matches!(ty, ImportType::Func(_)));
    for (func_index, &type_index) in metadata.functions.iter().enumerate() {
        let slot = instance.at::<VMFuncRef>(offsets.func_ref(func_index as u32));
        let func = if let Some(&(_, store_index)) = imported_funcs.next() {
            let func = Func {
                store: store.id,
                index: store_index,
            };
            let source = &store.funcs[store_index as usize];
            // SAFETY: the source func ref is live (owned by this store); the slot is ours.
            unsafe {
                let mut copy = *source.func_ref;
                if let FuncKind::Host(_) = source.kind {
                    copy.wasm_call = module.exit_trampoline(type_index);
                    if (*source.func_ref).wasm_call.is_null() {
                        (*source.func_ref).wasm_call = copy.wasm_call;
                    }
                }
                slot.write(copy);
            }
            func
        } else {
            let defined_index = func_index as u32 - module.0.n_imported_functions;
            let type_id = module.0.type_ids[type_index as usize];
            // SAFETY: the slot lies within our context.
            unsafe {
                slot.write(VMFuncRef {
                    wasm_call: module.function_code(defined_index),
                    array_call: std::ptr::null(),
                    vmctx,
                    type_id,
                    _pad: 0,
                });
            }
            let func = Func {
                store: store.id,
                index: store.funcs.len() as u32,
            };
            store.funcs.push(FuncData {
                ty: metadata.types[type_index as usize].clone(),
                type_id,
                func_ref: slot,
                kind: FuncKind::Wasm,
            });
            func
        };
        store.func_by_ref.insert(slot as usize, func);
        instance.funcs.push(func);
    }

    // Host functions made before any module of their type was registered get their
    // `wasm_call` now, so that they can be called through tables.
    for data in &store.funcs {
        if let FuncKind::Host(_) = data.kind {
            // SAFETY: host func refs live in their host data, owned by the store.
            unsafe {
                if (*data.func_ref).wasm_call.is_null() {
                    if let Some(trampolines) = crate::module::trampolines(data.type_id) {
                        (*data.func_ref).wasm_call = trampolines.exit as *const u8;
                    }
                }
            }
        }
    }

    // Imported memories, tables and globals: pointers to the exporter's definitions.
    let (mut n_memories, mut n_tables, mut n_globals) = (0, 0, 0);
    for &(ty, store_index) in &imported {
        // SAFETY: the slots lie within our context; the definitions are owned by the store
        // at stable addresses.
        unsafe {
            match ty {
                ImportType::Func(_) => {}
                ImportType::Memory(_) => {
                    *instance.at(offsets.imported_memory(n_memories)) =
                        store.memories[store_index as usize].definition;
                    instance.memories.push(store_index);
                    n_memories += 1;
                }
                ImportType::Table(_) => {
                    *instance.at(offsets.imported_table(n_tables)) =
                        store.tables[store_index as usize].definition;
                    instance.tables.push(store_index);
                    n_tables += 1;
                }
                ImportType::Global(_) => {
                    *instance.at(offsets.imported_global(n_globals)) =
                        store.globals[store_index as usize].definition;
                    instance.globals.push(store_index);
                    n_globals += 1;
                }
            }
        }
    }

    for (defined_index, ty) in metadata.memories[n_memories as usize..].iter().enumerate() {
        let memory = LinearMemory::new(*ty, metadata.memory_settings)
            .map_err(|error| InstantiateError::Host(error.to_string()))?;
        let mut data = MemoryData {
            memory,
            definition: instance.at(offsets.memory(defined_index as u32)),
            _owned_definition: None,
        };
        data.sync();
        instance.memories.push(store.memories.len() as u32);
        store.memories.push(data);
    }
    for (defined_index, ty) in metadata.tables[n_tables as usize..].iter().enumerate() {
        let storage = TableStorage::new(*ty, 0).ok_or_else(|| {
            InstantiateError::Host(format!("table of {} elements is too large", ty.min))
        })?;
        let mut data = TableData {
            storage,
            definition: instance.at(offsets.table(defined_index as u32)),
            _owned_definition: None,
        };
        data.sync();
        instance.tables.push(store.tables.len() as u32);
        store.tables.push(data);
    }
    for (defined_index, global) in metadata.globals.iter().enumerate() {
        let value = evaluate(store, instance, &global.init).map_err(InstantiateError::Host)?;
        let definition = instance.at::<VMGlobal>(offsets.global(defined_index as u32));
        let raw = store.raw_from_val(value);
        // SAFETY: the slot lies within our context.
        unsafe { (*definition).0 = raw.0 };
        instance.globals.push(store.globals.len() as u32);
        store.globals.push(GlobalData {
            ty: global.ty,
            definition,
            _owned: None,
        });
    }

    // Element segments, evaluated once: their items are constant.
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
                .map(|expression| {
                    let value = evaluate(store, instance, expression)?;
                    Ok(store.reference_bits(value))
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(InstantiateError::Host)?,
        };
        instance.elements.push(items);
    }

    // From here on effects are visible even if instantiation fails.
    for (segment_index, segment) in metadata.elements.iter().enumerate() {
        match &segment.mode {
            ElementMode::Active { table, offset } => {
                let offset = evaluate(store, instance, offset).map_err(InstantiateError::Host)?;
                let table_index = instance.tables[*table as usize];
                let items = std::mem::take(&mut instance.elements[segment_index]);
                let table = &mut store.tables[table_index as usize];
                let elements = table.storage.elements_mut();
                let range =
                    crate::table::range(as_index(offset), items.len() as u64, elements.len())
                        .ok_or_else(|| trap(TrapCode::TableOutOfBounds))?;
                elements[range].copy_from_slice(&items);
            }
            ElementMode::Declared => instance.elements[segment_index].clear(),
            ElementMode::Passive => {}
        }
    }
    // The first memory's image, when the module has one, replaces its active segments.
    // SAFETY: the descriptor's image is the module's read-only data.
    let image = unsafe { module.0.descriptor.memory_image() };
    let image_applied = match metadata.memory_image_offset {
        Some(offset) if !image.is_empty() => {
            let definition = instance.memory_definition(0);
            // SAFETY: the definition is live.
            let length = unsafe { (*definition).current_length };
            // The compiler makes an image only within the memory's initial size; a
            // corrupt object must not write past it.
            let range = crate::table::range(offset, image.len() as u64, length)
                .ok_or_else(|| InstantiateError::Host("memory image out of bounds".into()))?;
            // SAFETY: the compiler makes an image only for a memory the module defines, so
            // these are fresh zeroed accessible pages of it, in bounds (checked above).
            unsafe { crate::memory_image::apply((*definition).base.add(range.start), image) }
                .map_err(|error| InstantiateError::Host(error.to_string()))?;
            true
        }
        _ => false,
    };
    for (segment_index, segment) in metadata.data.iter().enumerate() {
        if let DataMode::Active { memory, offset } = &segment.mode {
            if image_applied && *memory == 0 {
                instance.data_dropped[segment_index] = true;
                continue;
            }
            let offset = evaluate(store, instance, offset).map_err(InstantiateError::Host)?;
            let definition = instance.memory_definition(*memory);
            // SAFETY: the definition is live and describes accessible memory.
            unsafe {
                let length = (*definition).current_length;
                let range =
                    crate::table::range(as_index(offset), segment.bytes.len() as u64, length)
                        .ok_or_else(|| trap(TrapCode::MemoryOutOfBounds))?;
                std::ptr::copy_nonoverlapping(
                    segment.bytes.as_ptr(),
                    (*definition).base.add(range.start),
                    segment.bytes.len(),
                );
            }
            instance.data_dropped[segment_index] = true;
        }
    }

    let handle = Instance {
        store: store.id,
        index: instance_index,
    };
    if let Some(start) = metadata.start {
        let func = instance.funcs[start as usize];
        // SAFETY: `store` and `instance` are not used again; the call re-borrows the store.
        unsafe { crate::func::call_raw(store_ptr, func, &[]) }?;
    }
    Ok(handle)
}

/// A constant expression's result used as an offset.
fn as_index(value: Val) -> u64 {
    match value {
        Val::I32(v) => u64::from(v as u32),
        Val::I64(v) => v as u64,
        _ => u64::MAX,
    }
}

/// Evaluates a constant expression in the context of a (partly built) instance.
pub(crate) fn evaluate(
    store: &mut StoreInner,
    instance: &InstanceData,
    expression: &[ConstOp],
) -> Result<Val, String> {
    let mut stack: Vec<Val> = Vec::with_capacity(4);
    let malformed = || "malformed constant expression".to_string();
    for op in expression {
        let value = match *op {
            ConstOp::I32Const(v) => Val::I32(v),
            ConstOp::I64Const(v) => Val::I64(v),
            ConstOp::F32Const(v) => Val::F32(v),
            ConstOp::F64Const(v) => Val::F64(v),
            ConstOp::V128Const(v) => Val::V128(v),
            ConstOp::RefNull => Val::ExternRef(None),
            ConstOp::RefFunc(index) => Val::FuncRef(Some(
                *instance.funcs.get(index as usize).ok_or_else(malformed)?,
            )),
            ConstOp::GlobalGet(index) => {
                let store_index = *instance.globals.get(index as usize).ok_or_else(malformed)?;
                crate::externals::read_global(store, store_index)
            }
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (Some(Val::I32(b)), Some(Val::I32(a))) = (stack.pop(), stack.pop()) else {
                    return Err(malformed());
                };
                Val::I32(match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (Some(Val::I64(b)), Some(Val::I64(a))) = (stack.pop(), stack.pop()) else {
                    return Err(malformed());
                };
                Val::I64(match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
        };
        stack.push(value);
    }
    match (stack.pop(), stack.is_empty()) {
        (Some(value), true) => Ok(value),
        _ => Err(malformed()),
    }
}
