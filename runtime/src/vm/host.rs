//! Host functions at the VM level: closures over raw values that wasm can import, put in
//! tables and call.
//!
//! A host function's context is a [`HostFuncData`], which starts with a `VMHostContext`
//! header and so stands where an instance's `vmctx` would. Its `VMFuncRef` has as
//! `wasm_call` an exit trampoline of its type (the importing module's, or any registered
//! module's for references made outside imports) and [`host_array_call`] as `array_call`.
//! The exit trampoline spills the arguments to a `ValRaw` array and calls
//! `host_array_call`, which runs the closure on that array inside `catch_unwind`. An error
//! (or a panic) is stored in the store as the pending host error and reported with status
//! 1, which makes the trampoline trap with `HostUnwind`; the guarded call that entered
//! wasm then turns the trap back into that error (`call.rs`).
//!
//! The safe API's `Func::new_host` wraps a closure over `Val`s into one of these.

use super::instance::InstanceData;
use super::store::{FuncData, FuncKind, OwnedPtr, VMStore};
use crate::HostError;
use kiln_abi::metadata::FuncType;
use kiln_abi::vmctx::{
    VMContextHeader, VMFuncRef, VMHostContext, ValRaw, VMCTX_MAGIC, VMHOST_MAGIC,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A host function's body: it gets its store, the calling instance (null when the host
/// calls it) and a value array holding the arguments, which it overwrites with the results.
/// The array holds at least max(params, results) values.
pub(crate) type HostBody =
    dyn Fn(*mut VMStore, *mut InstanceData, &mut [ValRaw]) -> Result<(), HostError>;

/// A host function's context; its address is the `vmctx` of its `VMFuncRef`.
#[repr(C)]
pub(crate) struct HostFuncData {
    /// Must come first: the exit trampoline reads `array_call` from it.
    header: VMHostContext,
    /// The function's own reference.
    func_ref: VMFuncRef,
    store: *mut VMStore,
    ty: FuncType,
    pub body: Box<HostBody>,
}

/// Adds a host function of type `ty` running `body` to `store`; returns its index and its
/// context, which the caller keeps alive as long as the store.
pub(crate) fn new_host_func(
    store_ptr: *mut VMStore,
    ty: FuncType,
    body: Box<HostBody>,
) -> (u32, OwnedPtr<HostFuncData>) {
    // SAFETY: the caller holds the store exclusively (it passes it as `&mut` to the API).
    let store = unsafe { &mut *store_ptr };
    let type_id = super::module::intern_type(&ty);
    let exit =
        super::module::trampolines(type_id).map_or(std::ptr::null(), |t| t.exit as *const u8);
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
        body,
    });
    let data_ptr = data.as_ptr();
    // SAFETY: freshly allocated and not otherwise borrowed.
    let func_ref = unsafe {
        (*data_ptr).func_ref.vmctx = data_ptr.cast();
        &raw mut (*data_ptr).func_ref
    };
    let index = store.push_func(FuncData {
        ty,
        type_id,
        func_ref,
        kind: FuncKind::Host,
        may_throw: false,
    });
    (index, data)
}

/// Runs a host function's body inside `catch_unwind`, with a value array of `values.len()`
/// entries; a panic becomes an error.
fn run_host_body(
    data: &HostFuncData,
    instance: *mut InstanceData,
    values: &mut [ValRaw],
) -> Result<(), HostError> {
    if values.len() < data.ty.params.len().max(data.ty.results.len()) {
        return Err(HostError::Message(
            "host function called with too few values".into(),
        ));
    }
    catch_unwind(AssertUnwindSafe(|| {
        (data.body)(data.store, instance, values)
    }))
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(HostError::Message(format!(
            "host function panicked: {message}"
        )))
    })
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
    // SAFETY: the trampoline passes `len` values, which only this call uses.
    let values = unsafe { std::slice::from_raw_parts_mut(values, len) };
    match run_host_body(data, instance, values) {
        Ok(()) => 0,
        Err(error) => {
            // SAFETY: the store outlives the call; the body has returned and nothing else
            // borrows the store now.
            unsafe { (*data.store).pending_host_error = Some(error) };
            1
        }
    }
}
