//! The VM side of a store: the one heap allocation (`VMStore`) that holds every function,
//! memory, table and global, by index, and the limits compiled code reads. (The instances'
//! contexts and the host functions' contexts, which point back here, are owned beside it by
//! the API's `Store`, so this file depends on neither.)
//!
//! It lives at a stable address: instances and host functions point back to it
//! (`InstanceData::store`, `HostFuncData`) so that builtins and host functions called by
//! compiled code can find it. While compiled code runs, the host holds only raw pointers
//! to it; builtins and host functions borrow it for the duration of their call.
//!
//! Structures compiled code points into live in their own allocations, never inside a
//! `Vec` that may reallocate: contexts, host function contexts, and the
//! `VMMemoryDefinition`, `VMTableDefinition` and `VMGlobal` of entities created outside an
//! instance ([`Storage::Owned`]).

use super::interrupt::InterruptState;
use super::memory::LinearMemory;
use super::module::trampolines;
use super::table::TableStorage;
use super::HashMap;
use crate::HostError;
use kiln_abi::metadata::{FuncType, GlobalType, ValType};
use kiln_abi::vmctx::{
    VMExceptionHeader, VMFuncRef, VMGlobal, VMLimits, VMMemoryDefinition, VMTableDefinition, VMTag,
    ValRaw, EXCEPTION_ESCAPED,
};
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The most frames recorded of where an exception was thrown (as for traps).
pub const MAX_THROW_FRAMES: usize = 64;

/// Default of the wasm stack limit (`Store::set_max_wasm_stack`): 1 MiB.
pub const DEFAULT_MAX_WASM_STACK: usize = 1 << 20;

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// Caps on what the guests of a store may allocate (`Store::set_resource_limits`; the
/// `--max-memory` and `--max-table-elements` flags). Beyond them `memory.grow` and
/// `table.grow` return -1, as the spec allows any grow to fail, and an instance whose
/// memory or table starts larger fails to instantiate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceLimits {
    /// The most bytes any one memory may have.
    pub max_memory_bytes: Option<u64>,
    /// The most elements any one table may have.
    pub max_table_elements: Option<u64>,
}

/// A heap value owned through a raw pointer, so that pointers into it stay valid no matter
/// how its owner is borrowed or moved.
pub(crate) struct OwnedPtr<T>(NonNull<T>);

impl<T> OwnedPtr<T> {
    pub fn new(value: T) -> OwnedPtr<T> {
        OwnedPtr(NonNull::from(Box::leak(Box::new(value))))
    }

