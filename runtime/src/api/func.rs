//! Functions: [`Func`] (wasm or host), calls from the host with typed [`Val`]s, host
//! functions made from Rust closures ([`Func::new_host`]) and what they see of their
//! caller ([`Caller`]; the caller's exports are in `instance.rs`, with all exports). The
//! VM layer does the calling (`vm/call.rs`) and runs host bodies (`vm/host.rs`) on raw
//! values; this file converts between those and `Val`s and checks types.

use super::store::{handle, Store};
use super::values::{check_value, raw_from_val, val_from_raw, Val};
use crate::error::CallError;
use crate::vm::host::{new_host_func, HostBody};
use crate::vm::instance::InstanceData;
use crate::vm::store::VMStore;
use crate::HostError;
use kiln_abi::metadata::FuncType;
use kiln_abi::vmctx::ValRaw;
use std::marker::PhantomData;

handle!(
    /// A function (wasm or host) in a [`Store`].
    Func
);

impl Func {
    /// The function's type.
    pub fn ty(&self, store: &Store) -> FuncType {
        store.check(self.store);
        store.inner.funcs[self.index as usize].ty.clone()
    }

    /// Calls the function with `args`; returns its results.
    pub fn call(&self, store: &mut Store, args: &[Val]) -> Result<Vec<Val>, CallError> {
        store.check(self.store);
        // SAFETY: the store is live and exclusively ours for the duration of the call.
        unsafe { call_in(store.as_ptr(), self.index, args) }
    }

    /// A function of type `ty` that runs `f`.
    pub fn new_host(
        store: &mut Store,
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &[Val]) -> Result<Vec<Val>, HostError> + 'static,
    ) -> Func {
        let signature = ty.clone();
        let body = move |store: *mut VMStore,
                         instance: *mut InstanceData,
                         values: &mut [ValRaw]|
              -> Result<(), HostError> {
            let args: Vec<Val> = {
                // SAFETY: the store outlives the call; nothing else borrows it now.
                let store = unsafe { &*store };
                signature
                    .params
                    .iter()
                    .zip(values.iter())
                    .map(|(&ty, &raw)| val_from_raw(store, raw, ty))
                    .collect()
            };
            let mut caller = Caller::new(store, instance);
            let results = f(&mut caller, &args)?;
            let types_match = results.len() == signature.results.len()
                && results
                    .iter()
                    .zip(&signature.results)
                    .all(|(value, &ty)| value.ty() == ty);
            if !types_match {
                return Err(HostError::Message(
                    "host function returned values of the wrong types".into(),
                ));
            }
            // SAFETY: as above; the closure has returned.
            let store = unsafe { &mut *store };
            for (slot, value) in values.iter_mut().zip(results) {
                *slot = raw_from_val(store, value);
            }
            Ok(())
        };
        Func::from_body(store, ty, Box::new(body))
    }

    /// A function of type `ty` whose body `f` works on the raw value array: the
    /// arguments come in its first entries, of the parameter types (every path into a
    /// function checks them: an import's type at instantiation, `call_indirect`'s type
    /// id, [`Func::call`]'s arguments), and `f` writes the results over them. The array
    /// holds at least max(params, results) values. For the runtime's own host functions
    /// (WASI): a call converts nothing and allocates nothing.
    pub(crate) fn new_host_raw(
        store: &mut Store,
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &mut [ValRaw]) -> Result<(), HostError> + 'static,
    ) -> Func {
        let body = move |store: *mut VMStore,
                         instance: *mut InstanceData,
                         values: &mut [ValRaw]|
              -> Result<(), HostError> {
            f(&mut Caller::new(store, instance), values)
        };
        Func::from_body(store, ty, Box::new(body))
    }

    /// Adds a host function running `body` to `store`.
    fn from_body(store: &mut Store, ty: FuncType, body: Box<HostBody>) -> Func {
        let (index, context) = new_host_func(store.as_ptr(), ty, body);
        store.host_funcs.push(context);
        Func {
            store: store.inner.id,
            index,
        }
    }
}

