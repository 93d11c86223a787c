//! WASI clocks: `clock_time_get` and `clock_res_get` for the realtime, monotonic,
//! process-CPU and thread-CPU clocks, from the host's `clock_gettime`/`clock_getres`.

use super::{arg_u32, errno, errno_result, memory, Definition, WasiState};
use crate::host::Caller;
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::ValType::{I32, I64};

pub(super) const DEFINITIONS: &[Definition] = &[
    Definition {
        name: "clock_time_get",
        params: &[I32, I64, I32],
        results: &[I32],
        run: clock_time_get,
    },
    Definition {
        name: "clock_res_get",
        params: &[I32, I32],
        results: &[I32],
        run: clock_res_get,
    },
];

/// The host clock for a WASI clock id.
fn host_clock(id: u32) -> Result<libc::clockid_t, u16> {
    match id {
        0 => Ok(libc::CLOCK_REALTIME),
        1 => Ok(libc::CLOCK_MONOTONIC),
        2 => Ok(libc::CLOCK_PROCESS_CPUTIME_ID),
        3 => Ok(libc::CLOCK_THREAD_CPUTIME_ID),
        _ => Err(errno::INVAL),
    }
}

fn nanoseconds(time: libc::timespec) -> u64 {
    (time.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(time.tv_nsec as u64)
}

fn clock_time_get(
    _: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (id, pointer) = (arg_u32(args, 0), arg_u32(args, 2));
    let mut memory = memory(caller)?;
    errno_result((|| {
        memory.check(pointer, 8)?;
        let clock = host_clock(id)?;
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `time` is a valid timespec to write.
        if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
            return Err(errno::INVAL);
        }
        memory.write_u64(pointer, nanoseconds(time))
    })())
}

fn clock_res_get(
    _: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (id, pointer) = (arg_u32(args, 0), arg_u32(args, 1));
    let mut memory = memory(caller)?;
    errno_result((|| {
        memory.check(pointer, 8)?;
        let clock = host_clock(id)?;
        let mut resolution = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `resolution` is a valid timespec to write.
        if unsafe { libc::clock_getres(clock, &mut resolution) } != 0 {
            return Err(errno::INVAL);
        }
        memory.write_u64(pointer, nanoseconds(resolution).max(1))
    })())
}
