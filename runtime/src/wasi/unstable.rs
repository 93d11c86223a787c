//! The functions of `wasi_unstable` (snapshot 0) whose layouts differ from preview 1;
//! every other function is shared. From the snapshot 0 witx:
//! - `whence`: `cur` = 0, `end` = 1, `set` = 2 (preview 1: `set`, `cur`, `end`);
//! - `filestat`: `nlink` is a u32 at offset 20 and the struct is 56 bytes (preview 1: a
//!   u64 at 24, 64 bytes), used by `fd_filestat_get` and `path_filestat_get`;
//! - `subscription`: the clock variant starts with a u64 `identifier`, moving `id`,
//!   `timeout`, `precision` and `flags` 8 bytes on (56 bytes in all; preview 1: 48).
//!
//! `event`, `dirent`, `fdstat`, `prestat`, rights, flags and errno values are the same.

use super::file::fd_filestat;
use super::path::path_filestat;
use super::poll::{poll, SubscriptionLayout};
use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};

pub(super) const DEFINITIONS: &[&Definition] = &[
    errno_fn!(fd_seek, "unstable_"),
    errno_fn!(fd_filestat_get, "unstable_"),
    errno_fn!(path_filestat_get, "unstable_"),
    errno_fn!(poll_oneoff, "unstable_"),
];

/// The names of [`DEFINITIONS`], without referring to the functions (see
/// `super::import_symbol`).
pub(super) const NAMES: [&str; 4] = [
    "fd_seek",
    "fd_filestat_get",
    "path_filestat_get",
    "poll_oneoff",
];

/// Snapshot 0's `whence`: cur, end, set.
const WHENCE_UNSTABLE: [libc::c_int; 3] = [libc::SEEK_CUR, libc::SEEK_END, libc::SEEK_SET];

/// Snapshot 0's subscription: userdata u64 @0, tag u8 @8; clock: identifier u64 @16, id
/// u32 @24, timeout u64 @32, precision u64 @40, flags u16 @48; fd_readwrite: fd u32 @16.
const SUBSCRIPTION_UNSTABLE: SubscriptionLayout = SubscriptionLayout {
    size: 56,
    clock_id: 24,
    clock_timeout: 32,
    clock_flags: 48,
};

fn fd_seek(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    delta: i64,
    whence: u32,
    new_offset: u32,
) -> Result<(), Errno> {
    super::fd::seek(
        state,
        memory,
        fd,
        delta,
        whence,
        new_offset,
        &WHENCE_UNSTABLE,
    )
}

fn fd_filestat_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 56)?;
    let filestat = fd_filestat(state, fd)?;
    memory.write_bytes(pointer, &filestat.unstable())
}

fn path_filestat_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: u32,
    len: u32,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 56)?;
    let filestat = path_filestat(state, memory, fd, lookupflags, path, len)?;
    memory.write_bytes(pointer, &filestat.unstable())
}

fn poll_oneoff(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    subscriptions: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> Result<(), Errno> {
    let layout = &SUBSCRIPTION_UNSTABLE;
    poll(state, memory, subscriptions, events, count, nevents, layout)
}
