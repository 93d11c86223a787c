//! WASI sockets: `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`.
//!
//! kiln grants no sockets (there is no flag to preopen one), so no descriptor is a
//! socket: an open descriptor gives `ENOTSOCK`, any other `EBADF`, after the pointers
//! have been checked (`EFAULT`).

use super::{arg_u32, errno_fn, Definition, Errno, GuestMemory, WasiState};
use crate::Val;

pub(super) const DEFINITIONS: &[Definition] = &[
    errno_fn!(sock_accept(I32, I32, I32)),
    errno_fn!(sock_recv(I32, I32, I32, I32, I32, I32)),
    errno_fn!(sock_send(I32, I32, I32, I32, I32)),
    errno_fn!(sock_shutdown(I32, I32)),
];

/// `ENOTSOCK` for an open descriptor, `EBADF` otherwise.
fn not_a_socket(state: &WasiState, fd: u32) -> Result<(), Errno> {
    state.table.borrow().get(fd)?;
    Err(Errno::NOTSOCK)
}

fn sock_accept(state: &WasiState, memory: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    let (fd, flags, result) = (arg_u32(args, 0), arg_u32(args, 1), arg_u32(args, 2));
    memory.check(result, 4)?;
    // `fdflags`: only NONBLOCK is meaningful for an accepted socket.
    if flags & !(1 << 2) != 0 {
        return Err(Errno::INVAL);
    }
    not_a_socket(state, fd)
}

fn sock_recv(state: &WasiState, memory: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    let (fd, iovs, iovs_len, ro_datalen, ro_flags) = (
        arg_u32(args, 0),
        arg_u32(args, 1),
        arg_u32(args, 2),
        arg_u32(args, 4),
        arg_u32(args, 5),
    );
    memory.iovecs(iovs, iovs_len)?;
    memory.check(ro_datalen, 4)?;
    memory.check(ro_flags, 2)?;
    not_a_socket(state, fd)
}

fn sock_send(state: &WasiState, memory: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    let (fd, iovs, iovs_len, so_datalen) = (
        arg_u32(args, 0),
        arg_u32(args, 1),
        arg_u32(args, 2),
        arg_u32(args, 4),
    );
    memory.iovecs(iovs, iovs_len)?;
    memory.check(so_datalen, 4)?;
    not_a_socket(state, fd)
}

fn sock_shutdown(state: &WasiState, _: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    // As on the host, "not a socket" comes before any check of `how`.
    not_a_socket(state, arg_u32(args, 0))
}
