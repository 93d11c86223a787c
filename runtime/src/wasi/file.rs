//! WASI file metadata, hints and directory listing: `fd_filestat_get`,
//! `fd_filestat_set_size`, `fd_filestat_set_times`, `fd_advise`, `fd_allocate`,
//! `fd_sync`, `fd_datasync`, `fd_readdir`.

use super::fd::retry;
use super::table::{filetype, Descriptor};
use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};
use cap_std::fs::MetadataExt;
use std::os::fd::{AsRawFd, RawFd};

pub(super) const DEFINITIONS: &[&Definition] = &[
    errno_fn!(fd_filestat_get),
    errno_fn!(fd_filestat_set_size),
    errno_fn!(fd_filestat_set_times),
    errno_fn!(fd_advise),
    errno_fn!(fd_allocate),
    errno_fn!(fd_sync),
    errno_fn!(fd_datasync),
    errno_fn!(fd_readdir),
];

/// A file's metadata as WASI describes it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

/// Nanoseconds since the epoch (clamped at 0) of seconds and nanoseconds.
fn timestamp(seconds: i64, nanoseconds: i64) -> u64 {
    (seconds.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nanoseconds.max(0) as u64)
}

impl Filestat {
    // `nlink_t` is u64 on x86_64 but u32 on aarch64, where the conversion is needed.
    #[allow(clippy::useless_conversion)]
    fn from_stat(stat: &libc::stat) -> Filestat {
        Filestat {
            dev: stat.st_dev,
            ino: stat.st_ino,
            filetype: filetype::from_mode(stat.st_mode),
            nlink: u64::from(stat.st_nlink),
            size: stat.st_size as u64,
            atim: timestamp(stat.st_atime, stat.st_atime_nsec),
            mtim: timestamp(stat.st_mtime, stat.st_mtime_nsec),
            ctim: timestamp(stat.st_ctime, stat.st_ctime_nsec),
        }
    }

