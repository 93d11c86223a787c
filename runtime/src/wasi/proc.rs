//! WASI process functions: `proc_exit` stops the guest (through the host-unwind path: the
//! exit code travels as `HostError::Exit` to whoever entered wasm; a code of 126 or more,
//! which WASI does not allow and a shell reads as a signal or a failure to run, is an
//! error naming it instead, as in Wasmtime), `proc_raise` (signals
//! are not delivered to guests: `ENOSYS`, leaving the process intact), `sched_yield`
//! yields the host thread.

use super::{errno_fn, raw_fn, Definition, Errno, GuestMemory, WasiState};
use crate::Caller;
use crate::HostError;

pub(super) const DEFINITIONS: &[&Definition] = &[
    raw_fn!(proc_exit),
    errno_fn!(proc_raise),
    errno_fn!(sched_yield),
];

/// Exit codes WASI allows: 0..126 (witx: "a value of 126 or greater ... behaves as if it
/// were implemented by an `unreachable`").
const MAX_EXIT_CODE: u32 = 125;

fn proc_exit(_: &WasiState, _: &mut Caller<'_>, code: u32) -> Result<(), HostError> {
    if code > MAX_EXIT_CODE {
        return Err(HostError::Message(format!(
            "exit with invalid exit status {code}: WASI allows 0 to {MAX_EXIT_CODE}"
        )));
    }
    Err(HostError::Exit(code as i32))
}

fn proc_raise(_: &WasiState, _: &mut GuestMemory<'_>, signal: u32) -> Result<(), Errno> {
    // `signal` has 31 values (none = 0 is not one to raise).
    match signal {
        1..=30 => Err(Errno::NOSYS),
        _ => Err(Errno::INVAL),
    }
}

fn sched_yield(_: &WasiState, _: &mut GuestMemory<'_>) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}
