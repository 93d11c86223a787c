//! Compiled modules: a [`Module`] wraps a relocated `ModuleDescriptor` (linked into the
//! executable or mapped by the loader), its decoded metadata and the canonical ids of its
//! function types. Creating one checks the descriptor and registers the code with the trap
//! handler's registry; the code then stays for the life of the process (see `code.rs`).
//!
//! Function types are interned process-wide: two structurally equal `FuncType`s get the
//! same `u32` id in every module, which is what `call_indirect` compares. For each id the
//! first registered module's entry and exit trampolines are remembered, so that host
//! functions can get a `wasm_call` of their type and any wasm function can be called.

use super::code::{self, CodeKind, CodeModule, CodeRange};
#[cfg(not(feature = "exe-main"))]
use super::HashMap;
use crate::Error;
use kiln_abi::descriptor::{ModuleDescriptor, DESCRIPTOR_MAGIC};
use kiln_abi::metadata::{
    FuncType, HeapType, ImportType, ModuleMetadata, RefType, Subtyping, ValType,
};
use kiln_abi::trap::CodeTables;
use kiln_abi::ABI_VERSION;
#[cfg(not(feature = "exe-main"))]
use std::sync::LazyLock;
use std::sync::{Arc, Mutex};

/// The link-time ABI-version marker (`kiln_abi::symbols::abi_version_symbol`): the bindings
/// and C headers that kiln-build generates for an object reference
/// `kiln_abi_version_<N>` for the ABI version `N` the object was compiled with, so linking
/// it with a runtime of another version fails with an undefined symbol that names `N`;
/// [`Module::from_descriptor`] then checks the version again at load time.
#[used]
#[export_name = "kiln_abi_version_18"]
pub static KILN_ABI_VERSION_MARKER: u32 = ABI_VERSION;

// The marker's name above must spell the current version.
const _: () = assert!(
    ABI_VERSION == 18,
    "rename KILN_ABI_VERSION_MARKER's export_name to kiln_abi_version_<ABI_VERSION>"
);

/// A compiled module, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct Module(pub(crate) Arc<ModuleInner>);

pub(crate) struct ModuleInner {
    /// The descriptor, relocated.
    pub descriptor: &'static ModuleDescriptor,
    /// Its decoded metadata (leaked: modules are never unloaded).
    pub metadata: &'static ModuleMetadata<'static>,
    /// Canonical id of every type, by type index.
    pub type_ids: Box<[u32]>,
    /// Number of imported functions.
    pub n_imported_functions: u32,
    /// The module's entry in the code registry.
    pub code: &'static CodeModule,
}

// SAFETY: everything a module holds is immutable after creation: the descriptor and the
// code it points to are never written, and the metadata is read-only. (The profile counters
// the descriptor points to are written by compiled code only, and read as plain words.)
unsafe impl Send for ModuleInner {}
// SAFETY: as above.
unsafe impl Sync for ModuleInner {}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// Modules created so far, by descriptor address, so that a descriptor registers once.
#[cfg(not(feature = "exe-main"))]
static MODULES: LazyLock<Mutex<HashMap<usize, Module>>> = LazyLock::new(Default::default);

/// Modules created so far, by descriptor address, so that a descriptor registers once: in
/// an executable one module, or a component's few, which a vector holds without a hash
/// table's code.
#[cfg(feature = "exe-main")]
static MODULES: Mutex<ModuleList> = Mutex::new(ModuleList(Vec::new()));

/// The modules of an executable, by descriptor address ([`MODULES`]).
#[cfg(feature = "exe-main")]
struct ModuleList(Vec<(usize, Module)>);

#[cfg(feature = "exe-main")]
impl ModuleList {
    fn get(&self, key: &usize) -> Option<&Module> {
        self.0
            .iter()
            .find(|(address, _)| address == key)
            .map(|(_, module)| module)
    }

