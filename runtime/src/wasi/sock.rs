//! WASI sockets: `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`.
//!
//! kiln grants no sockets (there is no flag to preopen one), so no descriptor is a
//! socket: an open descriptor gives `ENOTSOCK`, any other `EBADF`, after the pointers
//! have been checked (`EFAULT`).

// A WASI function takes the witx parameters one by one, after the state and the memory.
#![allow(clippy::too_many_arguments)]

use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};

pub(super) const DEFINITIONS: &[&Definition] = &[
    errno_fn!(sock_accept),
    errno_fn!(sock_recv),
    errno_fn!(sock_send),
    errno_fn!(sock_shutdown),
];

/// `ENOTSOCK` for an open descriptor, `EBADF` otherwise.
fn not_a_socket(state: &WasiState, fd: u32) -> Result<(), Errno> {
    state.table.borrow().get(fd)?;
    Err(Errno::NOTSOCK)
}

fn sock_accept(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    result: u32,
) -> Result<(), Errno> {
    memory.check(result, 4)?;
    // `fdflags`: only NONBLOCK is meaningful for an accepted socket.
    if flags & !(1 << 2) != 0 {
        return Err(Errno::INVAL);
    }
    not_a_socket(state, fd)
}

fn sock_recv(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    _ri_flags: u32,
    ro_datalen: u32,
    ro_flags: u32,
) -> Result<(), Errno> {
    memory.check_iovecs(iovs, iovs_len)?;
    memory.check(ro_datalen, 4)?;
    memory.check(ro_flags, 2)?;
    not_a_socket(state, fd)
}

fn sock_send(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    _si_flags: u32,
    so_datalen: u32,
) -> Result<(), Errno> {
    memory.check_iovecs(iovs, iovs_len)?;
    memory.check(so_datalen, 4)?;
    not_a_socket(state, fd)
}

fn sock_shutdown(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    fd: u32,
    _how: u32,
) -> Result<(), Errno> {
    // As on the host, "not a socket" comes before any check of `how`.
    not_a_socket(state, fd)
}
