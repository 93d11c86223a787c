//! WASI path operations: `path_open`, `path_create_directory`, `path_remove_directory`,
//! `path_unlink_file`, `path_rename`, `path_link`, `path_symlink`, `path_readlink`,
//! `path_filestat_get`, `path_filestat_set_times`.
//!
//! # Sandbox
//! Every path is resolved by `cap-std` relative to a directory descriptor that came
//! from a preopen (directly or through `path_open`). `cap-std` resolves beneath that
//! directory (`openat2` with `RESOLVE_BENEATH` where the kernel has it, a checked walk
//! component by component elsewhere): `..` past the directory, absolute paths and
//! symlinks whose target leaves it (absolute or relative, directly or through
//! intermediate components) fail with `EPERM` (`cap-std`'s "a path led outside of the
//! filesystem", as in Wasmtime). Hard links and renames take both directories as
//! capabilities, so neither end can be outside what was granted. No path reaches the
//! host's filesystem any other way.
//!
//! # Read-only preopens
//! Beneath a read-only preopen (`mutate: false`, inherited by every descriptor opened
//! beneath it) each change is refused with `EPERM` before the host is asked, as in
//! Wasmtime: `path_open` with `O_CREAT`, `O_TRUNC` or the `fd_write` right, creating or
//! removing directories, unlinking, symlinking, setting times, and renaming or linking
//! when either end is read-only.

// A WASI function takes the witx parameters one by one, after the state and the memory.
#![allow(clippy::too_many_arguments)]

use super::file::{fstflags, Filestat};
use super::table::{fdflags, rights, Descriptor};
use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};
use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt,
    SystemTimeSpec,
};
use cap_std::fs::OpenOptionsExt;
use std::os::unix::ffi::OsStrExt;

pub(super) const DEFINITIONS: &[&Definition] = &[
    errno_fn!(path_open),
    errno_fn!(path_create_directory),
    errno_fn!(path_remove_directory),
    errno_fn!(path_unlink_file),
    errno_fn!(path_rename),
    errno_fn!(path_link),
    errno_fn!(path_symlink),
    errno_fn!(path_readlink),
    errno_fn!(path_filestat_get),
    errno_fn!(path_filestat_set_times),
];

/// `lookupflags::symlink_follow`.
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// `oflags` bits.
mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
    pub const ALL: u32 = (1 << 4) - 1;
}

/// Whether `lookupflags` asks to follow a final symlink; `EINVAL` for unknown bits.
fn follow(lookupflags: u32) -> Result<bool, Errno> {
    if lookupflags & !LOOKUP_SYMLINK_FOLLOW != 0 {
        return Err(Errno::INVAL);
    }
    Ok(lookupflags & LOOKUP_SYMLINK_FOLLOW != 0)
}

/// Runs `f` with the directory `fd` and the guest path at `(pointer, len)`.
fn with_dir<T>(
    state: &WasiState,
    memory: &GuestMemory<'_>,
    fd: u32,
    pointer: u32,
    len: u32,
    f: impl FnOnce(&cap_std::fs::Dir, &str) -> std::io::Result<T>,
) -> Result<T, Errno> {
    with_dir_for(state, memory, fd, pointer, len, false, f)
}

/// Like [`with_dir`], for a change beneath the directory: `EPERM` beneath a read-only
/// preopen.
fn with_mutable_dir<T>(
    state: &WasiState,
    memory: &GuestMemory<'_>,
    fd: u32,
    pointer: u32,
    len: u32,
    f: impl FnOnce(&cap_std::fs::Dir, &str) -> std::io::Result<T>,
) -> Result<T, Errno> {
    with_dir_for(state, memory, fd, pointer, len, true, f)
}

fn with_dir_for<T>(
    state: &WasiState,
    memory: &GuestMemory<'_>,
    fd: u32,
    pointer: u32,
    len: u32,
    change: bool,
    f: impl FnOnce(&cap_std::fs::Dir, &str) -> std::io::Result<T>,
) -> Result<T, Errno> {
    let path = memory.string(pointer, len)?;
    let table = state.table.borrow();
    let dir = match change {
        true => table.mutable_dir(fd)?,
        false => table.dir(fd)?,
    };
    Ok(f(dir, path)?)
}

