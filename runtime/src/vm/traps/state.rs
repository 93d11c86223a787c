//! The state a thread's guarded calls share with the signal handler: a pointer to the
//! innermost guard (its saved registers and the record of a trap under it, on the guarded
//! call's stack frame) and the wasm stack limit, in a thread-local that is
//! const-initialised and has no destructor, so that the handler can read and write it
//! without allocating or registering anything; and the assembly primitives
//! (`traps/<arch>.rs`) that save and restore a guard. The thread-local stays a few words:
//! a static executable's thread-locals fit in the space musl reserves for them, which
//! saves a mapping and a page fault at start-up.

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

/// A guarded call's state, on its stack frame: the registers to resume with, and what the
/// signal handler records of a trap under it.
pub(super) struct Guard {
    /// Saved registers (written by `kiln_call_guarded`).
    pub buf: JmpBuf,
    /// The trap's code.
    pub trap_code: Cell<u8>,
    /// Number of valid entries in `frames`.
    pub n_frames: Cell<usize>,
    /// Whether the trap had more wasm frames than `frames` holds.
    pub frames_truncated: Cell<bool>,
    /// The trap's PC followed by return addresses into compiled code.
    pub frames: [Cell<usize>; MAX_FRAMES],
}

impl Guard {
    pub(super) const fn new() -> Guard {
        Guard {
            buf: JmpBuf([0; 24]),
            trap_code: Cell::new(0),
            n_frames: Cell::new(0),
            frames_truncated: Cell::new(false),
            frames: [const { Cell::new(0) }; MAX_FRAMES],
        }
    }
}

/// Per-thread trap state. Const-initialised, no destructor: the signal handler reads and
/// writes it.
pub(super) struct ThreadState {
    /// The innermost active guarded call's guard, or null outside wasm.
    pub guard: Cell<*mut Guard>,
    /// The stack limit for wasm on this thread, set by the outermost guarded call.
    pub stack_limit: Cell<usize>,
    /// Lowest usable address of this thread's stack (0 until computed).
    pub stack_low: Cell<usize>,
    /// Whether this thread has an alternate signal stack large enough: ours, or one it had
    /// before (see `signals::ensure_alt_stack`).
    pub has_alt_stack: Cell<bool>,
}

impl ThreadState {
    const fn new() -> ThreadState {
        ThreadState {
            guard: Cell::new(std::ptr::null_mut()),
            stack_limit: Cell::new(0),
            stack_low: Cell::new(0),
            has_alt_stack: Cell::new(false),
        }
    }
}

thread_local! {
    pub(super) static STATE: ThreadState = const { ThreadState::new() };
}
