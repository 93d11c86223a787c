//! WASI descriptor I/O: `fd_read`, `fd_write`, `fd_pread`, `fd_pwrite`, `fd_seek`,
//! `fd_tell`, `fd_close`, `fd_renumber`, `fd_fdstat_get`, `fd_fdstat_set_flags`,
//! `fd_fdstat_set_rights`, `fd_prestat_get`, `fd_prestat_dir_name`.
//!
//! Reads and writes go straight to the host fd (no buffering): a write returns once the
//! host accepted the bytes; a short read means end of file or no more data for now. Stdio
//! that is connected to nothing reads as end of file and swallows writes. Errors of the
//! host (`EPIPE` for a closed pipe, `EAGAIN` for a non-blocking fd) reach the guest as
//! errnos; `SIGPIPE` is ignored (see `add_to_linker`).

use super::table::{fdflags, filetype, rights, Descriptor, StdioStream};
use super::{errno_fn, Definition, Errno, GuestMemory, HostIovecs, WasiState};
use std::os::fd::{AsRawFd, RawFd};

pub(super) const DEFINITIONS: &[&Definition] = &[
    errno_fn!(fd_read),
    errno_fn!(fd_write),
    errno_fn!(fd_pread),
    errno_fn!(fd_pwrite),
    errno_fn!(fd_seek),
    errno_fn!(fd_tell),
    errno_fn!(fd_close),
    errno_fn!(fd_renumber),
    errno_fn!(fd_fdstat_get),
    errno_fn!(fd_fdstat_set_flags),
    errno_fn!(fd_fdstat_set_rights),
    errno_fn!(fd_prestat_get),
    errno_fn!(fd_prestat_dir_name),
];

/// Retries `call` while it fails with `EINTR`; maps other failures to an errno.
pub(super) fn retry(mut call: impl FnMut() -> isize) -> Result<usize, Errno> {
    loop {
        let result = call();
        if result >= 0 {
            return Ok(result as usize);
        }
        let errno = std::io::Error::last_os_error();
        if errno.raw_os_error() != Some(libc::EINTR) {
            return Err(errno.into());
        }
    }
}

/// Where a read or write of a descriptor goes.
enum Target {
    Host(RawFd),
    /// Stdio connected to nothing.
    Null,
}

/// The target of `fd_read` (`write == false`) or `fd_write` on `descriptor`.
fn io_target(descriptor: &Descriptor, write: bool) -> Result<Target, Errno> {
    match descriptor {
        Descriptor::Stdio { stream, host_fd } => {
            if (*stream == StdioStream::In) == write {
                return Err(Errno::BADF);
            }
            Ok(host_fd.map_or(Target::Null, Target::Host))
        }
        Descriptor::File { file, .. } => Ok(Target::Host(file.as_raw_fd())),
        Descriptor::Dir { .. } => Err(if write { Errno::BADF } else { Errno::ISDIR }),
    }
}

/// `readv`, `writev`, `preadv` or `pwritev` of `iovecs`, retried on `EINTR`.
fn vectored(
    iovecs: &[libc::iovec],
    call: impl Fn(*const libc::iovec, libc::c_int) -> isize,
) -> Result<usize, Errno> {
    // At most `UIO_MAXIOV` (see `GuestMemory::host_iovecs`): the count fits.
    retry(|| call(iovecs.as_ptr(), iovecs.len() as libc::c_int))
}

/// Writes `iovecs` to the host `fd` with `writev`. A blocking stdio stream (`all`) is
/// written to the end: after a partial write the rest follows, until the host takes no
/// more or fails (the bytes already written are still reported).
fn write_host(fd: RawFd, mut iovecs: HostIovecs, all: bool) -> Result<usize, Errno> {
    let mut written = 0;
    let mut first = 0;
    loop {
        // SAFETY: the iovecs point into the guest's memory (`GuestMemory::host_iovecs`).
        let count = match vectored(&iovecs[first..], |iov, n| unsafe {
            libc::writev(fd, iov, n)
        }) {
            Ok(count) => count,
            Err(_) if written > 0 => return Ok(written),
            Err(errno) => return Err(errno),
        };
        written += count;
        let mut left = count;
        while let Some(iovec) = iovecs.get_mut(first) {
            if left < iovec.iov_len {
                // SAFETY: `left` bytes into a buffer longer than that.
                iovec.iov_base = unsafe { iovec.iov_base.cast::<u8>().add(left) }.cast();
                iovec.iov_len -= left;
                break;
            }
            left -= iovec.iov_len;
            first += 1;
        }
        if !all || count == 0 || first == iovecs.len() {
            return Ok(written);
        }
    }
}

