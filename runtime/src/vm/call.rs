//! Calls into a store's functions on raw values. A wasm function is entered through its
//! type's entry trampoline inside a guarded call (`traps/`), so that a trap comes back as
//! a [`Trap`] with a symbolised backtrace; a host function runs through its `array_call`,
//! as an exit trampoline would call it.

use super::code::{self, CodeKind};
use super::module::trampolines;
use super::store::{FuncKind, VMStore};
use super::traps::{call_guarded, CaughtTrap};
use crate::error::{CallError, FrameInfo, Trap};
use crate::HostError;
use kiln_abi::vmctx::{VMArrayCallFn, VMEntryTrampoline, ValRaw};
use kiln_abi::TrapCode;

/// Calls function `func` of the store `store_ptr` points to. `values` holds the arguments
/// and receives the results from index 0; it must hold max(params, results, 1) values.
///
/// # Safety
/// `store_ptr` must be live, and no reference into it may be held across this call
/// (compiled code, builtins and host functions re-borrow it).
pub(crate) unsafe fn call(
    store_ptr: *mut VMStore,
    func: u32,
    values: &mut [ValRaw],
) -> Result<(), CallError> {
    let (func_ref, trampoline) = {
        // SAFETY: caller's contract; this borrow ends before any code runs.
        let store = unsafe { &mut *store_ptr };
        let data = &store.funcs[func as usize];
        let needed = data.ty.params.len().max(data.ty.results.len()).max(1);
        if values.len() < needed {
            return Err(CallError::BadArguments(format!(
                "a call of {} needs room for {needed} values",
                data.ty
            )));
        }
        // SAFETY: the func ref lives in the instance's context or the host function's.
        let func_ref = unsafe { *data.func_ref };
        match data.kind {
            FuncKind::Host => {
                // SAFETY: a host function's `array_call` is a `VMArrayCallFn` (`host.rs`),
                // and its `vmctx` the context it expects; there is no calling instance.
                let status = unsafe {
                    let array_call =
                        std::mem::transmute::<*const u8, VMArrayCallFn>(func_ref.array_call);
                    array_call(
                        func_ref.vmctx,
                        std::ptr::null_mut(),
                        values.as_mut_ptr(),
                        values.len(),
                    )
                };
                if status == 0 {
                    return Ok(());
                }
                // SAFETY: the host function has returned; nothing else borrows the store.
                let store = unsafe { &mut *store_ptr };
                return Err(store.pending_host_error.take().map_or_else(
                    || CallError::Host("host function failed".into()),
                    host_error,
                ));
            }
            FuncKind::Wasm => {
                // The function's module registered trampolines for its type (or an earlier
                // module with the same canonical type did).
                let Some(trampolines) = trampolines(data.type_id) else {
                    return Err(CallError::Host(format!(
                        "no entry trampoline for {}",
                        data.ty
                    )));
                };
                // SAFETY: entry trampolines have the `VMEntryTrampoline` signature.
                let trampoline =
                    unsafe { std::mem::transmute::<usize, VMEntryTrampoline>(trampolines.entry) };
                (func_ref, trampoline)
            }
        }
    };
    let values_ptr = values.as_mut_ptr();
    // SAFETY: the limits live in the store; the closure only calls the trampoline, owns
    // nothing, and passes it a value array of at least max(params, results, 1) entries.
    let outcome = unsafe {
        let limits = (*store_ptr).limits.get();
        let max_wasm_stack = (*store_ptr).max_wasm_stack;
        call_guarded(limits, max_wasm_stack, &mut || {
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
    outcome.map_err(|caught| trap_to_error(store, caught))
}

fn host_error(error: HostError) -> CallError {
    match error {
        HostError::Exit(code) => CallError::Exit(code),
        HostError::Message(message) => CallError::Host(message),
        // Called from the host directly: there are no wasm frames to show.
        HostError::Trap(code) => CallError::Trap(Trap {
            code,
            backtrace: Vec::new(),
            backtrace_truncated: false,
            exception_tag: None,
            message: None,
        }),
        HostError::TrapMessage(message) => CallError::Trap(Trap {
            code: TrapCode::Component,
            backtrace: Vec::new(),
            backtrace_truncated: false,
            exception_tag: None,
            message: Some(message),
        }),
    }
}

/// The error a caught trap stands for: a host function's reason for `HostUnwind`, the
/// trap itself otherwise (naming the tag of an uncaught exception).
fn trap_to_error(store: &mut VMStore, mut caught: CaughtTrap) -> CallError {
    let mut message = None;
    match caught.code {
        TrapCode::HostUnwind => match store.pending_host_error.take() {
            // The trap stands where the guest called the host function.
            Some(HostError::Trap(code)) => caught.code = code,
            Some(HostError::TrapMessage(text)) => {
                caught.code = TrapCode::Component;
                message = Some(text);
            }
            Some(error) => return host_error(error),
            None => {}
        },
        // The check that trapped found the fuel below zero but did not write it back.
        TrapCode::OutOfFuel => store.set_fuel(0),
        TrapCode::Interrupt if store.interrupt.timed_out() => caught.code = TrapCode::TimeLimit,
        _ => {}
    }
    let code = caught.code;
    let mut trap = symbolize(caught);
    trap.message = message;
    if code == TrapCode::UncaughtException {
        if let Some(exception) = store.pending_exception.take() {
            // SAFETY: the store made this exception object and still owns it.
            let tag = unsafe { store.exception_tag(exception) };
            trap.exception_tag = Some(store.tags[tag as usize].name.clone());
            // Report where it was first thrown (see `exceptions.rs`).
            let (origin, frames, truncated) = &store.throw_origin;
            if *origin == exception && !frames.is_empty() {
                let thrown = symbolize_return_addresses(code, frames, *truncated);
                trap.backtrace = thrown.backtrace;
                trap.backtrace_truncated = thrown.backtrace_truncated;
            }
        }
    }
    CallError::Trap(trap)
}

/// Turns the PCs of a caught trap into frames (trampolines and unknown code omitted). The
/// innermost PC is the trapping instruction, whose trap-table entry gives its wasm offset;
/// every other PC is a return address, whose call-site entry gives the call's.
pub(crate) fn symbolize(caught: CaughtTrap) -> Trap {
    symbolize_frames(caught.code, &caught.frames, caught.truncated, true)
}

/// Like [`symbolize`], for PCs that are all return addresses (where an exception was
/// thrown: the innermost is the return address of the call to the throw builtin).
fn symbolize_return_addresses(code: TrapCode, frames: &[usize], truncated: bool) -> Trap {
    symbolize_frames(code, frames, truncated, false)
}

fn symbolize_frames(
    code: TrapCode,
    frames: &[usize],
    truncated: bool,
    innermost_traps: bool,
) -> Trap {
    let backtrace = frames
        .iter()
        .enumerate()
        .filter_map(|(index, &pc)| {
            let trapping = innermost_traps && index == 0;
            // A return address may be the first byte after its function (a call as the
            // last instruction): find the function by the call's last byte.
            let location = code::lookup(if trapping { pc } else { pc - 1 })?;
            let CodeKind::Function(defined_index) = location.range.kind else {
                return None;
            };
            let wasm_offset = if trapping {
                location.trap_entry().and_then(|entry| entry.wasm_offset())
            } else {
                let call_site = location.range.call_site(location.offset + 1);
                call_site.and_then(|entry| entry.wasm_offset())
            };
            let func_index = location.module.n_imported_functions + defined_index;
            Some(FrameInfo {
                module: location.module.name.map(str::to_owned),
                func_index,
                func_name: location
                    .module
                    .function_name(func_index)
                    .map(|name| name.to_string()),
                wasm_offset,
            })
        })
        .collect();
    Trap {
        code,
        backtrace,
        backtrace_truncated: truncated,
        exception_tag: None,
        message: None,
    }
}
