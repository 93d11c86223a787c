//! The state a thread's guarded calls share with the signal handler: the innermost guard's
//! saved registers, the wasm stack limit and the last trap, in a thread-local that is
//! const-initialised and has no destructor, so that the handler can read and write it
//! without allocating or registering anything; and the assembly primitives
//! (`traps/<arch>.rs`) that save and restore a guard.

use std::cell::Cell;

/// Maximum number of frames a trap's backtrace records.
pub(super) const MAX_FRAMES: usize = 64;

/// Saved registers of a guarded call; the layout is the assembly's (see `traps/<arch>.rs`).
#[repr(C, align(16))]
pub(super) struct JmpBuf(pub [usize; 24]);

extern "C" {
    /// Saves the callee-saved registers, stack pointer and return address into `buf`, calls
    /// `f(arg)` and returns 0; returns 1 when `kiln_resume_unwind(buf)` runs instead.
    pub(super) fn kiln_call_guarded(
        buf: *mut JmpBuf,
        f: unsafe extern "C" fn(*mut u8),
        arg: *mut u8,
    ) -> u32;
    /// Restores the state saved in `buf`; entered only from a rewritten signal context.
    pub(super) fn kiln_resume_unwind(buf: *mut JmpBuf) -> !;
}

/// Per-thread trap state. Const-initialised, no destructor: the signal handler reads and
/// writes it.
pub(super) struct ThreadState {
    /// The innermost active guarded call's buffer, or null outside wasm.
    pub guard: Cell<*mut JmpBuf>,
    /// The stack limit for wasm on this thread, set by the outermost guarded call.
    pub stack_limit: Cell<usize>,
    /// Lowest usable address of this thread's stack (0 until computed).
    pub stack_low: Cell<usize>,
    /// The last trap's code.
    pub trap_code: Cell<u8>,
    /// Number of valid entries in `frames`.
    pub n_frames: Cell<usize>,
    /// Whether the last trap had more wasm frames than `frames` holds.
    pub frames_truncated: Cell<bool>,
    /// The last trap's PC followed by return addresses into compiled code.
    pub frames: [Cell<usize>; MAX_FRAMES],
}

impl ThreadState {
    const fn new() -> ThreadState {
        ThreadState {
            guard: Cell::new(std::ptr::null_mut()),
            stack_limit: Cell::new(0),
            stack_low: Cell::new(0),
            trap_code: Cell::new(0),
            n_frames: Cell::new(0),
            frames_truncated: Cell::new(false),
            frames: [const { Cell::new(0) }; MAX_FRAMES],
        }
    }
}

thread_local! {
    pub(super) static STATE: ThreadState = const { ThreadState::new() };
}
