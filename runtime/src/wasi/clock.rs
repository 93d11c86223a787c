//! WASI clocks: `clock_time_get` and `clock_res_get` for the realtime, monotonic,
//! process-CPU and thread-CPU clocks, from the host's `clock_gettime`/`clock_getres`.

use super::{arg_u32, errno_fn, Definition, Errno, GuestMemory, WasiState};
use crate::values::Val;

pub(super) const DEFINITIONS: &[Definition] = &[
    errno_fn!(clock_time_get(I32, I64, I32)),
    errno_fn!(clock_res_get(I32, I32)),
];

/// The host clock for a WASI clock id.
pub(super) fn host_clock(id: u32) -> Result<libc::clockid_t, Errno> {
    match id {
        0 => Ok(libc::CLOCK_REALTIME),
        1 => Ok(libc::CLOCK_MONOTONIC),
        2 => Ok(libc::CLOCK_PROCESS_CPUTIME_ID),
        3 => Ok(libc::CLOCK_THREAD_CPUTIME_ID),
        _ => Err(Errno::INVAL),
    }
}

fn nanoseconds(time: libc::timespec) -> u64 {
    (time.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(time.tv_nsec as u64)
}

/// The current time of host clock `clock`, in nanoseconds.
pub(super) fn now(clock: libc::clockid_t) -> Result<u64, Errno> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid timespec to write.
    if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
        return Err(Errno::INVAL);
    }
    Ok(nanoseconds(time))
}

fn clock_time_get(_: &WasiState, memory: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    let (id, pointer) = (arg_u32(args, 0), arg_u32(args, 2));
    memory.check(pointer, 8)?;
    let time = now(host_clock(id)?)?;
    memory.write_u64(pointer, time)
}

fn clock_res_get(_: &WasiState, memory: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    let (id, pointer) = (arg_u32(args, 0), arg_u32(args, 1));
    memory.check(pointer, 8)?;
    let clock = host_clock(id)?;
    let mut resolution = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `resolution` is a valid timespec to write.
    if unsafe { libc::clock_getres(clock, &mut resolution) } != 0 {
        return Err(Errno::INVAL);
    }
    memory.write_u64(pointer, nanoseconds(resolution).max(1))
}
