//! WASI clocks: `clock_time_get` and `clock_res_get` for the realtime, monotonic,
//! process-CPU and thread-CPU clocks, from the host's `clock_gettime`/`clock_getres`, or
//! from deterministic virtual time (see [`Clocks::Virtual`]).

use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};
use std::cell::Cell;
use std::time::{Duration, Instant};

pub(super) const DEFINITIONS: &[&Definition] =
    &[errno_fn!(clock_time_get), errno_fn!(clock_res_get)];

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

/// What the guest's four clocks read.
pub(crate) enum Clocks {
    /// The host's clocks.
    Host,
    /// Virtual time, the same for all four clocks: nanoseconds, starting at 0, advanced
    /// by [`VIRTUAL_TICK`] before each read and by the length of each wait (which does not
    /// sleep). Given the same inputs, a guest sees the same times on every run.
    Virtual(Cell<u64>),
}

/// How far virtual time advances at each read; also the virtual clocks' resolution.
pub(crate) const VIRTUAL_TICK: u64 = 1_000;

/// A point in time on [`Clocks`], to measure waits from.
pub(crate) enum Started {
    Host(Instant),
    Virtual(u64),
}

impl Clocks {
    /// The time of clock `id` in nanoseconds.
    pub fn now(&self, id: u32) -> Result<u64, Errno> {
        let clock = host_clock(id)?;
        match self {
            Clocks::Host => now(clock),
            Clocks::Virtual(time) => {
                time.set(time.get().wrapping_add(VIRTUAL_TICK));
                Ok(time.get())
            }
        }
    }

    /// Whether time is virtual.
    pub fn is_virtual(&self) -> bool {
        matches!(self, Clocks::Virtual(_))
    }

    /// Now, to measure how long waits take.
    pub fn start(&self) -> Started {
        match self {
            Clocks::Host => Started::Host(Instant::now()),
            Clocks::Virtual(time) => Started::Virtual(time.get()),
        }
    }

    /// How much time has passed since `started`.
    pub fn elapsed(&self, started: &Started) -> Duration {
        match (self, started) {
            (Clocks::Virtual(time), Started::Virtual(start)) => {
                Duration::from_nanos(time.get().wrapping_sub(*start))
            }
            (_, Started::Host(start)) => start.elapsed(),
            (Clocks::Host, Started::Virtual(_)) => Duration::ZERO,
        }
    }

    /// Lets `duration` pass: the host sleeps; virtual time jumps ahead.
    pub fn wait(&self, duration: Duration) {
        match self {
            Clocks::Host => std::thread::sleep(duration),
            Clocks::Virtual(time) => {
                let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
                time.set(time.get().saturating_add(nanos));
            }
        }
    }
}

fn clock_time_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 8)?;
    let time = state.clocks.now(id)?;
    memory.write_u64(pointer, time)
}

fn clock_res_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    id: u32,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 8)?;
    let resolution = state.clocks.resolution(id)?;
    memory.write_u64(pointer, resolution)
}

impl Clocks {
    /// The resolution of clock `id` in nanoseconds (at least 1).
    pub(crate) fn resolution(&self, id: u32) -> Result<u64, Errno> {
        let clock = host_clock(id)?;
        if self.is_virtual() {
            return Ok(VIRTUAL_TICK);
        }
        let mut resolution = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `resolution` is a valid timespec to write.
        if unsafe { libc::clock_getres(clock, &mut resolution) } != 0 {
            return Err(Errno::INVAL);
        }
        Ok(nanoseconds(resolution).max(1))
    }

    /// The time of clock `id` without advancing virtual time (to check deadlines).
    pub(crate) fn peek(&self, id: u32) -> Result<u64, Errno> {
        match self {
            Clocks::Virtual(time) => Ok(time.get()),
            Clocks::Host => now(host_clock(id)?),
        }
    }
}
