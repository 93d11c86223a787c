//! Stopping compiled code from another thread: the store's epoch counter, which code
//! compiled with interruption checks loads at every function entry and loop header
//! (`VMLimits::epoch` points here), and the time limit whose timer bumps it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A store's interruption state, shared with its interrupt handles and timer threads.
#[derive(Debug, Default)]
pub struct InterruptState {
    /// Non-zero stops compiled code at its next check.
    epoch: AtomicU64,
    /// Whether the time limit's timer bumped the epoch, so the trap says why.
    timed_out: AtomicBool,
    /// When the current time limit runs out, for WASI calls that block until then at
    /// most. Never locked by a signal handler.
    deadline: Mutex<Option<Instant>>,
}

impl InterruptState {
    /// The counter's address, for `VMLimits::epoch`.
    pub fn epoch_address(&self) -> *const u64 {
        self.epoch.as_ptr().cast_const()
    }

    /// Makes compiled code trap with `Interrupt` at its next check.
    pub fn interrupt(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the last interruption came from the time limit.
    pub fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }

    /// When the current time limit runs out.
    pub fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Clears any interruption and starts a time limit of `limit` from now: a thread
    /// sleeps until then and interrupts, unless another limit replaced this one. Fails
    /// only when no thread can be started.
    pub fn start_time_limit(self: &Arc<InterruptState>, limit: Duration) -> std::io::Result<()> {
        // A limit too far away to represent never runs out.
        let deadline = Instant::now().checked_add(limit);
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = deadline;
        self.timed_out.store(false, Ordering::Relaxed);
        self.epoch.store(0, Ordering::Relaxed);
        let Some(deadline) = deadline else {
            return Ok(());
        };
        let state = Arc::clone(self);
        spawn_detached(Box::new(move || {
            let mut now = Instant::now();
            while now < deadline {
                std::thread::sleep(deadline - now);
                now = Instant::now();
            }
            if state.deadline() == Some(deadline) {
                state.timed_out.store(true, Ordering::Relaxed);
                state.interrupt();
            }
        }))
    }
}

/// The work of a timer thread.
type TimerTask = Box<dyn FnOnce() + Send>;

/// Runs `task` on a new detached thread of the C library's, not `std::thread`'s: the
/// timer needs no name, result or join, and `std::thread` would bring into every
/// executable its spawn hooks and thread-local destructor list (thread-locals that no
/// longer fit the space musl reserves for them) and musl's `printf` (through
/// `pthread_setname_np`), for a thread that most runs never start.
fn spawn_detached(task: TimerTask) -> std::io::Result<()> {
    extern "C" fn start(arg: *mut libc::c_void) -> *mut libc::c_void {
        // SAFETY: `arg` is the `Box<TimerTask>` that `spawn_detached` leaked for this
        // thread, which now owns it.
        let task = unsafe { Box::from_raw(arg.cast::<TimerTask>()) };
        task();
        std::ptr::null_mut()
    }
    let arg = Box::into_raw(Box::new(task));
    // SAFETY: `attr` is initialised before use and destroyed after; `start` takes
    // ownership of `arg` when the thread starts, and we take it back when it does not.
    unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        let mut status = libc::pthread_attr_init(attr.as_mut_ptr());
        if status == 0 {
            status =
                libc::pthread_attr_setdetachstate(attr.as_mut_ptr(), libc::PTHREAD_CREATE_DETACHED);
            if status == 0 {
                let mut thread = std::mem::MaybeUninit::<libc::pthread_t>::uninit();
                status =
                    libc::pthread_create(thread.as_mut_ptr(), attr.as_ptr(), start, arg.cast());
            }
            libc::pthread_attr_destroy(attr.as_mut_ptr());
        }
        if status != 0 {
            drop(Box::from_raw(arg));
            return Err(std::io::Error::from_raw_os_error(status));
        }
    }
    Ok(())
}

/// Stops the guests of a store from any thread: they trap with "interrupted" at their
/// next function entry or loop header (code compiled with interruption checks only).
#[derive(Clone, Debug)]
pub struct InterruptHandle(pub(crate) Arc<InterruptState>);

impl InterruptHandle {
    /// Interrupts the store's guests.
    pub fn interrupt(&self) {
        self.0.interrupt();
    }
}