fn fd_read(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), Errno> {
    let table = state.table.borrow();
    let target = io_target(table.get(fd)?, false)?;
    let iovecs = memory.host_iovecs(iovs, iovs_len)?;
    memory.check(nread, 4)?;
    let count = match target {
        Target::Null => 0,
        Target::Host(fd) => {
            wait_readable(state, fd)?;
            // SAFETY: the iovecs point into the guest's memory (`GuestMemory::host_iovecs`).
            vectored(&iovecs, |iov, n| unsafe { libc::readv(fd, iov, n) })?
        }
    };
    memory.write_u32(nread, count as u32)
}

/// Under a time limit, waits until `fd` has something to read (or an end, or an error)
/// for as long as the limit leaves, and fails with `INTR` when it runs out first: a read
/// from a pipe or terminal that blocks must not outlast the guest's time.
fn wait_readable(state: &WasiState, fd: RawFd) -> Result<(), Errno> {
    if state.time_left().is_none() {
        return Ok(());
    }
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        let left = state.time_left().unwrap_or_default();
        if left.is_zero() {
            return Err(Errno::INTR);
        }
        let timeout = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let result = unsafe { libc::poll(&mut pollfd, 1, timeout) };
        match result {
            0 => {}
            1.. => return Ok(()),
            _ if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => {}
            _ => return Err(std::io::Error::last_os_error().into()),
        }
    }
}

fn fd_write(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> Result<(), Errno> {
    let table = state.table.borrow();
    let descriptor = table.get(fd)?;
    let stdio = matches!(descriptor, Descriptor::Stdio { .. });
    let target = io_target(descriptor, true)?;
    let iovecs = memory.host_iovecs(iovs, iovs_len)?;
    memory.check(nwritten, 4)?;
    let count = match target {
        Target::Null => iovecs.iter().map(|iovec| iovec.iov_len).sum(),
        Target::Host(fd) => write_host(fd, iovecs, stdio)?,
    };
    memory.write_u32(nwritten, count as u32)
}

/// The file of a positioned read or write: `ESPIPE` for stdio, `EBADF` (or `EISDIR`)
/// for a directory.
fn positioned_file(state: &WasiState, fd: u32) -> Result<RawFd, Errno> {
    match state.table.borrow().get(fd)? {
        Descriptor::File { file, .. } => Ok(file.as_raw_fd()),
        Descriptor::Stdio { .. } => Err(Errno::SPIPE),
        Descriptor::Dir { .. } => Err(Errno::BADF),
    }
}

/// A file offset as the host's `off_t`.
fn offset(value: u64) -> Result<libc::off_t, Errno> {
    libc::off_t::try_from(value).map_err(|_| Errno::INVAL)
}

fn fd_pread(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    position: u64,
    nread: u32,
) -> Result<(), Errno> {
    let iovecs = memory.host_iovecs(iovs, iovs_len)?;
    memory.check(nread, 4)?;
    let host_fd = positioned_file(state, fd)?;
    let at = offset(position)?;
    // SAFETY: the iovecs point into the guest's memory (`GuestMemory::host_iovecs`).
    let count = vectored(&iovecs, |iov, n| unsafe {
        libc::preadv(host_fd, iov, n, at)
    })?;
    memory.write_u32(nread, count as u32)
}

fn fd_pwrite(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    position: u64,
    nwritten: u32,
) -> Result<(), Errno> {
    let iovecs = memory.host_iovecs(iovs, iovs_len)?;
    memory.check(nwritten, 4)?;
    let host_fd = positioned_file(state, fd)?;
    let at = offset(position)?;
    // SAFETY: the iovecs point into the guest's memory (`GuestMemory::host_iovecs`).
    let count = vectored(&iovecs, |iov, n| unsafe {
        libc::pwritev(host_fd, iov, n, at)
    })?;
    memory.write_u32(nwritten, count as u32)
}

/// `whence` of preview 1: set, cur, end.
pub(super) const WHENCE_PREVIEW1: [libc::c_int; 3] =
    [libc::SEEK_SET, libc::SEEK_CUR, libc::SEEK_END];

/// `fd_seek` with a table of host whence values indexed by the guest's.
pub(super) fn seek(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    delta: i64,
    whence: u32,
    new_offset: u32,
    whence_table: &[libc::c_int; 3],
) -> Result<(), Errno> {
    memory.check(new_offset, 8)?;
    let host_fd = positioned_file(state, fd)?;
    let whence = *whence_table.get(whence as usize).ok_or(Errno::INVAL)?;
    // SAFETY: lseek on an fd this table owns.
    let position = unsafe { libc::lseek(host_fd, delta, whence) };
    if position < 0 {
        return Err(Errno::last());
    }
    memory.write_u64(new_offset, position as u64)
}

fn fd_seek(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    delta: i64,
    whence: u32,
    new_offset: u32,
) -> Result<(), Errno> {
    seek(
        state,
        memory,
        fd,
        delta,
        whence,
        new_offset,
        &WHENCE_PREVIEW1,
    )
}

fn fd_tell(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 8)?;
    let host_fd = positioned_file(state, fd)?;
    // SAFETY: lseek on an fd this table owns.
    let position = unsafe { libc::lseek(host_fd, 0, libc::SEEK_CUR) };
    if position < 0 {
        return Err(Errno::last());
    }
    memory.write_u64(pointer, position as u64)
}