    pub fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> Drop for OwnedPtr<T> {
    fn drop(&mut self) {
        // SAFETY: made by `Box::leak` in `new` and freed only here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// Where a definition that compiled code reads lives: inside an instance's context (which
/// owns it), or in an allocation of its own, for entities the host created.
pub(crate) enum Storage<T> {
    InContext(*mut T),
    Owned(OwnedPtr<T>),
}

impl<T> Storage<T> {
    pub fn as_ptr(&self) -> *mut T {
        match self {
            Storage::InContext(pointer) => *pointer,
            Storage::Owned(owned) => owned.as_ptr(),
        }
    }
}

/// The store's state. See the module documentation for the aliasing discipline.
pub(crate) struct VMStore {
    /// Tags the store's handles.
    pub id: u64,
    /// Read by every function prologue through `vmctx.limits`.
    pub limits: UnsafeCell<VMLimits>,
    /// How much stack wasm may use below the outermost call into it.
    pub max_wasm_stack: usize,
    /// What guests may allocate.
    pub resource_limits: ResourceLimits,
    /// The epoch counter `limits.epoch` points to, and the time limit.
    pub interrupt: Arc<InterruptState>,
    /// Whether the store meters fuel (`Store::set_fuel`): then every module instantiated
    /// in it must be compiled with fuel metering.
    pub fuel_metered: bool,
    /// Whether the store has a time limit: then every module must check for interruption.
    pub time_limited: bool,
    pub funcs: Vec<FuncData>,
    pub memories: Vec<MemoryData>,
    pub tables: Vec<TableData>,
    pub globals: Vec<GlobalData>,
    pub tags: Vec<TagData>,
    /// The live exception objects of the store (what `exnref`s point to), by address:
    /// owned here until released (`release_exception`: caught without a reference and
    /// never made an `exnref`), else until the store is dropped, as nothing tracks which
    /// `exnref`s wasm still holds.
    pub exceptions: HashMap<usize, Box<[ValRaw]>>,
    /// Released exception objects, whose memory the next exceptions of their size reuse.
    pub free_exceptions: Vec<Box<[ValRaw]>>,
    /// The last exception (its address) that reached the host; taken when its
    /// `UncaughtException` trap reaches the call that entered wasm.
    pub pending_exception: Option<usize>,
    /// Where the last exception thrown for the first time was thrown: its address and the
    /// return addresses of the wasm frames then on the stack, innermost first (at most
    /// [`MAX_THROW_FRAMES`]), and whether more followed. An uncaught exception reports
    /// this backtrace, not the one of the handler that threw it on last.
    pub throw_origin: (usize, Vec<usize>, bool),
    /// Every `VMFuncRef` address that compiled code may hand back (a function's own, and
    /// the copies in importing contexts), to the index of the function it stands for.
    pub func_by_ref: FuncRefIndex,
    /// Why the last host function that returned an error did so; taken when the
    /// resulting `HostUnwind` trap reaches the call that entered wasm.
    pub pending_host_error: Option<HostError>,
}

/// A tag in a store: its identity is the address of its `VMTag`.
pub(crate) struct TagData {
    /// The payload's types, as a function type's parameters.
    pub ty: FuncType,
    /// What instances' `vmctx.tags` point to.
    pub vmtag: OwnedPtr<VMTag>,
    /// How an uncaught exception names it: the module's name for it, or its export name,
    /// or its index.
    pub name: String,
}

/// A function in a store.
pub(crate) struct FuncData {
    pub ty: FuncType,
    pub type_id: u32,
    /// The function's own `VMFuncRef` (in its instance's context, or in its host data).
    pub func_ref: *mut VMFuncRef,
    pub kind: FuncKind,
    /// Whether a call to it may throw an exception into its wasm caller: never for a host
    /// function (an exception does not cross a host frame), as its module's metadata says
    /// for a wasm function (`ModuleMetadata::may_throw`).
    pub may_throw: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FuncKind {
    /// Defined by an instance.
    Wasm,
    /// Defined by the host: its `VMFuncRef`'s `array_call` runs it with its `vmctx`.
    Host,
}

/// A memory in a store.
pub(crate) struct MemoryData {
    pub memory: LinearMemory,
    /// Where compiled code sees its base and length.
    pub definition: Storage<VMMemoryDefinition>,
}

impl MemoryData {
    pub fn new(memory: LinearMemory, definition: Storage<VMMemoryDefinition>) -> MemoryData {
        let mut data = MemoryData { memory, definition };
        data.sync();
        data
    }

    /// Publishes the memory's current base and length to compiled code.
    pub fn sync(&mut self) {
        // SAFETY: the definition is live storage owned by this store or its instance.
        unsafe {
            let definition = self.definition.as_ptr();
            (*definition).base = self.memory.base();
            (*definition).current_length = self.memory.len();
        }
    }
}

/// A table in a store.
pub(crate) struct TableData {
    pub storage: TableStorage,
    /// Where compiled code sees its base and length.
    pub definition: Storage<VMTableDefinition>,
}

impl TableData {
    pub fn new(storage: TableStorage, definition: Storage<VMTableDefinition>) -> TableData {
        let mut data = TableData {
            storage,
            definition,
        };
        data.sync();
        data
    }

    /// Publishes the table's current base and length to compiled code.
    pub fn sync(&mut self) {
        // SAFETY: the definition is live storage owned by this store or its instance.
        unsafe {
            let definition = self.definition.as_ptr();
            (*definition).base = self.storage.base();
            (*definition).current_elements = self.storage.elements().len();
        }
    }
}

/// A global in a store.
pub(crate) struct GlobalData {
    pub ty: GlobalType,
    /// The value's storage.
    pub definition: Storage<VMGlobal>,
}

impl GlobalData {
    /// The value's raw bits.
    pub fn get(&self) -> ValRaw {
        // SAFETY: the definition is live storage owned by this store or its instance.
        ValRaw(unsafe { (*self.definition.as_ptr()).0 })
    }

    /// Sets the value's raw bits.
    pub fn set(&mut self, value: ValRaw) {
        // SAFETY: as in `get`.
        unsafe { (*self.definition.as_ptr()).0 = value.0 };
    }
}

impl VMStore {
    pub fn new() -> VMStore {
        let interrupt = Arc::new(InterruptState::default());
        VMStore {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            limits: UnsafeCell::new(VMLimits {
                epoch: interrupt.epoch_address(),
                ..VMLimits::default()
            }),
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            resource_limits: ResourceLimits::default(),
            interrupt,
            fuel_metered: false,
            time_limited: false,
            funcs: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            tags: Vec::new(),
            exceptions: HashMap::default(),
            free_exceptions: Vec::new(),
            pending_exception: None,
            throw_origin: (0, Vec::new(), false),
            func_by_ref: FuncRefIndex::default(),
            pending_host_error: None,
        }
    }

    /// Adds a memory; returns its index.
    pub fn push_memory(&mut self, data: MemoryData) -> u32 {
        self.memories.push(data);
        self.memories.len() as u32 - 1
    }

    /// Adds a table; returns its index.
    pub fn push_table(&mut self, data: TableData) -> u32 {
        self.tables.push(data);
        self.tables.len() as u32 - 1
    }

    /// Adds a global; returns its index.
    pub fn push_global(&mut self, data: GlobalData) -> u32 {
        self.globals.push(data);
        self.globals.len() as u32 - 1
    }

    /// Adds a tag of type `ty` named `name`; returns its index.
    pub fn push_tag(&mut self, ty: FuncType, name: String) -> u32 {
        let index = self.tags.len() as u32;
        let vmtag = OwnedPtr::new(VMTag {
            store_index: index,
            _pad: 0,
        });
        self.tags.push(TagData { ty, vmtag, name });
        index
    }

    /// A new exception object of tag `tag` (store index) with room for its payload, owned
    /// by the store; returns its address (an `exnref`).
    pub fn new_exception(&mut self, tag: u32) -> usize {
        let data = &self.tags[tag as usize];
        let n_values = data.ty.params.len();
        // One `ValRaw` (16 bytes, 16-aligned) holds the header, the payload follows.
        let reused = self
            .free_exceptions
            .iter()
            .position(|object| object.len() == 1 + n_values)
            .map(|index| self.free_exceptions.swap_remove(index));
        let mut object =
            reused.unwrap_or_else(|| vec![ValRaw::default(); 1 + n_values].into_boxed_slice());
        let header = object.as_mut_ptr().cast::<VMExceptionHeader>();
        // SAFETY: the first slot is 16 bytes, aligned to 16, as the header needs.
        unsafe {
            header.write(VMExceptionHeader {
                tag: data.vmtag.as_ptr(),
                n_values: n_values as u32,
                flags: 0,
            });
        }
        let address = object.as_ptr() as usize;
        self.exceptions.insert(address, object);
        address
    }

    /// Most released exception objects kept for reuse.
    const FREE_EXCEPTIONS: usize = 16;

    /// Releases the exception object that compiled code last caught without a reference
    /// (`VMLimits::caught_exception`), unless an `exnref` of it was made since
    /// (`EXCEPTION_ESCAPED`). Its memory serves a later exception of the same size.
    pub fn release_caught_exception(&mut self) {
        let address = std::mem::take(&mut self.limits.get_mut().caught_exception);
        if address != 0 {
            self.release_exception(address);
        }
    }

    fn release_exception(&mut self, address: usize) {
        let Some(object) = self.exceptions.get(&address) else {
            return;
        };
        // SAFETY: a live exception object of this store starts with its header.
        let flags = unsafe { (*object.as_ptr().cast::<VMExceptionHeader>()).flags };
        if flags & EXCEPTION_ESCAPED != 0 {
            return;
        }
        if self.pending_exception == Some(address) {
            return;
        }
        let object = self.exceptions.remove(&address).expect("looked up above");
        if self.free_exceptions.len() < Self::FREE_EXCEPTIONS {
            self.free_exceptions.push(object);
        }
    }

    /// The store index of the tag of the exception object at `address`.
    ///
    /// # Safety
    /// `address` must be an exception object of this store (made by `new_exception`).
    pub unsafe fn exception_tag(&self, address: usize) -> u32 {
        // SAFETY: the caller's contract: a live exception object whose tag is a `VMTag`
        // of this store.
        unsafe { (*(*(address as *const VMExceptionHeader)).tag).store_index }
    }

    /// Adds a function whose own `VMFuncRef` is `func_ref`; returns its index.
    pub fn push_func(&mut self, data: FuncData) -> u32 {
        let index = self.push_func_unindexed(data);
        self.func_by_ref
            .insert(self.funcs[index as usize].func_ref as usize, index);
        index
    }

    /// Adds a function like [`VMStore::push_func`] but leaves its `VMFuncRef` out of
    /// [`VMStore::func_by_ref`], for the caller to record with the others of its run.
    pub fn push_func_unindexed(&mut self, data: FuncData) -> u32 {
        let index = self.funcs.len() as u32;
        self.funcs.push(data);
        index
    }

    /// The address compiled code uses for function `index`: its `VMFuncRef`. A host
    /// function made before any module of its type was registered gets its `wasm_call`
    /// (an exit trampoline of its type) here, once one is.
    pub fn func_ref_address(&mut self, index: u32) -> usize {
        let data = &self.funcs[index as usize];
        if data.kind == FuncKind::Host {
            fill_exit_trampoline(data);
        }
        data.func_ref as usize
    }

    /// Gives every host function that lacks one its `wasm_call`, if a module of its type
    /// is registered by now, so that it can be called through tables.
    pub fn fill_exit_trampolines(&mut self) {
        for data in &self.funcs {
            if data.kind == FuncKind::Host {
                fill_exit_trampoline(data);
            }
        }
    }

    /// The function a `VMFuncRef` address (a table element or `funcref` value) stands for.
    pub fn func_of_ref(&self, address: usize) -> Option<u32> {
        self.func_by_ref.get(address)
    }

    /// The fuel left: what `VMLimits::fuel` holds, never below zero.
    pub fn fuel(&self) -> u64 {
        // SAFETY: no compiled code runs while the store is borrowed.
        let fuel = unsafe { (*self.limits.get()).fuel };
        fuel.max(0) as u64
    }

    /// Sets the fuel left (at most `i64::MAX`) and makes the store meter fuel.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel_metered = true;
        self.limits.get_mut().fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
    }

    /// Grows memory `index`, publishing the new length to compiled code.
    pub fn grow_memory(&mut self, index: u32, delta: u64) -> Option<u64> {
        let data = self.memories.get_mut(index as usize)?;
        if let Some(max) = self.resource_limits.max_memory_bytes {
            let pages = data.memory.pages().checked_add(delta)?;
            if pages.checked_mul(kiln_abi::WASM_PAGE_SIZE)? > max {
                return None;
            }
        }
        let old = data.memory.grow(delta)?;
        data.sync();
        Some(old)
    }

    /// Grows table `index`, publishing the new base and length to compiled code.
    pub fn grow_table(&mut self, index: u32, delta: u64, init: usize) -> Option<u64> {
        let data = self.tables.get_mut(index as usize)?;
        if let Some(max) = self.resource_limits.max_table_elements {
            let elements = (data.storage.elements().len() as u64).checked_add(delta)?;
            if elements > max {
                return None;
            }
        }
        let old = data.storage.grow(delta, init)?;
        data.sync();
        Some(old)
    }

    /// The raw value of global `index`, normalised for its type (an `i32` has zero upper
    /// bits whatever compiled code stored above them).
    pub fn global_value(&self, index: u32) -> ValRaw {
        let data = &self.globals[index as usize];
        let raw = data.get();
        match data.ty.ty {
            ValType::I32 | ValType::F32 => ValRaw::from_u64(u64::from(raw.u32())),
            _ => raw,
        }
    }
}

/// Sets a host function's `wasm_call` to an exit trampoline of its type when it has none
/// yet and a registered module has one.
fn fill_exit_trampoline(data: &FuncData) {
    // SAFETY: a host function's ref lives in its host data, owned by the store.
    unsafe {
        if (*data.func_ref).wasm_call.is_null() {
            if let Some(trampolines) = trampolines(data.type_id) {
                (*data.func_ref).wasm_call = trampolines.exit as *const u8;
            }
        }
    }
}

/// `VMFuncRef` addresses and the functions they stand for ([`VMStore::func_by_ref`]),
/// sorted by address; a lookup is a binary search. Smaller than a hash map in every
/// executable, which has no other use for one's code. An instance's slots come in one
/// run ([`FuncRefIndex::extend`]) that goes in whole with one move of what lies above it,
/// so that a store of many instances whose contexts the allocator places at falling
/// addresses costs linear time per instance, not a move of the whole index per slot.
#[derive(Default)]
pub struct FuncRefIndex(Vec<(usize, u32)>);

impl FuncRefIndex {
    /// Records that `address` stands for function `index`.
    pub fn insert(&mut self, address: usize, index: u32) {
        self.extend(address, &[index]);
    }

    /// Records that the `VMFuncRef` at `first + i * size_of::<VMFuncRef>()` stands for
    /// function `indices[i]`, for each `i`. The run goes in whole at its place: what was
    /// recorded inside its address range before (slots of memory freed and allocated
    /// again) is replaced.
    pub fn extend(&mut self, first: usize, indices: &[u32]) {
        const STRIDE: usize = size_of::<VMFuncRef>();
        let end_address = first + indices.len() * STRIDE;
        let start = self.0.partition_point(|&(address, _)| address < first);
        let end = self
            .0
            .partition_point(|&(address, _)| address < end_address);
        let old_len = self.0.len();
        let new_len = old_len - (end - start) + indices.len();
        if new_len > old_len {
            self.0.resize(new_len, (0, 0));
        }
        self.0.copy_within(end..old_len, start + indices.len());
        self.0.truncate(new_len);
        for (i, &index) in indices.iter().enumerate() {
            self.0[start + i] = (first + i * STRIDE, index);
        }
    }

    /// The function `address` stands for.
    pub fn get(&self, address: usize) -> Option<u32> {
        let position = self
            .0
            .binary_search_by_key(&address, |&(key, _)| key)
            .ok()?;
        Some(self.0[position].1)
    }
}

#[cfg(test)]
mod tests {
    use super::FuncRefIndex;

    /// Records `n` slots 32 bytes apart from `base`, standing for `first..first + n`.
    fn run(index: &mut FuncRefIndex, base: usize, first: u32, n: u32) {
        index.extend(base, &(first..first + n).collect::<Vec<_>>());
    }

    #[test]
    fn runs_above_below_and_between_others_are_all_found() {
        let mut index = FuncRefIndex::default();
        run(&mut index, 10_000, 0, 4); // appended
        run(&mut index, 1_000, 4, 4); // below everything
        run(&mut index, 5_000, 8, 4); // between the two
        run(&mut index, 20_000, 12, 4); // appended again
        index.insert(6_000, 99); // a single one between two runs
        assert!(index.0.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(index.0.len(), 17);
        for (base, first) in [(10_000, 0), (1_000, 4), (5_000, 8), (20_000, 12)] {
            for i in 0..4 {
                assert_eq!(index.get(base + 32 * i as usize), Some(first + i));
            }
        }
        assert_eq!(index.get(6_000), Some(99));
        assert_eq!(index.get(5_001), None);
        assert_eq!(index.get(0), None);
    }

    #[test]
    fn an_address_recorded_again_stands_for_its_new_function() {
        let mut index = FuncRefIndex::default();
        run(&mut index, 1_000, 0, 8);
        run(&mut index, 1_064, 50, 3); // slots 2, 3 and 4 again
        index.insert(1_000, 70);
        assert_eq!(index.0.len(), 8);
        let found: Vec<_> = (0..8).map(|i| index.get(1_000 + 32 * i)).collect();
        let expected = [70, 1, 50, 51, 52, 5, 6, 7].map(Some);
        assert_eq!(found, expected);
    }

    #[test]
    fn a_run_over_memory_recorded_before_replaces_what_was_there() {
        let mut index = FuncRefIndex::default();
        run(&mut index, 1_000, 0, 2); // 1000, 1032
        run(&mut index, 1_100, 2, 2); // 1100, 1132
        run(&mut index, 2_000, 4, 1);
        run(&mut index, 990, 10, 6); // 990 ..= 1150, over both runs above
        assert_eq!(index.0.len(), 7);
        assert!(index.0.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(index.get(1_000), None);
        assert_eq!(index.get(1_100), None);
        assert_eq!(index.get(990 + 32 * 5), Some(15));
        assert_eq!(index.get(2_000), Some(4));
    }

    #[test]
    fn contexts_at_falling_addresses_keep_the_index_sorted() {
        // The allocator's worst case for the old per-slot insertion: each instance's
        // context below the previous one's.
        let mut index = FuncRefIndex::default();
        for instance in 0..100u32 {
            let base = 10_000_000 - instance as usize * 100_000;
            run(&mut index, base, instance * 1_000, 1_000);
        }
        assert_eq!(index.0.len(), 100_000);
        assert!(index.0.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(
            index.get(10_000_000 - 99 * 100_000 + 32 * 999),
            Some(99_999)
        );
    }
}
