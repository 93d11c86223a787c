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

#[cfg(test)]
mod tests {
    use crate::{load_object, Extern, Linker, Store, Val};

    /// A store's exception objects after calling `run` with `iterations` on `wat`, and
    /// what `run` returned.
    fn live_exceptions_after(wat: &str, iterations: i32) -> (usize, Vec<Val>) {
        let wasm = wat::parse_str(wat).expect("valid wat");
        let object = kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default())
            .expect("compiles");
        let module = load_object(&object, "").expect("loads");
        let mut store = Store::new();
        let instance = Linker::new()
            .instantiate(&mut store, &module)
            .expect("instantiates");
        let Some(Extern::Func(run)) = instance.get_export(&store, "run") else {
            panic!("no run export");
        };
        let results = run.call(&mut store, &[Val::I32(iterations)]).expect("runs");
        (store.inner.exceptions.len(), results)
    }

    /// Exceptions caught without a reference are released (at the next throw), however
    /// many are thrown; those an `exnref` was made of stay, and stay intact while others
    /// reuse memory.
    #[test]
    fn caught_exceptions_are_released_unless_an_exnref_holds_them() {
        let try_table = r#"(module
          (tag $e (param i32))
          (func (export "run") (param $n i32) (result i32) (local $sum i32)
            (loop $next
              (local.set $sum (i32.add (local.get $sum)
                (block $caught (result i32)
                  (try_table (catch $e $caught) (throw $e (local.get $n)))
                  (i32.const -1))))
              (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (local.get $sum)))"#;
        let (live, results) = live_exceptions_after(try_table, 10_000);
        assert_eq!(results, [Val::I32(10_000 * 10_001 / 2)]);
        // The last one caught waits for the next throw to be released.
        assert!(live <= 1, "try_table catch: {live} exceptions live");

        let legacy = r#"(module
          (tag $e (param i32))
          (func (export "run") (param $n i32) (result i32) (local $sum i32)
            (loop $next
              try
                (throw $e (local.get $n))
              catch $e
                (local.set $sum (i32.add (local.get $sum)))
              end
              (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (local.get $sum)))"#;
        let (live, results) = live_exceptions_after(legacy, 10_000);
        assert_eq!(results, [Val::I32(10_000 * 10_001 / 2)]);
        assert!(live <= 1, "legacy catch: {live} exceptions live");

        // Every exnref is kept in a table; after the loop, each is thrown again and must
        // still carry its own payload.
        let kept = r#"(module
          (tag $e (param i32))
          (table $kept 100 exnref)
          (func (export "run") (param $n i32) (result i32)
            (local $i i32) (local $sum i32) (local $x exnref)
            (loop $next
              (block $caught (result i32 exnref)
                (try_table (catch_ref $e $caught) (throw $e (local.get $i)))
                (unreachable))
              (local.set $x)
              (drop)
              (table.set $kept (local.get $i) (local.get $x))
              ;; Exceptions released meanwhile, whose memory others reuse.
              (block $plain (result i32)
                (try_table (catch $e $plain) (throw $e (i32.const -7)))
                (i32.const 0))
              (drop)
              (br_if $next (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (local.get $n))))
            (local.set $i (i32.const 0))
            (loop $again
              (local.set $sum (i32.add (local.get $sum)
                (block $caught (result i32)
                  (try_table (catch $e $caught) (throw_ref (table.get $kept (local.get $i))))
                  (i32.const -1000))))
              (br_if $again (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                (local.get $n))))
            (local.get $sum)))"#;
        let (live, results) = live_exceptions_after(kept, 100);
        assert_eq!(
            results,
            [Val::I32(99 * 100 / 2)],
            "exnrefs keep their payloads"
        );
        assert_eq!(
            live, 100,
            "the exnrefs' exceptions stay; the others are released"
        );
    }

    /// A legacy clause's exception that its body rethrows and catches again is not
    /// released by the inner clause: the outer one still rethrows it.
    #[test]
    fn a_rethrown_exception_outlives_the_clause_that_catches_it_again() {
        let wat = r#"(module
          (tag $e (param i32))
          (func (export "run") (param $n i32) (result i32)
            try (result i32)
              try
                (throw $e (local.get $n))
              catch $e
                drop
                try
                  rethrow 1
                catch_all
                end
                ;; Exceptions released meanwhile, whose memory others may reuse.
                try
                  (throw $e (i32.const -1))
                catch $e
                  drop
                end
                rethrow 0
              end
              (i32.const -2)
            catch $e
            end))"#;
        let (_, results) = live_exceptions_after(wat, 42);
        assert_eq!(results, [Val::I32(42)]);
    }
}