fn fd_close(state: &WasiState, _: &mut GuestMemory<'_>, fd: u32) -> Result<(), Errno> {
    // Dropping the descriptor closes a file or directory; the host's stdio stays open
    // and the guest just loses access to it.
    state.table.borrow_mut().remove(fd).map(drop)
}

fn fd_renumber(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    from: u32,
    to: u32,
) -> Result<(), Errno> {
    state.table.borrow_mut().renumber(from, to)
}

/// The host's `st_mode` and status flags of `fd`.
fn host_mode_and_flags(fd: RawFd) -> Result<(u32, libc::c_int), Errno> {
    // SAFETY: fstat writes a `stat` for an open fd.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `stat` is valid to write.
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return Err(Errno::last());
    }
    // SAFETY: F_GETFL takes no argument.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(Errno::last());
    }
    Ok((stat.st_mode, flags))
}

fn fd_fdstat_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 24)?;
    let table = state.table.borrow();
    let (file_type, flags, base, inheriting) = match table.get(fd)? {
        Descriptor::Stdio { stream, host_fd } => {
            let base = match stream {
                StdioStream::In => rights::FD_READ,
                _ => rights::FD_WRITE,
            } | rights::POLL_FD_READWRITE;
            let (file_type, flags) = match host_fd {
                Some(host_fd) => {
                    let (mode, flags) = host_mode_and_flags(*host_fd)?;
                    (filetype::from_mode(mode), status_to_fdflags(flags))
                }
                None => (filetype::CHARACTER_DEVICE, 0),
            };
            (file_type, flags, base, base)
        }
        Descriptor::Dir {
            preopen: Some(_), ..
        } => (
            filetype::DIRECTORY,
            0,
            rights::PREOPEN_BASE,
            rights::PREOPEN_INHERITING,
        ),
        descriptor => {
            let (mode, flags) = host_mode_and_flags(descriptor.raw_fd().ok_or(Errno::BADF)?)?;
            let file_type = filetype::from_mode(mode);
            let mut base = rights::ALL;
            if file_type == filetype::DIRECTORY {
                // As in Wasmtime: sizes cannot be set through a directory.
                base &= !(rights::FD_SEEK
                    | rights::FD_FILESTAT_SET_SIZE
                    | rights::PATH_FILESTAT_SET_SIZE);
            }
            let access = flags & libc::O_ACCMODE;
            if access == libc::O_WRONLY {
                base &= !(rights::FD_READ | rights::FD_READDIR);
            }
            if access == libc::O_RDONLY {
                base &= !rights::FD_WRITE;
            }
            (file_type, status_to_fdflags(flags), base, base)
        }
    };
    // fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting @16.
    let mut fdstat = [0u8; 24];
    fdstat[0] = file_type;
    fdstat[2..4].copy_from_slice(&flags.to_le_bytes());
    fdstat[8..16].copy_from_slice(&base.to_le_bytes());
    fdstat[16..24].copy_from_slice(&inheriting.to_le_bytes());
    memory.write_bytes(pointer, &fdstat)
}

