//! WASI process functions: `proc_exit` stops the guest (through the host-unwind path: the
//! exit code travels as `HostError::Exit` to whoever entered wasm), `sched_yield` yields
//! the host thread.

use super::{arg_u32, errno_result, Definition, WasiState};
use crate::host::Caller;
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::ValType::I32;

pub(super) const DEFINITIONS: &[Definition] = &[
    Definition {
        name: "proc_exit",
        params: &[I32],
        results: &[],
        run: proc_exit,
    },
    Definition {
        name: "sched_yield",
        params: &[],
        results: &[I32],
        run: sched_yield,
    },
];

fn proc_exit(_: &WasiState, _: &mut Caller<'_>, args: &[Val]) -> Result<Vec<Val>, HostError> {
    Err(HostError::Exit(arg_u32(args, 0) as i32))
}

fn sched_yield(_: &WasiState, _: &mut Caller<'_>, _: &[Val]) -> Result<Vec<Val>, HostError> {
    std::thread::yield_now();
    errno_result(Ok(()))
}