fn path_open(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    dirfd: u32,
    lookupflags: u32,
    path: u32,
    path_len: u32,
    open_flags: u32,
    base: u64,
    _inheriting: u64,
    flags: u32,
    opened: u32,
) -> Result<(), Errno> {
    memory.check(opened, 4)?;
    let follow = follow(lookupflags)?;
    if open_flags > oflags::ALL || flags > u32::from(fdflags::ALL) {
        return Err(Errno::INVAL);
    }
    let (open_flags, flags) = (open_flags as u16, flags as u16);
    let directory = open_flags & oflags::DIRECTORY != 0;
    if directory && open_flags & (oflags::CREAT | oflags::EXCL | oflags::TRUNC) != 0 {
        return Err(Errno::INVAL);
    }
    let mut options = cap_std::fs::OpenOptions::new();
    options.maybe_dir(true);
    if open_flags & oflags::CREAT != 0 {
        if open_flags & oflags::EXCL != 0 {
            options.create_new(true);
        } else {
            options.create(true);
        }
        options.write(true);
    }
    if open_flags & oflags::TRUNC != 0 {
        options.truncate(true).write(true);
    }
    if base & rights::FD_READ != 0 {
        options.read(true);
    }
    if base & rights::FD_WRITE != 0 {
        options.write(true);
    } else {
        // Something must be asked for: a descriptor opened for neither reads as one
        // opened for reading, as in Wasmtime.
        options.read(true);
    }
    if flags & fdflags::APPEND != 0 {
        // Not `options.append(true)`, which refuses to go with truncation; the host
        // allows `O_APPEND | O_TRUNC`, and so does WASI.
        options.custom_flags(libc::O_APPEND);
    }
    options.sync(flags & fdflags::SYNC != 0);
    options.dsync(flags & fdflags::DSYNC != 0);
    options.rsync(flags & fdflags::RSYNC != 0);
    options.nonblock(flags & fdflags::NONBLOCK != 0);
    options.follow(if follow {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    });
    let (file, mutate) = {
        let path = memory.string(path, path_len)?;
        let table = state.table.borrow();
        let (dir, mutate) = table.dir_and_mutate(dirfd)?;
        // Checked before the host is asked, as in Wasmtime: nothing beneath a read-only
        // preopen is created, truncated or opened for writing.
        let changes =
            open_flags & (oflags::CREAT | oflags::TRUNC) != 0 || base & rights::FD_WRITE != 0;
        if changes && !mutate {
            return Err(Errno::PERM);
        }
        (dir.open_with(path, &options)?, mutate)
    };
    let is_dir = file.metadata()?.is_dir();
    let descriptor = if is_dir {
        Descriptor::Dir {
            dir: cap_std::fs::Dir::from_std_file(file.into_std()),
            preopen: None,
            mutate,
        }
    } else if directory {
        return Err(Errno::NOTDIR);
    } else {
        Descriptor::File {
            file: file.into_std(),
            mutate,
        }
    };
    let fd = state.table.borrow_mut().push(descriptor)?;
    memory.write_u32(opened, fd)
}

