//! WASI file descriptors. Only stdio exists so far: fd 0 reads the process's stdin, fds 1
//! and 2 write its stdout and stderr (unbuffered, every byte written before returning).
//! There are no preopened directories, so `fd_prestat_get` reports `EBADF` for every fd,
//! which tells a guest's libc that the preopen list is empty.

use super::{arg_u32, errno, errno_result, memory, Definition, WasiState};
use crate::host::Caller;
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::ValType::{I32, I64};

pub(super) const DEFINITIONS: &[Definition] = &[
    Definition {
        name: "fd_write",
        params: &[I32, I32, I32, I32],
        results: &[I32],
        run: fd_write,
    },
    Definition {
        name: "fd_read",
        params: &[I32, I32, I32, I32],
        results: &[I32],
        run: fd_read,
    },
    Definition {
        name: "fd_close",
        params: &[I32],
        results: &[I32],
        run: fd_close,
    },
    Definition {
        name: "fd_seek",
        params: &[I32, I64, I32, I32],
        results: &[I32],
        run: fd_seek,
    },
    Definition {
        name: "fd_tell",
        params: &[I32, I32],
        results: &[I32],
        run: fd_tell,
    },
    Definition {
        name: "fd_fdstat_get",
        params: &[I32, I32],
        results: &[I32],
        run: fd_fdstat_get,
    },
    Definition {
        name: "fd_prestat_get",
        params: &[I32, I32],
        results: &[I32],
        run: fd_prestat_get,
    },
    Definition {
        name: "fd_prestat_dir_name",
        params: &[I32, I32, I32],
        results: &[I32],
        run: fd_prestat_dir_name,
    },
];

/// `filetype::character_device`.
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
/// Rights bits (witx `rights`).
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_POLL_FD_READWRITE: u64 = 1 << 27;

/// Whether `fd` is an open stdio descriptor.
fn is_open(state: &WasiState, fd: u32) -> bool {
    fd < 3 && state.stdio_open.get()[fd as usize]
}

/// Writes all of `bytes` to host fd `fd`.
fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), u16> {
    while !bytes.is_empty() {
        // SAFETY: writing from a valid buffer of `bytes.len()` bytes.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if written < 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EPIPE) => return Err(errno::PIPE),
                _ => return Err(errno::IO),
            }
        }
        bytes = &bytes[written as usize..];
    }
    Ok(())
}

fn fd_write(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (fd, iovs, iovs_len, nwritten) = (
        arg_u32(args, 0),
        arg_u32(args, 1),
        arg_u32(args, 2),
        arg_u32(args, 3),
    );
    let mut memory = memory(caller)?;
    errno_result((|| {
        let iovecs = memory.iovecs(iovs, iovs_len)?;
        memory.check(nwritten, 4)?;
        if fd == 0 || !is_open(state, fd) {
            return Err(errno::BADF);
        }
        let mut total: u32 = 0;
        for (buf, len) in iovecs {
            write_all(fd as i32, memory.slice(buf, len)?)?;
            total = total.wrapping_add(len);
        }
        memory.write_u32(nwritten, total)
    })())
}

fn fd_read(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (fd, iovs, iovs_len, nread) = (
        arg_u32(args, 0),
        arg_u32(args, 1),
        arg_u32(args, 2),
        arg_u32(args, 3),
    );
    let mut memory = memory(caller)?;
    errno_result((|| {
        let iovecs = memory.iovecs(iovs, iovs_len)?;
        memory.check(nread, 4)?;
        if fd != 0 || !is_open(state, fd) {
            return Err(errno::BADF);
        }
        let mut total: u32 = 0;
        for (buf, len) in iovecs {
            let target = memory.slice_mut(buf, len)?;
            let read = loop {
                // SAFETY: reading into a valid buffer of `target.len()` bytes.
                let read = unsafe { libc::read(0, target.as_mut_ptr().cast(), target.len()) };
                if read >= 0 {
                    break read as u32;
                }
                if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    return Err(errno::IO);
                }
            };
            total = total.wrapping_add(read);
            if read < len {
                break;
            }
        }
        memory.write_u32(nread, total)
    })())
}

fn fd_close(state: &WasiState, _: &mut Caller<'_>, args: &[Val]) -> Result<Vec<Val>, HostError> {
    let fd = arg_u32(args, 0);
    errno_result(if is_open(state, fd) {
        // The host's stdio stays open; the guest just loses access to it.
        let mut open = state.stdio_open.get();
        open[fd as usize] = false;
        state.stdio_open.set(open);
        Ok(())
    } else {
        Err(errno::BADF)
    })
}

fn fd_seek(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (fd, new_offset) = (arg_u32(args, 0), arg_u32(args, 3));
    let memory = memory(caller)?;
    errno_result(memory.check(new_offset, 8).and_then(|()| {
        Err(if is_open(state, fd) {
            errno::SPIPE
        } else {
            errno::BADF
        })
    }))
}

fn fd_tell(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (fd, offset) = (arg_u32(args, 0), arg_u32(args, 1));
    let memory = memory(caller)?;
    errno_result(memory.check(offset, 8).and_then(|()| {
        Err(if is_open(state, fd) {
            errno::SPIPE
        } else {
            errno::BADF
        })
    }))
}

fn fd_fdstat_get(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (fd, pointer) = (arg_u32(args, 0), arg_u32(args, 1));
    let mut memory = memory(caller)?;
    errno_result((|| {
        memory.check(pointer, 24)?;
        if !is_open(state, fd) {
            return Err(errno::BADF);
        }
        let rights = RIGHT_POLL_FD_READWRITE
            | if fd == 0 {
                RIGHT_FD_READ
            } else {
                RIGHT_FD_WRITE
            };
        // fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting @16.
        let mut fdstat = [0u8; 24];
        fdstat[0] = FILETYPE_CHARACTER_DEVICE;
        fdstat[8..16].copy_from_slice(&rights.to_le_bytes());
        memory.write_bytes(pointer, &fdstat)
    })())
}

fn fd_prestat_get(
    _: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let pointer = arg_u32(args, 1);
    let memory = memory(caller)?;
    errno_result(memory.check(pointer, 8).and(Err(errno::BADF)))
}

fn fd_prestat_dir_name(
    _: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (pointer, len) = (arg_u32(args, 1), arg_u32(args, 2));
    let memory = memory(caller)?;
    errno_result(memory.check(pointer, len).and(Err(errno::BADF)))
}
