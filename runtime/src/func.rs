//! Calling functions from the host. A wasm function is entered through its module's entry
//! trampoline for its type, inside a guarded call (`traps.rs`), so that a trap comes back
//! as a [`Trap`] value with a symbolised backtrace. A host function called from the host
//! runs its closure directly.

use crate::code::{self, CodeKind};
use crate::error::{CallError, FrameInfo, Trap};
use crate::host::{Caller, HostFuncData};
use crate::store::{Func, FuncKind, Store, StoreInner};
use crate::traps::{self, CaughtTrap};
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::FuncType;
use kiln_abi::vmctx::{VMEntryTrampoline, VMFuncRef, ValRaw};
use kiln_abi::TrapCode;

impl Func {
    /// The function's type.
    pub fn ty(&self, store: &Store) -> FuncType {
        store.inner.check(self.store);
        store.inner.funcs[self.index as usize].ty.clone()
    }

    /// Calls the function with `args`; returns its results.
    pub fn call(&self, store: &mut Store, args: &[Val]) -> Result<Vec<Val>, CallError> {
        let store = store.as_ptr();
        // SAFETY: `store` is live and exclusively ours for the duration of the call.
        unsafe { call_raw(store, *self, args) }
    }
}

/// What a call resolves to.
enum Target {
    Wasm {
        trampoline: VMEntryTrampoline,
        func_ref: VMFuncRef,
    },
    Host(*const HostFuncData),
}

/// Calls `func` in the store `store_ptr` points to.
///
/// # Safety
/// `store_ptr` must be live, and no reference into it may be held across this call
/// (compiled code, builtins and host functions re-borrow it).
pub(crate) unsafe fn call_raw(
    store_ptr: *mut StoreInner,
    func: Func,
    args: &[Val],
) -> Result<Vec<Val>, CallError> {
    let (ty, target, mut values) = {
        // SAFETY: caller's contract; this borrow ends before any code runs.
        let store = unsafe { &mut *store_ptr };
        store.check(func.store);
        let data = &store.funcs[func.index as usize];
        let ty = data.ty.clone();
        if args.len() != ty.params.len() {
            return Err(CallError::BadArguments(format!(
                "expected {} arguments, got {}",
                ty.params.len(),
                args.len()
            )));
        }
        for (index, (arg, &param)) in args.iter().zip(&ty.params).enumerate() {
            store
                .check_value(arg, param)
                .map_err(|reason| CallError::BadArguments(format!("argument {index}: {reason}")))?;
        }
        let target = match &data.kind {
            FuncKind::Host(host) => Target::Host(host.as_ptr()),
            FuncKind::Wasm => {
                // The function's module registered trampolines for its type (or an earlier
                // module with the same canonical type did).
                let trampolines = crate::module::trampolines(data.type_id)
                    .expect("a wasm function's type has registered trampolines");
                // SAFETY: entry trampolines have the `VMEntryTrampoline` signature.
                let trampoline: VMEntryTrampoline =
                    unsafe { std::mem::transmute::<usize, VMEntryTrampoline>(trampolines.entry) };
                // SAFETY: the func ref lives in the instance's context.
                let func_ref = unsafe { *data.func_ref };
                Target::Wasm {
                    trampoline,
                    func_ref,
                }
            }
        };
        let mut values = Vec::new();
        if let Target::Wasm { .. } = target {
            let len = ty.params.len().max(ty.results.len()).max(1);
            values.resize(len, ValRaw::default());
            for (slot, arg) in values.iter_mut().zip(args) {
                *slot = store.raw_from_val(*arg);
            }
        }
        (ty, target, values)
    };

    match target {
        Target::Host(host) => {
            // SAFETY: host function data lives as long as the store.
            let host = unsafe { &*host };
            let mut caller = Caller::new(store_ptr, std::ptr::null_mut());
            let results = (host.closure)(&mut caller, args).map_err(|error| match error {
                HostError::Exit(code) => CallError::Exit(code),
                HostError::Message(message) => CallError::Host(message),
            })?;
            let types_match = results.len() == ty.results.len()
                && results
                    .iter()
                    .zip(&ty.results)
                    .all(|(value, &ty)| value.ty() == ty);
            if !types_match {
                return Err(CallError::Host(
                    "host function returned values of the wrong types".into(),
                ));
            }
            Ok(results)
        }
        Target::Wasm {
            trampoline,
            func_ref,
        } => {
            let values_ptr = values.as_mut_ptr();
            // SAFETY: the limits live in the store; the closure only calls the trampoline,
            // owns nothing, and passes it a value array of max(params, results, 1) entries.
            let outcome = unsafe {
                let limits = (*store_ptr).limits.get();
                let max_wasm_stack = (*store_ptr).max_wasm_stack;
                traps::call_guarded(limits, max_wasm_stack, &mut || {
                    trampoline(
                        func_ref.wasm_call,
                        func_ref.vmctx,
                        func_ref.vmctx,
                        values_ptr,
                    )
                })
            };
            // SAFETY: compiled code has returned; nothing else borrows the store.
            let store = unsafe { &mut *store_ptr };
            match outcome {
                Ok(()) => Ok(ty
                    .results
                    .iter()
                    .zip(&values)
                    .map(|(&ty, &raw)| store.val_from_raw(raw, ty))
                    .collect()),
                Err(caught) => Err(trap_to_error(store, caught)),
            }
        }
    }
}

/// The error a caught trap stands for: a host function's reason for `HostUnwind`, the
/// trap itself otherwise.
fn trap_to_error(store: &mut StoreInner, caught: CaughtTrap) -> CallError {
    if caught.code == TrapCode::HostUnwind {
        return match store.pending_host_error.take() {
            Some(HostError::Exit(code)) => CallError::Exit(code),
            Some(HostError::Message(message)) => CallError::Host(message),
            None => CallError::Trap(symbolize(caught)),
        };
    }
    CallError::Trap(symbolize(caught))
}

/// Turns the PCs of a caught trap into frames (trampolines and unknown code omitted).
pub(crate) fn symbolize(caught: CaughtTrap) -> Trap {
    let backtrace = caught
        .frames
        .iter()
        .enumerate()
        .filter_map(|(index, &pc)| {
            // Return addresses point after the call; look up the call itself.
            let pc = if index == 0 { pc } else { pc - 1 };
            let location = code::lookup(pc)?;
            let CodeKind::Function(defined_index) = location.range.kind else {
                return None;
            };
            let func_index = location.module.n_imported_functions + defined_index;
            Some(FrameInfo {
                module: location.module.name.map(str::to_owned),
                func_index,
                func_name: location.module.function_name(func_index).map(str::to_owned),
            })
        })
        .collect();
    Trap {
        code: caught.code,
        backtrace,
        backtrace_truncated: caught.truncated,
    }
}
