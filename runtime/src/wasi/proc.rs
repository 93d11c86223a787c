//! WASI process functions: `proc_exit` stops the guest (through the host-unwind path: the
//! exit code travels as `HostError::Exit` to whoever entered wasm), `proc_raise` (signals
//! are not delivered to guests: `ENOSYS`, leaving the process intact), `sched_yield`
//! yields the host thread.

use super::{errno_fn, raw_fn, Definition, Errno, GuestMemory, WasiState};
use crate::Caller;
use crate::HostError;

pub(super) const DEFINITIONS: &[Definition] = &[
    raw_fn!(proc_exit),
    errno_fn!(proc_raise),
    errno_fn!(sched_yield),
];

fn proc_exit(_: &WasiState, _: &mut Caller<'_>, code: u32) -> Result<(), HostError> {
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
