//! Traps: turning a trapping instruction of compiled code into a returned value.
//!
//! Every entry from the host into wasm goes through [`call_guarded`], which records a
//! resume point with the assembly primitive `kiln_call_guarded` (see `traps/<arch>.rs`) and
//! publishes it in a thread-local. Compiled code traps by executing a trapping instruction
//! (`ud2`/`udf`, a faulting heap access in a guard region, x86 `idiv`), so the kernel
//! delivers SIGILL, SIGSEGV, SIGBUS or SIGFPE. The handler, running on a per-thread
//! alternate stack:
//!
//! 1. reads the PC, SP and frame pointer from the signal context;
//! 2. looks the PC up in the code registry (`code.rs`, lock-free);
//! 3. if the PC is a trap site and the thread is inside a guarded call, records the trap
//!    code and a frame-pointer backtrace in a fixed-size thread-local (no allocation), and
//!    rewrites the context so that returning from the handler continues in
//!    `kiln_resume_unwind` (first argument: the resume buffer), which makes
//!    `kiln_call_guarded` return 1; `sigreturn` restores the signal mask;
//! 4. otherwise reports a host crash on stderr with `write(2)` and re-raises the signal
//!    with the previous disposition (chaining to a previously installed handler, such as
//!    Rust's stack-overflow reporter).
//!
//! The frames skipped by the jump are compiled code, the trampolines and one
//! `extern "C"` shim with nothing to drop: no Rust frame with live state is skipped,
//! because host functions and builtins return to compiled code before it traps.
//!
//! Thread-locals read by the handler are const-initialised and have no destructor, so
//! touching them never allocates or registers anything. The alternate stack is the one
//! thread-local with a destructor; the handler never touches it.
//!
//! Files: this one (the guarded call), `state.rs` (the thread state the handler shares,
//! and the assembly primitives' declarations), `signals.rs` (handlers, alternate stacks,
//! host crashes), `stack.rs` (the wasm stack limit), `<arch>.rs` (the assembly).

use kiln_abi::vmctx::VMLimits;
use kiln_abi::TrapCode;
use state::{kiln_call_guarded, Guard, MAX_FRAMES, STATE};
use std::cell::Cell;

#[cfg(feature = "exe-main")]
pub(crate) use signals::set_executable_signal_stack;

#[cfg(target_arch = "aarch64")]
#[path = "aarch64.rs"]
mod arch;
#[cfg(target_arch = "x86_64")]
#[path = "x86_64.rs"]
mod arch;
mod signals;
mod stack;
mod state;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kiln-runtime supports x86_64 and aarch64 only");

/// A trap caught by [`call_guarded`], before symbolisation.
#[derive(Clone, Debug)]
pub(crate) struct CaughtTrap {
    /// Why compiled code trapped.
    pub code: TrapCode,
    /// The trapping PC, then return addresses into compiled code, innermost first.
    pub frames: Vec<usize>,
    /// Whether outer wasm frames were left out ([`MAX_FRAMES`] were recorded).
    pub truncated: bool,
}

/// Runs `f`, which calls compiled code, so that a trap in that code (on this thread)
/// returns `Err` here instead of killing the process.
///
/// The outermost guarded call of a thread sets the wasm stack limit to the current stack
/// pointer minus `max_wasm_stack` (less if the thread's stack is smaller); every guarded
/// call writes that limit into `*limits` for its duration.
///
/// # Safety
/// `limits` must point to the `VMLimits` the compiled code called by `f` reads. `f` must
/// not own anything that needs dropping across its call into compiled code: when the code
/// traps, the frames between here and the trap are discarded without unwinding.
pub(crate) unsafe fn call_guarded(
    limits: *mut VMLimits,
    max_wasm_stack: usize,
    f: &mut dyn FnMut(),
) -> Result<(), CaughtTrap> {
    signals::install_handlers();
    signals::ensure_alt_stack();
    let outermost = STATE.with(|state| state.guard.get().is_null());
    if outermost {
        let limit = stack::compute_stack_limit(max_wasm_stack);
        STATE.with(|state| state.stack_limit.set(limit));
    }
    let limit = STATE.with(|state| state.stack_limit.get());
    // SAFETY: the caller guarantees `limits` is valid.
    let saved_limit = unsafe { std::ptr::replace(&raw mut (*limits).stack_limit, limit) };

    let mut guard = Guard::new();
    let guard_ptr = &raw mut guard;
    let previous = STATE.with(|state| state.guard.replace(guard_ptr));
    let mut f: &mut dyn FnMut() = f;
    // SAFETY: `guard` outlives the call (the signal handler reaches it through `STATE`
    // only while it is installed there); `call_closure` receives a pointer to `f` (a
    // `&mut dyn FnMut()`), which lives on this frame for the whole call.
    let status = unsafe {
        kiln_call_guarded(
            &raw mut (*guard_ptr).buf,
            call_closure,
            (&raw mut f).cast::<u8>(),
        )
    };
    STATE.with(|state| state.guard.set(previous));
    // SAFETY: as above.
    unsafe { (*limits).stack_limit = saved_limit };

    if status == 0 {
        return Ok(());
    }
    let n_frames = guard.n_frames.get().min(MAX_FRAMES);
    Err(CaughtTrap {
        code: TrapCode::from_u8(guard.trap_code.get()).unwrap_or(TrapCode::Unreachable),
        frames: guard.frames[..n_frames].iter().map(Cell::get).collect(),
        truncated: guard.frames_truncated.get(),
    })
}

/// Calls the `&mut dyn FnMut()` that `closure` points to.
///
/// # Safety
/// `closure` must point to a live `&mut dyn FnMut()`.
unsafe extern "C" fn call_closure(closure: *mut u8) {
    // SAFETY: the caller passes a pointer to a `&mut dyn FnMut()` (see `call_guarded`).
    let f = unsafe { &mut *closure.cast::<&mut dyn FnMut()>() };
    f();
}

#[cfg(test)]
mod tests;
