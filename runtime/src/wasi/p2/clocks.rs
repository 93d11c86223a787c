//! `wasi:clocks`: monotonic-clock (`now`, `resolution`, `subscribe-instant`,
//! `subscribe-duration`) and wall-clock (`now`, `resolution`), on preview 1's clocks: the
//! host's `CLOCK_MONOTONIC` and `CLOCK_REALTIME`, or in deterministic mode one virtual
//! time that advances 1 µs at each read and jumps to the deadline of a wait.

use super::io::{push_pollable, Pollable};
use super::values::{datetime, one};
use super::{host_fn, Args, HostFunction, HostResult, WasiP2};
use crate::component::{ComponentVal, HostCallError};

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!("wasi:clocks/monotonic-clock", "now", monotonic_now),
    host_fn!(
        "wasi:clocks/monotonic-clock",
        "resolution",
        monotonic_resolution
    ),
    host_fn!(
        "wasi:clocks/monotonic-clock",
        "subscribe-instant",
        monotonic_subscribe_instant
    ),
    host_fn!(
        "wasi:clocks/monotonic-clock",
        "subscribe-duration",
        monotonic_subscribe_duration
    ),
    host_fn!("wasi:clocks/wall-clock", "now", wall_now),
    host_fn!("wasi:clocks/wall-clock", "resolution", wall_resolution),
];

/// Preview 1's clock ids.
const REALTIME: u32 = 0;
const MONOTONIC: u32 = 1;

/// A clock that cannot be read: the host has no such clock, which WASI has no error for.
fn unreadable(clock: &str) -> HostCallError {
    HostCallError::Failed(format!("wasi: the host's {clock} clock cannot be read"))
}

fn monotonic_now(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let now = host
        .state
        .clocks
        .now(MONOTONIC)
        .map_err(|_| unreadable("monotonic"))?;
    Ok(one(ComponentVal::U64(now)))
}

fn monotonic_resolution(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let resolution = host
        .state
        .clocks
        .resolution(MONOTONIC)
        .map_err(|_| unreadable("monotonic"))?;
    Ok(one(ComponentVal::U64(resolution)))
}

fn monotonic_subscribe_instant(host: &mut WasiP2, mut args: Args) -> HostResult {
    let when = args.u64()?;
    args.end()?;
    push_pollable(host, Pollable::Deadline(when), None)
}

fn monotonic_subscribe_duration(host: &mut WasiP2, mut args: Args) -> HostResult {
    let duration = args.u64()?;
    args.end()?;
    let now = host
        .state
        .clocks
        .peek(MONOTONIC)
        .map_err(|_| unreadable("monotonic"))?;
    push_pollable(host, Pollable::Deadline(now.saturating_add(duration)), None)
}

fn wall_now(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let now = host
        .state
        .clocks
        .now(REALTIME)
        .map_err(|_| unreadable("realtime"))?;
    Ok(one(datetime(now)))
}

fn wall_resolution(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let resolution = host
        .state
        .clocks
        .resolution(REALTIME)
        .map_err(|_| unreadable("realtime"))?;
    Ok(one(datetime(resolution)))
}
