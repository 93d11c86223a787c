//! The store: owner of everything instances are made of (instances, functions, memories,
//! tables, globals) and of the limits compiled code reads. Public handles ([`Func`],
//! [`Memory`], ...) are indices into a store, tagged with the store's id so that using a
//! handle with the wrong store is caught.
//!
//! The store's state lives in one heap allocation (`StoreInner`) at a stable address:
//! instances point back to it (`InstanceData::store`) so builtins and host functions that
//! compiled code calls can find it. While compiled code runs, the host side holds only raw
//! pointers to it; builtins and host functions borrow it for the duration of their call.
//!
//! Structures compiled code points into live in their own allocations, never inside a
//! `Vec` that may reallocate: contexts, host function contexts, the `VMMemoryDefinition`,
//! `VMTableDefinition` and `VMGlobal` of host-created entities.

use crate::instance::InstanceData;
use crate::memory::LinearMemory;
use crate::table::TableStorage;
use crate::HostError;
use kiln_abi::metadata::{FuncType, GlobalType};
use kiln_abi::vmctx::{VMFuncRef, VMGlobal, VMLimits, VMMemoryDefinition, VMTableDefinition};
use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default of [`Store::set_max_wasm_stack`]: 1 MiB.
pub const DEFAULT_MAX_WASM_STACK: usize = 1 << 20;

/// Owns instances and everything they are made of. Single-threaded: not `Send`.
///
/// What makes it `!Send` is the host closures it may hold ([`Func::new_host`] does not
/// require `Send`) and its raw pointers, all into allocations the store owns. Nothing else
/// in a store is tied to the thread that created it: the trap state and the wasm stack
/// limit are per thread and set up for each call (`traps.rs`). So a store whose every
/// host function is `Send` may move to another thread; the bindings kiln-build generates
/// for modules without WASI imports rely on this.
pub struct Store {
    pub(crate) inner: Box<StoreInner>,
    _not_send: PhantomData<*mut ()>,
}

impl Default for Store {
    fn default() -> Store {
        Store::new()
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store {
            inner: Box::new(StoreInner {
                id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
                limits: UnsafeCell::new(VMLimits::default()),
                max_wasm_stack: DEFAULT_MAX_WASM_STACK,
                funcs: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                instances: Vec::new(),
                func_by_ref: HashMap::new(),
                pending_host_error: None,
            }),
            _not_send: PhantomData,
        }
    }

    /// Sets how much stack wasm may use below the point where the host calls it (the
    /// outermost call on a thread). Capped by what the thread's stack holds. Default 1 MiB.
    pub fn set_max_wasm_stack(&mut self, bytes: usize) {
        self.inner.max_wasm_stack = bytes;
    }

    /// The store's state as a raw pointer, for calls into compiled code.
    pub(crate) fn as_ptr(&mut self) -> *mut StoreInner {
        &mut *self.inner
    }
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

/// The store's state. See the module documentation for the aliasing discipline.
pub(crate) struct StoreInner {
    /// Tags this store's handles.
    pub id: u64,
    /// Read by every function prologue through `vmctx.limits`.
    pub limits: UnsafeCell<VMLimits>,
    /// See [`Store::set_max_wasm_stack`].
    pub max_wasm_stack: usize,
    pub funcs: Vec<FuncData>,
    pub memories: Vec<MemoryData>,
    pub tables: Vec<TableData>,
    pub globals: Vec<GlobalData>,
    pub instances: Vec<OwnedPtr<InstanceData>>,
    /// Every `VMFuncRef` address that compiled code may hand back (a function's own, and
    /// the copies in importing contexts), to the function it stands for.
    pub func_by_ref: HashMap<usize, Func>,
    /// Why the last host function that returned an error did so; taken when the
    /// resulting `HostUnwind` trap reaches the call that entered wasm.
    pub pending_host_error: Option<HostError>,
}

/// A function in a store.
pub(crate) struct FuncData {
    pub ty: FuncType,
    pub type_id: u32,
    /// The function's own `VMFuncRef` (in its instance's context, or in its host data).
    pub func_ref: *mut VMFuncRef,
    pub kind: FuncKind,
}

pub(crate) enum FuncKind {
    /// Defined by an instance.
    Wasm,
    /// Defined by the host.
    Host(OwnedPtr<crate::host::HostFuncData>),
}

/// A memory in a store.
pub(crate) struct MemoryData {
    pub memory: LinearMemory,
    /// Where compiled code sees it: in the defining context, or `owned_definition`.
    pub definition: *mut VMMemoryDefinition,
    pub _owned_definition: Option<OwnedPtr<VMMemoryDefinition>>,
}

impl MemoryData {
    /// Publishes the memory's current base and length to compiled code.
    pub fn sync(&mut self) {
        // SAFETY: `definition` points to live storage owned by this store.
        unsafe {
            (*self.definition).base = self.memory.base();
            (*self.definition).current_length = self.memory.len();
        }
    }
}

/// A table in a store.
pub(crate) struct TableData {
    pub storage: TableStorage,
    /// Where compiled code sees it: in the defining context, or `owned_definition`.
    pub definition: *mut VMTableDefinition,
    pub _owned_definition: Option<OwnedPtr<VMTableDefinition>>,
}

impl TableData {
    /// Publishes the table's current base and length to compiled code.
    pub fn sync(&mut self) {
        // SAFETY: `definition` points to live storage owned by this store.
        unsafe {
            (*self.definition).base = self.storage.base();
            (*self.definition).current_elements = self.storage.elements().len();
        }
    }
}

/// A global in a store.
pub(crate) struct GlobalData {
    pub ty: GlobalType,
    /// The value's storage: in the defining context, or `owned`.
    pub definition: *mut VMGlobal,
    pub _owned: Option<OwnedPtr<VMGlobal>>,
}

impl StoreInner {
    /// Panics when `handle_store` is not this store: a host programming error.
    pub fn check(&self, handle_store: u64) {
        assert_eq!(
            handle_store, self.id,
            "kiln: a handle was used with a store it does not belong to"
        );
    }
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            pub(crate) store: u64,
            pub(crate) index: u32,
        }
    };
}

handle!(
    /// A function (wasm or host) in a [`Store`].
    Func
);
handle!(
    /// A linear memory in a [`Store`].
    Memory
);
handle!(
    /// A table in a [`Store`].
    Table
);
handle!(
    /// A global in a [`Store`].
    Global
);
handle!(
    /// An instance in a [`Store`].
    Instance
);

/// Anything an instance imports or exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    Func(Func),
    Table(Table),
    Memory(Memory),
    Global(Global),
}

impl Extern {
    /// The kind's name, for messages.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Extern::Func(_) => "function",
            Extern::Table(_) => "table",
            Extern::Memory(_) => "memory",
            Extern::Global(_) => "global",
        }
    }
}
