//! WASI process functions: `proc_exit` stops the guest (through the host-unwind path: the
//! exit code travels as `HostError::Exit` to whoever entered wasm), `proc_raise` (signals
//! are not delivered to guests: `ENOSYS`, leaving the process intact), `sched_yield`
//! yields the host thread.

use super::{arg_u32, errno_fn, Definition, Errno, GuestMemory, Run, WasiState};
use crate::Caller;
use crate::HostError;
use crate::Val;
use kiln_abi::metadata::ValType::I32;

pub(super) const DEFINITIONS: &[Definition] = &[
    Definition {
        name: "proc_exit",
        params: &[I32],
        results: &[],
        run: Run::Raw(proc_exit),
    },
    errno_fn!(proc_raise(I32)),
    errno_fn!(sched_yield()),
];

fn proc_exit(_: &WasiState, _: &mut Caller<'_>, args: &[Val]) -> Result<Vec<Val>, HostError> {
    Err(HostError::Exit(arg_u32(args, 0) as i32))
}

fn proc_raise(_: &WasiState, _: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    // `signal` has 31 values (none = 0 is not one to raise).
    match arg_u32(args, 0) {
        1..=30 => Err(Errno::NOSYS),
        _ => Err(Errno::INVAL),
    }
}

fn sched_yield(_: &WasiState, _: &mut GuestMemory<'_>, _: &[Val]) -> Result<(), Errno> {
    std::thread::yield_now();
    Ok(())
}
