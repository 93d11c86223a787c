//! The store: owner of everything instances are made of (instances, functions, memories,
//! tables, globals) and of the limits compiled code reads. Public handles ([`Func`],
//! [`Memory`], ...) are indices into a store, tagged with the store's id so that using a
//! handle with the wrong store is caught. The state itself is the VM's (`vm/store.rs`).
//!
//! [`Func`]: crate::Func
//! [`Memory`]: crate::Memory

use crate::vm::host::HostFuncData;
use crate::vm::instance::InstanceData;
use crate::vm::interrupt::InterruptHandle;
use crate::vm::store::{OwnedPtr, ResourceLimits, VMStore};
use std::marker::PhantomData;

/// Owns instances and everything they are made of. Single-threaded: not `Send`.
///
/// What makes it `!Send` is the host closures it may hold ([`crate::Func::new_host`] does
/// not require `Send`) and its raw pointers, all into allocations the store owns. Nothing
/// else in a store is tied to the thread that created it: the trap state and the wasm
/// stack limit are per thread and set up for each call (`vm/traps/`). So a store whose
/// every host function is `Send` may move to another thread; the bindings kiln-build
/// generates for modules without WASI imports rely on this.
pub struct Store {
    /// Every function, memory, table and global, as compiled code and builtins see them.
    pub(crate) inner: Box<VMStore>,
    /// Every instance, by index; each points back to `inner`.
    pub(crate) instances: Vec<OwnedPtr<InstanceData>>,
    /// The contexts of the host functions in `inner`; each points back to it.
    pub(crate) host_funcs: Vec<OwnedPtr<HostFuncData>>,
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

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store {
            inner: Box::new(VMStore::new()),
            instances: Vec::new(),
            host_funcs: Vec::new(),
            _not_send: PhantomData,
        }
    }

    /// Sets how much stack wasm may use below the point where the host calls it (the
    /// outermost call on a thread). Capped by what the thread's stack holds. Default 1 MiB.
    pub fn set_max_wasm_stack(&mut self, bytes: usize) {
        self.inner.max_wasm_stack = bytes;
    }

    /// Caps what the store's guests may allocate: beyond them `memory.grow` and
    /// `table.grow` return -1 and instantiation fails. Applies to every memory and table of
    /// the store, including those created by the host. No caps by default.
    pub fn set_resource_limits(&mut self, limits: ResourceLimits) {
        self.inner.resource_limits = limits;
    }

    /// The caps set by [`Store::set_resource_limits`].
    pub fn resource_limits(&self) -> ResourceLimits {
        self.inner.resource_limits
    }

    /// Gives the store's guests `fuel` units to run on (every operator but the few that do
    /// no work costs one); once they are spent, the guest traps with "all fuel consumed"
    /// at its next function entry or loop header. Also refuels a store, between calls or
    /// from a host function. From the first call on, every module instantiated in the
    /// store must be compiled with fuel metering (`kiln build --fuel`,
    /// `kiln_build::Module::fuel`).
    pub fn set_fuel(&mut self, fuel: u64) {
        self.inner.set_fuel(fuel);
    }

    /// The fuel left, if the store meters fuel.
    pub fn fuel(&self) -> Option<u64> {
        self.inner.fuel_metered.then(|| self.inner.fuel())
    }

    /// Stops the store's guests after `limit` of wall-clock time from now, including time
    /// spent in start functions and in WASI calls that block: they trap with "interrupted:
    /// time limit". Replaces an earlier limit and clears an earlier interruption. Every
    /// module instantiated in the store must be compiled with interruption checks. Fails
    /// only when the timer's thread cannot be started.
    pub fn set_time_limit(&mut self, limit: std::time::Duration) -> std::io::Result<()> {
        self.inner.time_limited = true;
        self.inner.interrupt.start_time_limit(limit)
    }

    /// A handle that interrupts the store's guests from any thread (they trap with
    /// "interrupted"); only code compiled with interruption checks stops.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle(std::sync::Arc::clone(&self.inner.interrupt))
    }

    /// The store's interruption state, for host functions that block.
    pub(crate) fn interrupt_state(&self) -> std::sync::Arc<crate::vm::interrupt::InterruptState> {
        std::sync::Arc::clone(&self.inner.interrupt)
    }

    /// The store's state as a raw pointer, for calls into compiled code.
    pub(crate) fn as_ptr(&mut self) -> *mut VMStore {
        &mut *self.inner
    }

    /// Panics when `handle_store` is not this store: a host programming error.
    pub(crate) fn check(&self, handle_store: u64) {
        assert_eq!(
            handle_store, self.inner.id,
            "kiln: a handle was used with a store it does not belong to"
        );
    }
}

/// Declares a handle type: an index into a store, tagged with the store's id.
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
pub(crate) use handle;