fn path_create_directory(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<(), Errno> {
    with_mutable_dir(state, memory, fd, path, len, |dir, path| {
        dir.create_dir(path)
    })
}

fn path_remove_directory(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<(), Errno> {
    with_mutable_dir(state, memory, fd, path, len, |dir, path| {
        dir.remove_dir(path)
    })
}

fn path_unlink_file(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
) -> Result<(), Errno> {
    with_mutable_dir(state, memory, fd, path, len, |dir, path| {
        dir.remove_file_or_symlink(path)
    })
}

fn path_rename(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> Result<(), Errno> {
    let old_path = memory.string(old_path, old_len)?;
    let new_path = memory.string(new_path, new_len)?;
    let table = state.table.borrow();
    // Out of a read-only preopen or into one are both changes to it.
    let (old_dir, new_dir) = (table.mutable_dir(fd)?, table.mutable_dir(new_fd)?);
    Ok(old_dir.rename(old_path, new_dir, new_path)?)
}

fn path_link(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> Result<(), Errno> {
    let old_path = memory.string(old_path, old_len)?;
    let new_path = memory.string(new_path, new_len)?;
    let follow = follow(lookupflags)?;
    let table = state.table.borrow();
    // A link into a directory that may be changed would let a read-only file be written
    // through it, and one into a read-only directory changes that: both are refused,
    // before the symlink check, as in Wasmtime.
    let (old_dir, new_dir) = (table.mutable_dir(fd)?, table.mutable_dir(new_fd)?);
    // Following a symlink for the source is not supported (as in Wasmtime): the link
    // would be to whatever the symlink names, which cap-std cannot check.
    if follow {
        return Err(Errno::INVAL);
    }
    Ok(old_dir.hard_link(old_path, new_dir, new_path)?)
}

fn path_symlink(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    old_path: u32,
    old_len: u32,
    fd: u32,
    new_path: u32,
    new_len: u32,
) -> Result<(), Errno> {
    let target = memory.string(old_path, old_len)?;
    with_mutable_dir(state, memory, fd, new_path, new_len, |dir, link| {
        // The target is stored as given; it is checked when something resolves through
        // the link, like every other path.
        dir.symlink(target, link)
    })
}

fn path_readlink(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> Result<(), Errno> {
    memory.check(buf, buf_len)?;
    memory.check(bufused, 4)?;
    let target = with_dir(state, memory, fd, path, len, |dir, path| {
        dir.read_link_contents(path)
    })?;
    // A target longer than the buffer is cut off, as in Wasmtime.
    let bytes = target.as_os_str().as_bytes();
    let bytes = &bytes[..bytes.len().min(buf_len as usize)];
    memory.write_bytes(buf, bytes)?;
    memory.write_u32(bufused, bytes.len() as u32)
}

/// The metadata of the path at `(path, len)` beneath directory `fd`.
pub(super) fn path_filestat(
    state: &WasiState,
    memory: &GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: u32,
    len: u32,
) -> Result<Filestat, Errno> {
    let follow = follow(lookupflags)?;
    let metadata = with_dir(state, memory, fd, path, len, |dir, path| {
        if follow {
            dir.metadata(path)
        } else {
            dir.symlink_metadata(path)
        }
    })?;
    Ok(Filestat::from_metadata(&metadata))
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
    memory.check(pointer, 64)?;
    let filestat = path_filestat(state, memory, fd, lookupflags, path, len)?;
    memory.write_bytes(pointer, &filestat.preview1())
}

/// The `SystemTimeSpec` of one time of a `fst_flags` set: `None` leaves it unchanged.
fn time_spec(time: u64, flags: u16, set: u16, now: u16) -> Result<Option<SystemTimeSpec>, Errno> {
    match (flags & set != 0, flags & now != 0) {
        (true, true) => Err(Errno::INVAL),
        (false, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
        (false, false) => Ok(None),
        (true, false) => Ok(Some(SystemTimeSpec::Absolute(
            cap_std::time::SystemTime::from_std(
                std::time::UNIX_EPOCH + std::time::Duration::from_nanos(time),
            ),
        ))),
    }
}

fn path_filestat_set_times(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    lookupflags: u32,
    path: u32,
    len: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<(), Errno> {
    let follow = follow(lookupflags)?;
    if flags > 0xf {
        return Err(Errno::INVAL);
    }
    let flags = flags as u16;
    let atime = time_spec(atim, flags, fstflags::ATIM, fstflags::ATIM_NOW)?;
    let mtime = time_spec(mtim, flags, fstflags::MTIM, fstflags::MTIM_NOW)?;
    with_mutable_dir(state, memory, fd, path, len, |dir, path| {
        if follow {
            dir.set_times(path, atime, mtime)
        } else {
            dir.set_symlink_times(path, atime, mtime)
        }
    })
}