/// The `fdflags` of host status flags.
fn status_to_fdflags(flags: libc::c_int) -> u16 {
    let mut fdflags = 0;
    if flags & libc::O_APPEND != 0 {
        fdflags |= fdflags::APPEND;
    }
    if flags & libc::O_NONBLOCK != 0 {
        fdflags |= fdflags::NONBLOCK;
    }
    if flags & libc::O_SYNC == libc::O_SYNC {
        fdflags |= fdflags::SYNC;
    } else if flags & libc::O_DSYNC != 0 {
        fdflags |= fdflags::DSYNC;
    }
    fdflags
}

fn fd_fdstat_set_flags(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
) -> Result<(), Errno> {
    let table = state.table.borrow();
    let host_fd = match table.get(fd)? {
        Descriptor::File { file, .. } => file.as_raw_fd(),
        Descriptor::Stdio {
            host_fd: Some(host_fd),
            ..
        } => *host_fd,
        _ => return Err(Errno::BADF),
    };
    if flags > u32::from(fdflags::ALL) {
        return Err(Errno::INVAL);
    }
    let flags = flags as u16;
    // As in Wasmtime, only APPEND and NONBLOCK can change after opening.
    if flags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
        return Err(Errno::INVAL);
    }
    // SAFETY: F_GETFL takes no argument.
    let mut status = unsafe { libc::fcntl(host_fd, libc::F_GETFL) };
    if status < 0 {
        return Err(Errno::last());
    }
    status &= !(libc::O_APPEND | libc::O_NONBLOCK);
    if flags & fdflags::APPEND != 0 {
        status |= libc::O_APPEND;
    }
    if flags & fdflags::NONBLOCK != 0 {
        status |= libc::O_NONBLOCK;
    }
    // SAFETY: F_SETFL takes an int of status flags.
    if unsafe { libc::fcntl(host_fd, libc::F_SETFL, status) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn fd_fdstat_set_rights(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    fd: u32,
    _base: u64,
    _inheriting: u64,
) -> Result<(), Errno> {
    // Rights are not a security boundary (the preopens are); like Wasmtime, kiln does
    // not let them be narrowed after the fact.
    state.table.borrow().get(fd)?;
    Err(Errno::NOTSUP)
}

/// The guest path of preopened directory `fd`.
fn preopen_name(state: &WasiState, fd: u32) -> Result<String, Errno> {
    match state.table.borrow().get(fd)? {
        Descriptor::Dir {
            preopen: Some(name),
            ..
        } => Ok(name.clone()),
        _ => Err(Errno::BADF),
    }
}

fn fd_prestat_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 8)?;
    let name = preopen_name(state, fd)?;
    // prestat: tag u8 @0 (0: dir), pr_name_len u32 @4.
    let mut prestat = [0u8; 8];
    prestat[4..].copy_from_slice(&(name.len() as u32).to_le_bytes());
    memory.write_bytes(pointer, &prestat)
}

fn fd_prestat_dir_name(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    pointer: u32,
    len: u32,
) -> Result<(), Errno> {
    memory.check(pointer, len)?;
    let name = preopen_name(state, fd)?;
    if name.len() > len as usize {
        return Err(Errno::NAMETOOLONG);
    }
    memory.write_bytes(pointer, name.as_bytes())
}