/// Calls function `index` of the store at `store_ptr` with `args`, checking their types.
///
/// # Safety
/// `store_ptr` must be live, and no reference into it may be held across this call.
unsafe fn call_in(
    store_ptr: *mut VMStore,
    index: u32,
    args: &[Val],
) -> Result<Vec<Val>, CallError> {
    let ty = {
        // SAFETY: caller's contract; this borrow ends before any code runs.
        let inner = unsafe { &*store_ptr };
        let ty = inner.funcs[index as usize].ty.clone();
        if args.len() != ty.params.len() {
            return Err(CallError::BadArguments(format!(
                "expected {} arguments, got {}",
                ty.params.len(),
                args.len()
            )));
        }
        for (position, (arg, &param)) in args.iter().zip(&ty.params).enumerate() {
            check_value(inner, arg, param).map_err(|reason| {
                CallError::BadArguments(format!("argument {position}: {reason}"))
            })?;
        }
        ty
    };
    let len = ty.params.len().max(ty.results.len()).max(1);
    let mut values = vec![ValRaw::default(); len];
    {
        // SAFETY: as above.
        let inner = unsafe { &mut *store_ptr };
        for (slot, arg) in values.iter_mut().zip(args) {
            *slot = raw_from_val(inner, *arg);
        }
    }
    // SAFETY: caller's contract; no reference into the store is held across the call.
    unsafe { crate::vm::call::call(store_ptr, index, &mut values) }?;
    // SAFETY: the call has returned; nothing else borrows the store.
    let inner = unsafe { &*store_ptr };
    Ok(ty
        .results
        .iter()
        .zip(&values)
        .map(|(&ty, &raw)| val_from_raw(inner, raw, ty))
        .collect())
}

/// What a host function sees of its caller.
pub struct Caller<'a> {
    /// The calling instance, or null when the host called the function.
    pub(super) instance: *mut InstanceData,
    pub(super) store: *mut VMStore,
    /// A memory standing in for the instance's (unit tests of host functions).
    #[cfg(test)]
    test_memory: Option<&'a mut [u8]>,
    _marker: PhantomData<&'a mut ()>,
}

impl<'a> Caller<'a> {
    fn new(store: *mut VMStore, instance: *mut InstanceData) -> Caller<'static> {
        Caller {
            instance,
            store,
            #[cfg(test)]
            test_memory: None,
            _marker: PhantomData,
        }
    }

    /// A caller whose memory is `memory`, for unit tests.
    #[cfg(test)]
    pub(crate) fn with_memory(memory: &'a mut [u8]) -> Caller<'a> {
        Caller {
            instance: std::ptr::null_mut(),
            store: std::ptr::null_mut(),
            test_memory: Some(memory),
            _marker: PhantomData,
        }
    }
}

impl Caller<'_> {
    /// Calls `func` (a function of the caller's store) from inside this host function:
    /// wasm that calls the host that calls wasm again, as a component's host import calls
    /// the guest's `cabi_realloc`.
    pub fn call(&mut self, func: Func, args: &[Val]) -> Result<Vec<Val>, CallError> {
        // SAFETY: a non-null store is the caller's, live while it calls us; the store id
        // is read before any code runs.
        if self.store.is_null() || unsafe { (*self.store).id } != func.store {
            return Err(CallError::BadArguments(
                "the function belongs to another store".into(),
            ));
        }
        // SAFETY: the guest is suspended in this host call and holds no reference into the
        // store; this caller holds none across the call either.
        unsafe { call_in(self.store, func.index, args) }
    }

    /// The calling instance's exported memory named `memory`, if any.
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        #[cfg(test)]
        if let Some(memory) = self.test_memory.as_deref_mut() {
            return Some(memory);
        }
        if self.instance.is_null() {
            return None;
        }
        // SAFETY: the calling instance is live while it calls us.
        let (base, length) = unsafe { (*self.instance).exported_memory() }?;
        // SAFETY: `length` accessible bytes from `base`; the guest is suspended in this
        // call and nothing else can grow or view the memory meanwhile, and the slice
        // borrows this caller.
        Some(unsafe { std::slice::from_raw_parts_mut(base, length) })
    }
}
