//! Host functions: Rust closures that wasm can import, put in tables and call.
//!
//! A host function's context is a [`HostFuncData`], which starts with a `VMHostContext`
//! header and so stands where an instance's `vmctx` would. Its `VMFuncRef` has as
//! `wasm_call` an exit trampoline of its type (the importing module's, or any registered
//! module's for references made outside imports) and [`host_array_call`] as `array_call`.
//! The exit trampoline spills the arguments to a `ValRaw` array and calls
//! `host_array_call`, which converts them to [`Val`]s and runs the closure inside
//! `catch_unwind`. An error (or a panic) is stored in the store as the pending host error
//! and reported with status 1, which makes the trampoline trap with `HostUnwind`; the
//! guarded call that entered wasm then turns the trap back into that error.

use crate::instance::InstanceData;
use crate::store::{Extern, Func, FuncData, FuncKind, OwnedPtr, Store, StoreInner};
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::FuncType;
use kiln_abi::vmctx::{
    VMContextHeader, VMFuncRef, VMHostContext, ValRaw, VMCTX_MAGIC, VMHOST_MAGIC,
};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The closure type of host functions.
pub(crate) type HostClosure = dyn Fn(&mut Caller<'_>, &[Val]) -> Result<Vec<Val>, HostError>;

/// A host function's context; its address is the `vmctx` of its `VMFuncRef`.
#[repr(C)]
pub(crate) struct HostFuncData {
    /// Must come first: the exit trampoline reads `array_call` from it.
    header: VMHostContext,
    /// The function's own reference.
    func_ref: VMFuncRef,
    store: *mut StoreInner,
    ty: FuncType,
    pub closure: Box<HostClosure>,
}

/// What a host function sees of its caller.
pub struct Caller<'a> {
    /// The calling instance, or null when the host called the function.
    instance: *mut InstanceData,
    _store: *mut StoreInner,
    /// A memory standing in for the instance's (unit tests of host functions).
    #[cfg(test)]
    test_memory: Option<&'a mut [u8]>,
    _marker: PhantomData<&'a mut ()>,
}

impl<'a> Caller<'a> {
    pub(crate) fn new(store: *mut StoreInner, instance: *mut InstanceData) -> Caller<'static> {
        Caller {
            instance,
            _store: store,
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
            _store: std::ptr::null_mut(),
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
        let instance = unsafe { &*self.instance };
        let export = instance.module.metadata().exports.iter().find(|export| {
            export.name == "memory" && export.kind == kiln_abi::metadata::ExternKind::Memory
        })?;
        let definition = instance.memory_definition(export.index);
        // SAFETY: the definition describes `current_length` accessible bytes; the guest is
        // suspended in this call and nothing else can grow or view the memory meanwhile.
        unsafe {
            let (base, length) = ((*definition).base, (*definition).current_length);
            Some(std::slice::from_raw_parts_mut(base, length))
        }
    }

    /// The calling instance's export `name`.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        // SAFETY: the calling instance is live while it calls us.
        (!self.instance.is_null()).then(|| unsafe { &*self.instance }.export(name))?
    }
}

impl Func {
    /// A function of type `ty` that runs `f`.
    pub fn new_host(
        store: &mut Store,
        ty: FuncType,
        f: impl Fn(&mut Caller<'_>, &[Val]) -> Result<Vec<Val>, HostError> + 'static,
    ) -> Func {
        let store_ptr = store.as_ptr();
        let inner = &mut *store.inner;
        let type_id = crate::module::intern_type(&ty);
        let exit =
            crate::module::trampolines(type_id).map_or(std::ptr::null(), |t| t.exit as *const u8);
        let data = OwnedPtr::new(HostFuncData {
            header: VMHostContext {
                magic: VMHOST_MAGIC,
                _pad: 0,
                array_call: host_array_call as *const u8,
            },
            func_ref: VMFuncRef {
                wasm_call: exit,
                array_call: host_array_call as *const u8,
                vmctx: std::ptr::null_mut(),
                type_id,
                _pad: 0,
            },
            store: store_ptr,
            ty: ty.clone(),
            closure: Box::new(f),
        });
        let data_ptr = data.as_ptr();
        // SAFETY: freshly allocated and not otherwise borrowed.
        let func_ref = unsafe {
            (*data_ptr).func_ref.vmctx = data_ptr.cast();
            &raw mut (*data_ptr).func_ref
        };
        let func = Func {
            store: inner.id,
            index: inner.funcs.len() as u32,
        };
        inner.funcs.push(FuncData {
            ty,
            type_id,
            func_ref,
            kind: FuncKind::Host(data),
        });
        inner.func_by_ref.insert(func_ref as usize, func);
        func
    }
}

/// The `VMArrayCallFn` of every host function.
///
/// # Safety
/// Called by exit trampolines with a `HostFuncData` as `callee_vmctx`, the calling
/// instance's context (or null) as `caller_vmctx` and an array of `len` values.
pub(crate) unsafe extern "C" fn host_array_call(
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) -> u32 {
    // SAFETY: the exit trampoline passes the host function's context.
    let data = unsafe { &*callee_vmctx.cast::<HostFuncData>() };
    let store = data.store;
    debug_assert_eq!(data.header.magic, VMHOST_MAGIC);
    let instance = if caller_vmctx.is_null() {
        std::ptr::null_mut()
    } else {
        // SAFETY: a non-null caller context is an instance context or a host context;
        // both start with a magic word.
        let header = unsafe { &*caller_vmctx.cast::<VMContextHeader>() };
        if header.magic == VMCTX_MAGIC {
            header.instance.cast::<InstanceData>()
        } else {
            std::ptr::null_mut()
        }
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), HostError> {
        if len < data.ty.params.len().max(data.ty.results.len()) {
            return Err(HostError::Message(
                "host function called with too few values".into(),
            ));
        }
        // SAFETY: the trampoline passes `len` values.
        let values = unsafe { std::slice::from_raw_parts_mut(values, len) };
        let args: Vec<Val> = {
            // SAFETY: the store outlives the call; nothing else borrows it now.
            let store = unsafe { &*store };
            data.ty
                .params
                .iter()
                .zip(values.iter())
                .map(|(&ty, &raw)| store.val_from_raw(raw, ty))
                .collect()
        };
        let mut caller = Caller::new(store, instance);
        let results = (data.closure)(&mut caller, &args)?;
        let types_match = results.len() == data.ty.results.len()
            && results
                .iter()
                .zip(&data.ty.results)
                .all(|(value, &ty)| value.ty() == ty);
        if !types_match {
            return Err(HostError::Message(
                "host function returned values of the wrong types".into(),
            ));
        }
        // SAFETY: as above; the closure has returned.
        let store = unsafe { &mut *store };
        for (slot, value) in values.iter_mut().zip(results) {
            *slot = store.raw_from_val(value);
        }
        Ok(())
    }));
    let error = match outcome {
        Ok(Ok(())) => return 0,
        Ok(Err(error)) => error,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            HostError::Message(format!("host function panicked: {message}"))
        }
    };
    // SAFETY: the store outlives the call; nothing else borrows it now.
    unsafe { (*store).pending_host_error = Some(error) };
    1
}