    fn insert(&mut self, key: usize, module: Module) {
        self.0.push((key, module));
    }
}

impl Module {
    /// Wraps a compiled module's descriptor: checks its magic and ABI version, decodes its
    /// metadata and registers its code for trap handling.
    ///
    /// # Safety
    /// `descriptor` must be a kiln module descriptor whose pointers have been relocated
    /// (by the system linker or `load_object` (feature `loader`)), pointing to code that is mapped
    /// executable and stays mapped for the life of the process.
    pub unsafe fn from_descriptor(descriptor: &'static ModuleDescriptor) -> Result<Module, Error> {
        let key = descriptor as *const ModuleDescriptor as usize;
        let mut modules = MODULES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(module) = modules.get(&key) {
            return Ok(module.clone());
        }
        if descriptor.magic != DESCRIPTOR_MAGIC {
            return Err(Error::new("not a kiln module: bad descriptor magic"));
        }
        if descriptor.abi_version != ABI_VERSION {
            return Err(Error::new(format!(
                "object built for kiln ABI version {}, this runtime has version {ABI_VERSION}",
                descriptor.abi_version
            )));
        }
        // SAFETY: the magic and version match, and the caller guarantees relocation.
        let bytes = unsafe { descriptor.metadata_bytes() };
        let metadata =
            ModuleMetadata::decode_boxed(bytes).map_err(|error| Error::new(error.to_string()))?;
        // Kept for the process's life from here, also when the module is refused below
        // (as after `validate`): dropping it on that path was a copy of its drop glue.
        let metadata: &'static ModuleMetadata<'static> = Box::leak(metadata);
        let missing = super::cpu::missing_features(&metadata.cpu_features);
        if !missing.is_empty() {
            return Err(Error::new(format!(
                "the code was compiled for CPU features this machine lacks: {missing} \
                 (compile without --target-features, or with the features of the machine it \
                 runs on)"
            )));
        }
        let n_imported_functions = validate(descriptor, metadata)?;

        // SAFETY: as above; `validate` checked the counts.
        let (entries, stored) = unsafe { (descriptor.code_entries(), descriptor.code_tables()) };
        // Tables that do not unpack are none: the first entry finds none and fails.
        let tables = code_tables(stored).unwrap_or_default();
        let n_functions = descriptor.n_functions as usize;
        let n_types = descriptor.n_types as usize;
        // Each code entry's tables follow the previous entry's, also for entries without
        // code (whose tables are empty). The tables' entries are decoded with bounds checks
        // when they are read; their lengths are checked here.
        let mut rest = tables;
        let mut ranges = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let code_tables = CodeTables::decode(&mut rest).ok_or_else(|| {
                Error::new("corrupt kiln module: code tables corrupt or out of range")
            })?;
            // Shared code is registered as the earlier entry's, with its tables.
            if entry.code_len == 0 || entry.shares_code() {
                continue;
            }
            let kind = if index < n_functions {
                CodeKind::Function(index as u32)
            } else if index < n_functions + n_types {
                CodeKind::EntryTrampoline
            } else {
                CodeKind::ExitTrampoline
            };
            ranges.push(CodeRange {
                start: descriptor.code_address(entry) as usize,
                len: entry.code_len as usize,
                traps: code_tables.traps,
                calls: code_tables.calls,
                kind,
            });
        }
        let code_module = CodeModule::new(
            ranges,
            metadata.name,
            n_imported_functions,
            metadata.function_names,
        )
        .ok_or_else(|| Error::new("corrupt kiln module: code entries overlap"))?;
        let code = code::register(code_module);

        let type_ids = intern_module_types(&metadata.types, &metadata.subtyping)?;
        let mut trampolines = TRAMPOLINES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (type_index, &type_id) in type_ids.iter().enumerate() {
            // SAFETY: `type_index < n_types` (validated).
            let (entry, exit) = unsafe {
                (
                    descriptor.entry_trampoline(type_index as u32) as usize,
                    descriptor.exit_trampoline(type_index as u32) as usize,
                )
            };
            let slot = type_id as usize;
            if trampolines.len() <= slot {
                trampolines.resize(slot + 1, None);
            }
            trampolines[slot].get_or_insert(Trampolines { entry, exit });
        }
        drop(trampolines);