    pub fn from_metadata(metadata: &cap_std::fs::Metadata) -> Filestat {
        Filestat {
            dev: metadata.dev(),
            ino: metadata.ino(),
            filetype: filetype::from_mode(metadata.mode()),
            nlink: metadata.nlink(),
            size: metadata.size(),
            atim: timestamp(metadata.atime(), metadata.atime_nsec()),
            mtim: timestamp(metadata.mtime(), metadata.mtime_nsec()),
            ctim: timestamp(metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// The preview 1 layout: dev @0, ino @8, filetype u8 @16, nlink u64 @24, size @32,
    /// atim @40, mtim @48, ctim @56.
    pub fn preview1(&self) -> [u8; 64] {
        let mut bytes = [0u8; 64];
        bytes[0..8].copy_from_slice(&self.dev.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ino.to_le_bytes());
        bytes[16] = self.filetype;
        bytes[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.size.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.atim.to_le_bytes());
        bytes[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        bytes[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        bytes
    }

    /// The `wasi_unstable` layout: dev @0, ino @8, filetype u8 @16, nlink u32 @20,
    /// size @24, atim @32, mtim @40, ctim @48.
    pub fn unstable(&self) -> [u8; 56] {
        let mut bytes = [0u8; 56];
        bytes[0..8].copy_from_slice(&self.dev.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.ino.to_le_bytes());
        bytes[16] = self.filetype;
        bytes[20..24].copy_from_slice(&(self.nlink.min(u32::MAX.into()) as u32).to_le_bytes());
        bytes[24..32].copy_from_slice(&self.size.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.atim.to_le_bytes());
        bytes[40..48].copy_from_slice(&self.mtim.to_le_bytes());
        bytes[48..56].copy_from_slice(&self.ctim.to_le_bytes());
        bytes
    }
}

/// The metadata of descriptor `fd`.
pub(super) fn fd_filestat(state: &WasiState, fd: u32) -> Result<Filestat, Errno> {
    let table = state.table.borrow();
    match table.get(fd)? {
        // Stdio is a character device as far as the guest is concerned, as in Wasmtime.
        Descriptor::Stdio { .. } => Ok(Filestat {
            filetype: filetype::CHARACTER_DEVICE,
            ..Filestat::default()
        }),
        descriptor => {
            let host_fd = descriptor.raw_fd().ok_or(Errno::BADF)?;
            // SAFETY: a zeroed `stat` is a valid value to overwrite.
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: fstat on an fd this table owns, writing to a valid `stat`.
            if unsafe { libc::fstat(host_fd, &mut stat) } != 0 {
                return Err(Errno::last());
            }
            Ok(Filestat::from_stat(&stat))
        }
    }
}

fn fd_filestat_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    pointer: u32,
) -> Result<(), Errno> {
    memory.check(pointer, 64)?;
    let filestat = fd_filestat(state, fd)?;
    memory.write_bytes(pointer, &filestat.preview1())
}

/// The host fd of a file (not stdio, not a directory): `EBADF` otherwise.
fn file_fd(state: &WasiState, fd: u32) -> Result<RawFd, Errno> {
    Ok(state.table.borrow().file(fd)?.as_raw_fd())
}

/// The host fd of a file or directory: `EBADF` for stdio.
fn file_or_dir_fd(state: &WasiState, fd: u32) -> Result<RawFd, Errno> {
    match state.table.borrow().get(fd)? {
        Descriptor::Stdio { .. } => Err(Errno::BADF),
        descriptor => descriptor.raw_fd().ok_or(Errno::BADF),
    }
}

/// The host fd of a file that may be changed: `EBADF` for anything else, `EPERM` for a
/// file beneath a read-only preopen.
fn mutable_file_fd(state: &WasiState, fd: u32) -> Result<RawFd, Errno> {
    Ok(state.table.borrow().mutable_file(fd)?.as_raw_fd())
}

/// The host fd of a file or directory that may be changed: `EBADF` for stdio, `EPERM`
/// for one beneath a read-only preopen.
fn mutable_file_or_dir_fd(state: &WasiState, fd: u32) -> Result<RawFd, Errno> {
    match state.table.borrow().get(fd)? {
        Descriptor::Stdio { .. } => Err(Errno::BADF),
        Descriptor::File { mutate: false, .. } | Descriptor::Dir { mutate: false, .. } => {
            Err(Errno::PERM)
        }
        descriptor => descriptor.raw_fd().ok_or(Errno::BADF),
    }
}

fn fd_filestat_set_size(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    fd: u32,
    size: u64,
) -> Result<(), Errno> {
    let host_fd = mutable_file_fd(state, fd)?;
    let size = libc::off_t::try_from(size).map_err(|_| Errno::INVAL)?;
    // SAFETY: ftruncate on an fd this table owns.
    retry(|| unsafe { libc::ftruncate(host_fd, size) } as isize).map(drop)
}

/// `fstflags` bits.
pub(super) mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
}

/// The host `timespec` pair of a `(atim, mtim, fst_flags)` triple: `EINVAL` for unknown
/// bits or a time given both as a value and as "now".
pub(super) fn timespecs(atim: u64, mtim: u64, flags: u32) -> Result<[libc::timespec; 2], Errno> {
    if flags > 0xf {
        return Err(Errno::INVAL);
    }
    let flags = flags as u16;
    let one = |time: u64, set: u16, now: u16| -> Result<libc::timespec, Errno> {
        let nanoseconds = match (flags & set != 0, flags & now != 0) {
            (true, true) => return Err(Errno::INVAL),
            (false, true) => libc::UTIME_NOW,
            (false, false) => libc::UTIME_OMIT,
            (true, false) => {
                return Ok(libc::timespec {
                    tv_sec: (time / 1_000_000_000) as _,
                    tv_nsec: (time % 1_000_000_000) as _,
                })
            }
        };
        Ok(libc::timespec {
            tv_sec: 0,
            tv_nsec: nanoseconds,
        })
    };
    Ok([
        one(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        one(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    ])
}

fn fd_filestat_set_times(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    fd: u32,
    atim: u64,
    mtim: u64,
    flags: u32,
) -> Result<(), Errno> {
    let times = timespecs(atim, mtim, flags)?;
    let host_fd = mutable_file_or_dir_fd(state, fd)?;
    // SAFETY: futimens on an fd this table owns, with two valid timespecs.
    retry(|| unsafe { libc::futimens(host_fd, times.as_ptr()) } as isize).map(drop)
}

fn fd_advise(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    fd: u32,
    offset: u64,
    len: u64,
    advice: u32,
) -> Result<(), Errno> {
    advise(file_fd(state, fd)?, offset, len, advice)
}

/// `posix_fadvise` with WASI's advice number, which preview 1's `advice` and WASI 0.2's
/// `advice` enum number alike (normal, sequential, random, will-need, dont-need, no-reuse).
pub(crate) fn advise(host_fd: RawFd, offset: u64, len: u64, advice: u32) -> Result<(), Errno> {
    let advice = match advice {
        0 => libc::POSIX_FADV_NORMAL,
        1 => libc::POSIX_FADV_SEQUENTIAL,
        2 => libc::POSIX_FADV_RANDOM,
        3 => libc::POSIX_FADV_WILLNEED,
        4 => libc::POSIX_FADV_DONTNEED,
        5 => libc::POSIX_FADV_NOREUSE,
        _ => return Err(Errno::INVAL),
    };
    let offset = libc::off_t::try_from(offset).map_err(|_| Errno::INVAL)?;
    let len = libc::off_t::try_from(len).map_err(|_| Errno::INVAL)?;
    // SAFETY: posix_fadvise on an open fd the caller owns; it returns the error.
    match unsafe { libc::posix_fadvise(host_fd, offset, len, advice) } {
        0 => Ok(()),
        code => Err(Errno::from_raw_os_error(code)),
    }
}

fn fd_allocate(
    state: &WasiState,
    _: &mut GuestMemory<'_>,
    fd: u32,
    offset: u64,
    len: u64,
) -> Result<(), Errno> {
    // Beneath a read-only preopen `EPERM`, like every other change (Wasmtime's preview
    // 1 answers `ENOTSUP` to every `fd_allocate`, so it has no case to follow).
    let host_fd = mutable_file_fd(state, fd)?;
    let offset = libc::off_t::try_from(offset).map_err(|_| Errno::INVAL)?;
    let len = libc::off_t::try_from(len).map_err(|_| Errno::INVAL)?;
    if len == 0 {
        return Err(Errno::INVAL);
    }
    // SAFETY: posix_fallocate on an fd this table owns; it returns the error.
    match unsafe { libc::posix_fallocate(host_fd, offset, len) } {
        0 => Ok(()),
        code => Err(Errno::from_raw_os_error(code)),
    }
}

fn fd_sync(state: &WasiState, _: &mut GuestMemory<'_>, fd: u32) -> Result<(), Errno> {
    let host_fd = file_or_dir_fd(state, fd)?;
    // SAFETY: fsync on an fd this table owns.
    retry(|| unsafe { libc::fsync(host_fd) } as isize).map(drop)
}

fn fd_datasync(state: &WasiState, _: &mut GuestMemory<'_>, fd: u32) -> Result<(), Errno> {
    let host_fd = file_or_dir_fd(state, fd)?;
    // SAFETY: fdatasync on an fd this table owns.
    retry(|| unsafe { libc::fdatasync(host_fd) } as isize).map(drop)
}

/// One directory entry: inode, file type, name.
type Entry = (u64, u8, Vec<u8>);

/// The entries of directory `dir`: `.` and `..` first (as in Wasmtime), then the rest
/// in the host's order.
fn entries(dir: &cap_std::fs::Dir) -> Result<Vec<Entry>, Errno> {
    use std::os::unix::ffi::OsStrExt;
    let own = dir.dir_metadata()?;
    let mut entries = vec![
        (own.ino(), filetype::DIRECTORY, b".".to_vec()),
        (own.ino(), filetype::DIRECTORY, b"..".to_vec()),
    ];
    for entry in dir.entries()? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        let file_type = if file_type.is_dir() {
            filetype::DIRECTORY
        } else if file_type.is_symlink() {
            filetype::SYMBOLIC_LINK
        } else if file_type.is_file() {
            filetype::REGULAR_FILE
        } else {
            use cap_std::fs::FileTypeExt;
            if file_type.is_block_device() {
                filetype::BLOCK_DEVICE
            } else if file_type.is_char_device() {
                filetype::CHARACTER_DEVICE
            } else if file_type.is_socket() {
                filetype::SOCKET_STREAM
            } else {
                filetype::UNKNOWN
            }
        };
        // The inode of the entry itself (not of a symlink's target).
        let ino = entry.metadata().map_or(0, |metadata| metadata.ino());
        entries.push((ino, file_type, entry.file_name().as_bytes().to_vec()));
    }
    Ok(entries)
}

fn fd_readdir(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    bufused: u32,
) -> Result<(), Errno> {
    memory.check(buf, buf_len)?;
    memory.check(bufused, 4)?;
    let entries = match state.table.borrow().get(fd)? {
        Descriptor::Dir { dir, .. } => entries(dir)?,
        Descriptor::File { .. } => return Err(Errno::NOTDIR),
        Descriptor::Stdio { .. } => return Err(Errno::BADF),
    };
    // Each entry is a dirent (d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8
    // @20; 24 bytes) followed by the name; the last one may be cut off.
    let mut out = Vec::new();
    let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (index, (ino, file_type, name)) in entries.into_iter().enumerate().skip(skip) {
        if out.len() >= buf_len as usize {
            break;
        }
        let mut dirent = [0u8; 24];
        dirent[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        dirent[8..16].copy_from_slice(&ino.to_le_bytes());
        dirent[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        dirent[20] = file_type;
        out.extend_from_slice(&dirent);
        out.extend_from_slice(&name);
    }
    out.truncate(buf_len as usize);
    memory.write_bytes(buf, &out)?;
    memory.write_u32(bufused, out.len() as u32)
}
