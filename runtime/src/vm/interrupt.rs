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
        start_timer(Arc::clone(self), deadline)
    }
}

/// Starts the thread that interrupts `state` at `deadline` unless another limit replaced
/// this one by then. In the runtime of executables this is a part linked on demand
/// (`vm/linked.rs`): only executables with a time limit carry the thread support.
#[cfg_attr(feature = "exe-main", export_name = "kiln_timer_start")]
fn start_timer_thread(state: Arc<InterruptState>, deadline: Instant) -> std::io::Result<()> {
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

#[cfg(not(feature = "exe-main"))]
use start_timer_thread as start_timer;

#[cfg(feature = "exe-main")]
super::linked::linked_part!(
    kiln_linked_timer,
    fn linked_timer() -> Option<fn(Arc<InterruptState>, Instant) -> std::io::Result<()>>
);

/// The timer thread that `kiln build` linked into this executable (with a time limit
/// baked in), or an error saying it is missing.
#[cfg(feature = "exe-main")]
fn start_timer(state: Arc<InterruptState>, deadline: Instant) -> std::io::Result<()> {
    match linked_timer() {
        Some(start) => start(state, deadline),
        None => Err(std::io::Error::other(TimerNotLinked)),
    }
}

/// The time limit of an executable linked without the timer thread (not by `kiln build`,
/// which links it whenever it bakes in a time limit).
#[cfg(feature = "exe-main")]
#[derive(Debug)]
struct TimerNotLinked;

#[cfg(feature = "exe-main")]
impl std::fmt::Display for TimerNotLinked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the executable was linked without the time limit's timer thread")
    }
}

#[cfg(feature = "exe-main")]
impl std::error::Error for TimerNotLinked {}

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