        let module = Module(Arc::new(ModuleInner {
            descriptor,
            metadata,
            type_ids,
            n_imported_functions,
            code,
        }));
        // Executables need no map: their symbol table names the functions for `perf`.
        #[cfg(not(feature = "exe-main"))]
        if std::env::var_os("KILN_PERF_MAP").is_some_and(|value| value == "1") {
            write_perf_map(&module);
        }
        modules.insert(key, module.clone());
        Ok(module)
    }

    /// The module's metadata.
    pub fn metadata(&self) -> &ModuleMetadata<'static> {
        self.0.metadata
    }

    /// The module's name, from its name section.
    pub fn name(&self) -> Option<&str> {
        self.0.metadata.name
    }

    /// Reads the first `max_bytes` of the module's code into the CPU caches, in layout
    /// order (see `CodeModule::warm`).
    #[cfg(feature = "exe-main")]
    pub(crate) fn warm_code(&self, max_bytes: usize) {
        self.0.code.warm(max_bytes);
    }

    /// The entry counts of code compiled to count (`--profile-generate`), by defined
    /// function; empty when it does not count.
    pub(crate) fn profile_counts(&self) -> Vec<u64> {
        // SAFETY: validated descriptor (`profile_len` checked against the functions).
        unsafe { self.0.descriptor.profile_counts() }
    }

    /// Exit trampoline of type `type_index`.
    /// Value type `ty` of this module's metadata in canonical form: its concrete reference
    /// (a type index of this module) becomes the type's id. An index out of range (a
    /// corrupt module) becomes an id no type has.
    pub(crate) fn canonical_val_type(&self, ty: ValType) -> ValType {
        map_val_type(ty, |index| {
            self.0
                .type_ids
                .get(index as usize)
                .copied()
                .unwrap_or(SELF_REFERENCE)
        })
    }

    /// Type `type_index` of this module, in canonical form.
    pub(crate) fn canonical_func_type(&self, type_index: u32) -> FuncType {
        canonical_type(self.0.type_ids[type_index as usize])
    }

    pub(crate) fn exit_trampoline(&self, type_index: u32) -> *const u8 {
        // SAFETY: validated descriptor; callers pass type indices from the metadata.
        unsafe { self.0.descriptor.exit_trampoline(type_index) }
    }

    /// Code of defined function `defined_index`.
    pub(crate) fn function_code(&self, defined_index: u32) -> *const u8 {
        // SAFETY: validated descriptor; callers pass defined indices from the metadata.
        unsafe { self.0.descriptor.code(defined_index as usize) }
    }
}

