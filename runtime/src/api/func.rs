//! Functions: [`Func`] (wasm or host), calls from the host with typed [`Val`]s, host
//! functions made from Rust closures ([`Func::new_host`]) and what they see of their
//! caller ([`Caller`]; the caller's exports are in `instance.rs`, with all exports). The
//! VM layer does the calling (`vm/call.rs`) and runs host bodies (`vm/host.rs`) on raw
//! values; this file converts between those and `Val`s and checks types.

use super::store::{handle, Store};
use super::values::{check_value, raw_from_val, val_from_raw, Val};
use crate::error::CallError;
use crate::vm::host::new_host_func;
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
        let ty = self.ty(store);
        if args.len() != ty.params.len() {
            return Err(CallError::BadArguments(format!(
                "expected {} arguments, got {}",
                ty.params.len(),
                args.len()
            )));
        }
        let inner = &mut *store.inner;
        for (index, (arg, &param)) in args.iter().zip(&ty.params).enumerate() {
            check_value(inner, arg, param)
                .map_err(|reason| CallError::BadArguments(format!("argument {index}: {reason}")))?;
        }
        let len = ty.params.len().max(ty.results.len()).max(1);
        let mut values = vec![ValRaw::default(); len];
        for (slot, arg) in values.iter_mut().zip(args) {
            *slot = raw_from_val(inner, *arg);
        }
        let store_ptr = store.as_ptr();
        // SAFETY: `store_ptr` is live and exclusively ours for the duration of the call;
        // no reference into it is held across it.
        unsafe { crate::vm::call::call(store_ptr, self.index, &mut values) }?;
        Ok(ty
            .results
            .iter()
            .zip(&values)
            .map(|(&ty, &raw)| val_from_raw(&store.inner, raw, ty))
            .collect())
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
        let (index, context) = new_host_func(store.as_ptr(), ty, Box::new(body));
        store.host_funcs.push(context);
        Func {
            store: store.inner.id,
            index,
        }
    }
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
        let (base, length) = unsafe { (*self.instance).exported_memory("memory") }?;
        // SAFETY: `length` accessible bytes from `base`; the guest is suspended in this
        // call and nothing else can grow or view the memory meanwhile, and the slice
        // borrows this caller.
        Some(unsafe { std::slice::from_raw_parts_mut(base, length) })
    }
}