/// Checks that the descriptor and metadata agree; returns the number of imported functions.
/// The code tables stored at `stored` (`kiln_abi::packed::Packed::write_standalone`): as
/// they are, or unpacked once (`vm/unpack.rs`); `None` when they do not unpack.
fn code_tables(stored: &'static [u8]) -> Option<&'static [u8]> {
    let packed = kiln_abi::packed::Packed::read_standalone(stored)?;
    match packed.as_plain() {
        Some(plain) => Some(plain),
        None => super::unpack::code_tables(&packed),
    }
}

fn validate(descriptor: &ModuleDescriptor, metadata: &ModuleMetadata<'_>) -> Result<u32, Error> {
    let corrupt = |what: &str| Error::new(format!("corrupt kiln module: {what}"));
    let n_imported = metadata
        .imports
        .iter()
        .filter(|import| matches!(import.ty, ImportType::Func(_)))
        .count();
    if metadata.types.len() != descriptor.n_types as usize
        || metadata.subtyping.len() != metadata.types.len()
    {
        return Err(corrupt(
            "type count differs between descriptor and metadata",
        ));
    }
    if metadata.functions.len() != n_imported + descriptor.n_functions as usize {
        return Err(corrupt(
            "function count differs between descriptor and metadata",
        ));
    }
    let counts = descriptor.profile_len != 0 || metadata.profile.is_some();
    if counts
        && (descriptor.profile.is_null()
            || descriptor.profile_len != descriptor.n_functions as usize
            || metadata.profile.is_none())
    {
        return Err(corrupt(
            "profile counters differ between descriptor and metadata",
        ));
    }
    if metadata.functions.iter().any(|&ty| ty as usize >= metadata.types.len())
        || metadata.imports.iter().any(|import| {
            matches!(import.ty, ImportType::Func(ty) if ty as usize >= metadata.types.len())
        })
    {
        return Err(corrupt("function type index out of range"));
    }
    if metadata.memories.len()
        < metadata.imported_count(kiln_abi::metadata::ExternKind::Memory) as usize
        || metadata.tables.len()
            < metadata.imported_count(kiln_abi::metadata::ExternKind::Table) as usize
    {
        return Err(corrupt("fewer memories or tables than imports"));
    }
    // SAFETY: the caller checked magic and version; pointers are relocated.
    let entries = unsafe { descriptor.code_entries() };
    for entry in entries {
        // Each entry's code tables are checked as they are decoded (`from_descriptor`),
        // and the ranges for overlap when they are registered.
        let end = (descriptor.code_base as usize)
            .checked_add(entry.code_offset as usize)
            .and_then(|start| start.checked_add(entry.length() as usize));
        if entry.code_len > 0 && (descriptor.code_base.is_null() || end.is_none()) {
            return Err(corrupt("code entry out of range"));
        }
    }
    Ok(n_imported as u32)
}

/// The process-wide registry of function types: canonical ids by structure, and each id's
/// canonical type and declared supertype. In a canonical type every `HeapType::Concrete`
/// holds a type id, not a module's type index, so structurally equal types of different
/// modules (whose indices differ) get one id; the key includes finality and the
/// supertype's id, which are part of a type's identity (Wasm 3.0 `sub`).
///
/// The ids by key are a small open-addressing hash set of its own (`keys`, `slots`)
/// rather than a `HashMap`: it only grows, and this was the last hash map every executable
/// carried, whose code (about 2 KB with the others') an executable then leaves out.
struct TypeRegistry {
    /// The key each id was interned under, by id.
    keys: Vec<(FuncType, Subtyping)>,
    /// Hash slots: 0 empty, else an id plus one; a power of two in length, at least twice
    /// as long as `keys` once anything is interned.
    slots: Vec<u32>,
    types: Vec<FuncType>,
    supertypes: Vec<Option<u32>>,
}

static TYPES: Mutex<TypeRegistry> = Mutex::new(TypeRegistry {
    keys: Vec::new(),
    slots: Vec::new(),
    types: Vec::new(),
    supertypes: Vec::new(),
});

/// The hash of a registry key, borrowed or owned (they hash alike).
fn slot_hash(key: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut hasher = super::FxHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

/// Stands for "the type itself" in a registry key while the type's id is not known yet
/// (Wasm 3.0 lets a type refer to itself). No id reaches it: ids are dense from 0.
const SELF_REFERENCE: u32 = u32::MAX;

fn registry() -> std::sync::MutexGuard<'static, TypeRegistry> {
    TYPES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TypeRegistry {
    /// The id of canonical type `key`, whose references to itself are `SELF_REFERENCE`,
    /// declared with `subtyping` (its supertype an id already).
    fn intern(&mut self, key: FuncType, subtyping: Subtyping) -> u32 {
        if let Some(id) = self.find(&key, subtyping) {
            return id;
        }
        let id = self.types.len() as u32;
        let canonical = map_concrete(
            &key,
            |index| {
                if index == SELF_REFERENCE {
                    id
                } else {
                    index
                }
            },
        );
        self.types.push(canonical);
        self.supertypes.push(subtyping.supertype);
        self.keys.push((key, subtyping));
        if self.slots.len() < 2 * self.keys.len() {
            self.rehash((2 * self.keys.len()).next_power_of_two().max(16));
        } else {
            let slot = self.free_slot(slot_hash(&self.keys[id as usize]));
            self.slots[slot] = id + 1;
        }
        id
    }

    /// The id interned for `key` with `subtyping`, if any.
    fn find(&self, key: &FuncType, subtyping: Subtyping) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = slot_hash(&(key, subtyping)) as usize & mask;
        loop {
            let id = self.slots[slot].checked_sub(1)?;
            let (interned, interned_subtyping) = &self.keys[id as usize];
            if interned == key && *interned_subtyping == subtyping {
                return Some(id);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The first empty slot from `hash` on (linear probing; the table is at most half
    /// full).
    fn free_slot(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut slot = hash as usize & mask;
        while self.slots[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        slot
    }

    /// Rebuilds the slots, `len` of them (a power of two), for every key.
    fn rehash(&mut self, len: usize) {
        self.slots = vec![0; len];
        for id in 0..self.keys.len() {
            let slot = self.free_slot(slot_hash(&self.keys[id]));
            self.slots[slot] = id as u32 + 1;
        }
    }

    /// Whether type `sub` is type `sup` or declares it among its supertypes.
    fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        let mut current = Some(sub);
        while let Some(id) = current {
            if id == sup {
                return true;
            }
            current = self.supertypes.get(id as usize).copied().flatten();
        }
        false
    }
}

/// `ty` with every `HeapType::Concrete(index)` replaced by `Concrete(f(index))`.
pub(crate) fn map_concrete(ty: &FuncType, f: impl Fn(u32) -> u32) -> FuncType {
    let map = |types: &[ValType]| types.iter().map(|t| map_val_type(*t, &f)).collect();
    FuncType {
        params: map(&ty.params),
        results: map(&ty.results),
    }
}

/// `ty` with a `HeapType::Concrete(index)` replaced by `Concrete(f(index))`.
pub(crate) fn map_val_type(ty: ValType, f: impl Fn(u32) -> u32) -> ValType {
    match ty {
        ValType::Ref(RefType {
            nullable,
            heap: HeapType::Concrete(index),
        }) => ValType::Ref(RefType {
            nullable,
            heap: HeapType::Concrete(f(index)),
        }),
        other => other,
    }
}

/// The process-wide id of a canonical function type (one whose concrete references are
/// type ids already: a host function's type).
pub(crate) fn intern_type(ty: &FuncType) -> u32 {
    registry().intern(ty.clone(), Subtyping::FINAL)
}

/// Whether a function of type `sub` may stand where one of type `sup` is expected: the
/// same type, or one that declares `sup` among its supertypes (both type ids).
pub(crate) fn is_subtype(sub: u32, sup: u32) -> bool {
    sub == sup || registry().is_subtype(sub, sup)
}

/// Whether a value of canonical type `sub` is one of canonical type `sup`: reference types
/// to function types by their declared supertypes, everything else as
/// [`ValType::is_subtype_of`] says.
pub(crate) fn is_val_subtype(sub: ValType, sup: ValType) -> bool {
    match (sub, sup) {
        (
            ValType::Ref(RefType {
                nullable: sub_nullable,
                heap: HeapType::Concrete(sub_id),
            }),
            ValType::Ref(RefType {
                nullable: sup_nullable,
                heap: HeapType::Concrete(sup_id),
            }),
        ) => (!sub_nullable || sup_nullable) && is_subtype(sub_id, sup_id),
        _ => sub.is_subtype_of(sup),
    }
}

/// The ids of a module's types, in order. A type may refer to earlier types and to
/// itself, and declare an earlier type as its supertype (each type is its own recursion
/// group: kiln refuses GC's groups of several types).
fn intern_module_types(types: &[FuncType], subtyping: &[Subtyping]) -> Result<Box<[u32]>, Error> {
    let mut registry = registry();
    let mut ids: Vec<u32> = Vec::with_capacity(types.len());
    let corrupt = |what: &str| Error::new(format!("corrupt kiln module: {what}"));
    for (index, ty) in types.iter().enumerate() {
        let bad = std::cell::Cell::new(false);
        let key = map_concrete(ty, |referenced| match referenced as usize {
            r if r < index => ids[r],
            r if r == index => SELF_REFERENCE,
            _ => {
                bad.set(true);
                SELF_REFERENCE
            }
        });
        if bad.get() {
            return Err(corrupt("a type refers to a later type"));
        }
        let declared = subtyping.get(index).copied().unwrap_or(Subtyping::FINAL);
        let supertype = match declared.supertype {
            None => None,
            Some(supertype) => Some(
                *ids.get(supertype as usize)
                    .ok_or_else(|| corrupt("a type's supertype is not an earlier type"))?,
            ),
        };
        ids.push(registry.intern(
            key,
            Subtyping {
                is_final: declared.is_final,
                supertype,
            },
        ));
    }
    Ok(ids.into_boxed_slice())
}

/// The canonical type of id `type_id` (from [`intern_type`] or a module's type ids).
pub(crate) fn canonical_type(type_id: u32) -> FuncType {
    registry().types[type_id as usize].clone()
}

/// A type's trampolines from the first registered module that has the type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Trampolines {
    /// Entry trampoline (`VMEntryTrampoline`).
    pub entry: usize,
    /// Exit trampoline (wasm_call of host functions).
    pub exit: usize,
}

/// Each canonical type's trampolines, indexed by its id (ids are dense from 0, see
/// `TypeRegistry`).
static TRAMPOLINES: Mutex<Vec<Option<Trampolines>>> = Mutex::new(Vec::new());

/// The trampolines of canonical type `type_id`, if a registered module has that type.
pub(crate) fn trampolines(type_id: u32) -> Option<Trampolines> {
    let trampolines = TRAMPOLINES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    trampolines.get(type_id as usize).copied().flatten()
}

/// Appends the module's functions to `/tmp/perf-<pid>.map` for `perf` (`KILN_PERF_MAP=1`;
/// not in executables, whose symbol table does that, and which would otherwise carry the
/// file-opening and formatting code behind it).
#[cfg(not(feature = "exe-main"))]
fn write_perf_map(module: &Module) {
    use std::io::Write;
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    // SAFETY: validated descriptor.
    let entries = unsafe { module.0.descriptor.code_entries() };
    let n_functions = module.0.descriptor.n_functions as usize;
    let n_types = module.0.descriptor.n_types as usize;
    let mut text = String::new();
    for (index, entry) in entries.iter().enumerate() {
        // A function left out as unused has no code; shared code is named once, as the
        // first function's (as in backtraces).
        if entry.code_len == 0 || entry.shares_code() {
            continue;
        }
        let name = if index < n_functions {
            let func_index = module.0.n_imported_functions + index as u32;
            let name = module.0.code.function_name(func_index);
            name.map_or_else(
                || format!("wasm_function_{func_index}"),
                |name| name.to_string(),
            )
        } else if index < n_functions + n_types {
            format!("kiln_entry_trampoline_{}", index - n_functions)
        } else {
            format!("kiln_exit_trampoline_{}", index - n_functions - n_types)
        };
        text.push_str(&format!(
            "{:x} {:x} {name}\n",
            module.0.descriptor.code_address(entry) as usize,
            entry.code_len
        ));
    }
    let _ = file.write_all(text.as_bytes());
}
