//! `wasi:filesystem`: types (the `descriptor` resource and all its methods, the
//! `directory-entry-stream`, `filesystem-error-code`) and preopens (`get-directories`).
//!
//! # Sandbox
//! The same as preview 1's (see `wasi/path.rs`): every path is resolved by `cap-std`
//! beneath a directory descriptor that came from a preopen, so `..` past it, absolute
//! paths and symlinks leading out fail with `not-permitted` (`cap-std`'s refusal, as in
//! Wasmtime). Link and rename take both directories as capabilities.
//!
//! # Permissions
//! As in Wasmtime: preopens may be changed beneath (`mutate-directory`) but read-only
//! ones ([`crate::wasi::WasiCtx::preopen_dir_read_only`]), and a directory or file opened
//! by `open-at` may be changed when its parent may be, whatever flags it was opened with
//! (Wasmtime's descriptors inherit their parent's permissions; wasi-libc opens the
//! directories it removes entries from with `read` alone). Beneath a directory that may
//! not be changed, creating, truncating, opening for `write`, removing, renaming or
//! linking from or into it, and setting times is `not-permitted`, and so are writing
//! (`write`, `write-via-stream`, `append-via-stream`), `set-size` and `set-times` of a
//! file opened there: each checked before the host is asked. Otherwise a file can be
//! read through only when opened with `read`, written only with `write`
//! (`bad-descriptor` otherwise); `set-size` goes to the host's `ftruncate`, which refuses
//! a file opened read-only with `invalid`, as in Wasmtime.

use super::io::{InputStream, OutputStream};
use super::resources::{Descriptor, ResourceKind as Kind};
use super::values::{datetime, err, ok, one, option};
use super::{host_fn, Args, HostFunction, HostResult, Resource, WasiP2};
use crate::component::{ComponentVal, HostCallError};
use crate::wasi::fd::retry;
use crate::wasi::Errno;
use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt,
    SystemTimeSpec,
};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::rc::Rc;

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.read-via-stream",
        read_via_stream
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.write-via-stream",
        write_via_stream
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.append-via-stream",
        append_via_stream
    ),
    host_fn!("wasi:filesystem/types", "[method]descriptor.advise", advise),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.sync-data",
        sync_data
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.get-flags",
        get_flags
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.get-type",
        get_type
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.set-size",
        set_size
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.set-times",
        set_times
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.read",
        descriptor_read
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.write",
        descriptor_write
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.read-directory",
        read_directory
    ),
    host_fn!("wasi:filesystem/types", "[method]descriptor.sync", sync),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.create-directory-at",
        create_directory_at
    ),
    host_fn!("wasi:filesystem/types", "[method]descriptor.stat", stat),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.stat-at",
        stat_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.set-times-at",
        set_times_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.link-at",
        link_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.open-at",
        open_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.readlink-at",
        readlink_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.remove-directory-at",
        remove_directory_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.rename-at",
        rename_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.symlink-at",
        symlink_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.unlink-file-at",
        unlink_file_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.is-same-object",
        is_same_object
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.metadata-hash",
        metadata_hash
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]descriptor.metadata-hash-at",
        metadata_hash_at
    ),
    host_fn!(
        "wasi:filesystem/types",
        "[method]directory-entry-stream.read-directory-entry",
        read_directory_entry
    ),
    host_fn!(
        "wasi:filesystem/types",
        "filesystem-error-code",
        filesystem_error_code
    ),
    host_fn!(
        "wasi:filesystem/preopens",
        "get-directories",
        get_directories
    ),
];

/// The cases of `error-code`, in the WIT's order (a case's index is its value).
pub(crate) const ERROR_CODE_NAMES: [&str; 37] = [
    "access",
    "would-block",
    "already",
    "bad-descriptor",
    "busy",
    "deadlock",
    "quota",
    "exist",
    "file-too-large",
    "illegal-byte-sequence",
    "in-progress",
    "interrupted",
    "invalid",
    "io",
    "is-directory",
    "loop",
    "too-many-links",
    "message-size",
    "name-too-long",
    "no-device",
    "no-entry",
    "no-lock",
    "insufficient-memory",
    "insufficient-space",
    "not-directory",
    "not-empty",
    "not-recoverable",
    "unsupported",
    "no-tty",
    "no-such-device",
    "overflow",
    "not-permitted",
    "pipe",
    "read-only",
    "invalid-seek",
    "text-file-busy",
    "cross-device",
];

/// The `error-code` case (its index) of a WASI errno; `io` for those without one.
pub(crate) fn error_code(errno: Errno) -> u32 {
    let name = match errno {
        Errno::ACCES => "access",
        Errno::AGAIN => "would-block",
        Errno::ALREADY => "already",
        Errno::BADF => "bad-descriptor",
        Errno::BUSY => "busy",
        Errno::DEADLK => "deadlock",
        Errno::DQUOT => "quota",
        Errno::EXIST => "exist",
        Errno::FBIG => "file-too-large",
        Errno::ILSEQ => "illegal-byte-sequence",
        Errno::INPROGRESS => "in-progress",
        Errno::INTR => "interrupted",
        Errno::INVAL => "invalid",
        Errno::ISDIR => "is-directory",
        Errno::LOOP => "loop",
        Errno::MLINK => "too-many-links",
        Errno::MSGSIZE => "message-size",
        Errno::NAMETOOLONG => "name-too-long",
        Errno::NODEV => "no-device",
        Errno::NOENT => "no-entry",
        Errno::NOLCK => "no-lock",
        Errno::NOMEM => "insufficient-memory",
        Errno::NOSPC => "insufficient-space",
        Errno::NOTDIR => "not-directory",
        Errno::NOTEMPTY => "not-empty",
        Errno::NOTRECOVERABLE => "not-recoverable",
        Errno::NOTSUP | Errno::NOSYS => "unsupported",
        Errno::NOTTY => "no-tty",
        Errno::NXIO => "no-such-device",
        Errno::OVERFLOW => "overflow",
        Errno::PERM | Errno::NOTCAPABLE => "not-permitted",
        Errno::PIPE => "pipe",
        Errno::ROFS => "read-only",
        Errno::SPIPE => "invalid-seek",
        Errno::TXTBSY => "text-file-busy",
        Errno::XDEV => "cross-device",
        _ => "io",
    };
    ERROR_CODE_NAMES
        .iter()
        .position(|case| *case == name)
        .expect("every name is a case") as u32
}

/// The `error-code` case name of a WASI errno.
pub(crate) fn error_code_name(errno: Errno) -> &'static str {
    ERROR_CODE_NAMES[error_code(errno) as usize]
}

/// `descriptor-type` cases.
mod descriptor_type {
    pub const UNKNOWN: u32 = 0;
    pub const BLOCK_DEVICE: u32 = 1;
    pub const CHARACTER_DEVICE: u32 = 2;
    pub const DIRECTORY: u32 = 3;
    pub const FIFO: u32 = 4;
    pub const SYMBOLIC_LINK: u32 = 5;
    pub const REGULAR_FILE: u32 = 6;
    pub const SOCKET: u32 = 7;

    /// The type of a host `st_mode`.
    pub fn from_mode(mode: u32) -> u32 {
        match mode & libc::S_IFMT {
            libc::S_IFBLK => BLOCK_DEVICE,
            libc::S_IFCHR => CHARACTER_DEVICE,
            libc::S_IFDIR => DIRECTORY,
            libc::S_IFIFO => FIFO,
            libc::S_IFLNK => SYMBOLIC_LINK,
            libc::S_IFREG => REGULAR_FILE,
            libc::S_IFSOCK => SOCKET,
            _ => UNKNOWN,
        }
    }
}

/// `descriptor-flags` bits.
mod descriptor_flags {
    pub const READ: u32 = 1 << 0;
    pub const WRITE: u32 = 1 << 1;
    pub const FILE_INTEGRITY_SYNC: u32 = 1 << 2;
    pub const DATA_INTEGRITY_SYNC: u32 = 1 << 3;
    pub const REQUESTED_WRITE_SYNC: u32 = 1 << 4;
    pub const MUTATE_DIRECTORY: u32 = 1 << 5;
    pub const ALL: u32 = (1 << 6) - 1;
}

/// `open-flags` bits.
mod open_flags {
    pub const CREATE: u32 = 1 << 0;
    pub const DIRECTORY: u32 = 1 << 1;
    pub const EXCLUSIVE: u32 = 1 << 2;
    pub const TRUNCATE: u32 = 1 << 3;
    pub const ALL: u32 = (1 << 4) - 1;
}

/// `path-flags::symlink-follow`.
const SYMLINK_FOLLOW: u32 = 1;

/// The most one `read` returns.
const READ_LIMIT: u64 = 1 << 20;

/// What a filesystem function gives back: its `ok` payload or an errno (the guest gets
/// its `error-code`).
type Outcome = Result<Option<ComponentVal>, Errno>;

/// The `result<T, error-code>` of `outcome`.
fn finish(outcome: Outcome) -> HostResult {
    Ok(one(match outcome {
        Ok(value) => ok(value),
        Err(errno) => err(ComponentVal::Enum(error_code(errno))),
    }))
}

impl WasiP2 {
    /// Descriptor `rep` (a cheap copy: files and directories are shared).
    fn descriptor(&self, rep: u32) -> Result<Descriptor, HostCallError> {
        match self.resources.get(Kind::Descriptor, rep)? {
            Resource::Descriptor(descriptor) => Ok(descriptor.clone()),
            _ => unreachable!("get checks the kind"),
        }
    }

    /// Adds a new descriptor; its `own` handle.
    fn push_descriptor(&mut self, descriptor: Descriptor) -> Result<ComponentVal, HostCallError> {
        let rep = self
            .resources
            .push(Resource::Descriptor(descriptor), None)?;
        Ok(ComponentVal::Own(rep))
    }
}

impl Descriptor {
    fn raw_fd(&self) -> RawFd {
        match self {
            Descriptor::File { file, .. } => file.as_raw_fd(),
            Descriptor::Dir { dir, .. } => dir.as_raw_fd(),
        }
    }

    /// The directory to resolve paths in: `not-directory` for a file.
    fn dir(&self) -> Result<&cap_std::fs::Dir, Errno> {
        match self {
            Descriptor::Dir { dir, .. } => Ok(dir),
            Descriptor::File { .. } => Err(Errno::NOTDIR),
        }
    }

    /// The directory to change things beneath: `not-permitted` without
    /// `mutate-directory`.
    fn mutable_dir(&self) -> Result<&cap_std::fs::Dir, Errno> {
        match self {
            Descriptor::Dir { dir, mutate: true } => Ok(dir),
            Descriptor::Dir { .. } => Err(Errno::PERM),
            Descriptor::File { .. } => Err(Errno::NOTDIR),
        }
    }

    /// The file, if it was opened for reading (`bad-descriptor` otherwise,
    /// `is-directory` for a directory, as in Wasmtime).
    fn readable_file(&self) -> Result<&Rc<std::fs::File>, Errno> {
        match self {
            Descriptor::File {
                file, read: true, ..
            } => Ok(file),
            Descriptor::File { .. } => Err(Errno::BADF),
            Descriptor::Dir { .. } => Err(Errno::ISDIR),
        }
    }

    /// The file, if it was opened for writing (`bad-descriptor` otherwise,
    /// `not-permitted` beneath a read-only preopen, `is-directory` for a directory).
    fn writable_file(&self) -> Result<&Rc<std::fs::File>, Errno> {
        match self {
            Descriptor::File { mutate: false, .. } => Err(Errno::PERM),
            Descriptor::File {
                file, write: true, ..
            } => Ok(file),
            Descriptor::File { .. } => Err(Errno::BADF),
            Descriptor::Dir { .. } => Err(Errno::ISDIR),
        }
    }

    /// Whether the descriptor itself may be changed (its times, a file's size):
    /// `not-permitted` beneath a read-only preopen.
    fn check_mutable(&self) -> Result<(), Errno> {
        match self {
            Descriptor::File { mutate: true, .. } | Descriptor::Dir { mutate: true, .. } => Ok(()),
            _ => Err(Errno::PERM),
        }
    }

    /// The host's `stat` of the descriptor.
    // `nlink_t` is u64 on x86_64 but u32 on aarch64, where the conversion is needed.
    #[allow(clippy::useless_conversion)]
    fn fstat(&self) -> Result<Stat, Errno> {
        // SAFETY: a zeroed `stat` is a valid value to overwrite.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on an fd the descriptor owns, writing to a valid `stat`.
        if unsafe { libc::fstat(self.raw_fd(), &mut stat) } != 0 {
            return Err(Errno::last());
        }
        Ok(Stat {
            dev: stat.st_dev,
            ino: stat.st_ino,
            mode: stat.st_mode,
            nlink: u64::from(stat.st_nlink),
            size: stat.st_size as u64,
            times: [
                (stat.st_atime, stat.st_atime_nsec),
                (stat.st_mtime, stat.st_mtime_nsec),
                (stat.st_ctime, stat.st_ctime_nsec),
            ],
        })
    }
}

/// A file's metadata, as both `stat` and `cap-std` give it.
struct Stat {
    dev: u64,
    ino: u64,
    mode: u32,
    nlink: u64,
    size: u64,
    /// Access, modification and status change: seconds and nanoseconds.
    times: [(i64, i64); 3],
}

impl Stat {
    fn from_metadata(metadata: &cap_std::fs::Metadata) -> Stat {
        use cap_std::fs::MetadataExt;
        Stat {
            dev: metadata.dev(),
            ino: metadata.ino(),
            mode: metadata.mode(),
            nlink: metadata.nlink(),
            size: metadata.size(),
            times: [
                (metadata.atime(), metadata.atime_nsec()),
                (metadata.mtime(), metadata.mtime_nsec()),
                (metadata.ctime(), metadata.ctime_nsec()),
            ],
        }
    }

    /// The `descriptor-stat` record: type, link count, size, and the three timestamps.
    fn record(&self) -> ComponentVal {
        let mut fields = vec![
            ComponentVal::Enum(descriptor_type::from_mode(self.mode)),
            ComponentVal::U64(self.nlink),
            ComponentVal::U64(self.size),
        ];
        fields.extend(self.times.iter().map(|&(seconds, nanoseconds)| {
            // Before 1970 is clamped to it: `datetime` has no sign.
            let nanoseconds = (seconds.max(0) as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(nanoseconds.clamp(0, 999_999_999) as u64);
            option(Some(datetime(nanoseconds)))
        }));
        ComponentVal::Record(fields)
    }

    /// The `metadata-hash-value` record: a hash of the device and inode, the same for
    /// two descriptors of one object.
    fn hash(&self) -> ComponentVal {
        use std::hash::{Hash, Hasher};
        let half = |salt: u8| {
            // `DefaultHasher::new` has fixed keys: the same hash on every run.
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (salt, self.dev, self.ino).hash(&mut hasher);
            hasher.finish()
        };
        ComponentVal::Record(vec![ComponentVal::U64(half(0)), ComponentVal::U64(half(1))])
    }
}

/// The metadata of `path` beneath `dir`, following a final symlink when `path_flags`
/// says so.
fn stat_path(dir: &cap_std::fs::Dir, path_flags: u32, path: &str) -> Result<Stat, Errno> {
    let metadata = if path_flags & SYMLINK_FOLLOW != 0 {
        dir.metadata(path)?
    } else {
        dir.symlink_metadata(path)?
    };
    Ok(Stat::from_metadata(&metadata))
}

/// Checks `path-flags` bits: `invalid` for unknown ones.
fn path_flags(flags: u32) -> Result<u32, Errno> {
    if flags & !SYMLINK_FOLLOW != 0 {
        return Err(Errno::INVAL);
    }
    Ok(flags)
}

fn read_via_stream(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let offset = args.u64()?;
    args.end()?;
    let file = match descriptor.readable_file() {
        Ok(file) => file.clone(),
        Err(errno) => return finish(Err(errno)),
    };
    let stream = InputStream::File {
        file,
        position: offset,
    };
    let rep = host.resources.push(Resource::InputStream(stream), None)?;
    finish(Ok(Some(ComponentVal::Own(rep))))
}

fn write_via_stream(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let offset = args.u64()?;
    args.end()?;
    let file = match descriptor.writable_file() {
        Ok(file) => file.clone(),
        Err(errno) => return finish(Err(errno)),
    };
    let stream = OutputStream::File {
        file,
        position: offset,
    };
    let rep = host.resources.push(Resource::OutputStream(stream), None)?;
    finish(Ok(Some(ComponentVal::Own(rep))))
}

fn append_via_stream(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    let file = match descriptor.writable_file() {
        Ok(file) => file.clone(),
        Err(errno) => return finish(Err(errno)),
    };
    let rep = host
        .resources
        .push(Resource::OutputStream(OutputStream::Append(file)), None)?;
    finish(Ok(Some(ComponentVal::Own(rep))))
}

fn advise(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let (offset, len, advice) = (args.u64()?, args.u64()?, args.enum_case()?);
    args.end()?;
    finish((|| -> Outcome {
        let file = match &descriptor {
            Descriptor::File { file, .. } => file,
            Descriptor::Dir { .. } => return Err(Errno::BADF),
        };
        crate::wasi::file::advise(file.as_raw_fd(), offset, len, advice).map(|()| None)
    })())
}

fn sync_data(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    // SAFETY: fdatasync on an fd the descriptor owns.
    let result = retry(|| unsafe { libc::fdatasync(descriptor.raw_fd()) } as isize);
    finish(result.map(|_| None))
}

fn sync(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    // SAFETY: fsync on an fd the descriptor owns.
    let result = retry(|| unsafe { libc::fsync(descriptor.raw_fd()) } as isize);
    finish(result.map(|_| None))
}

fn get_flags(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    let mut flags = 0;
    match descriptor {
        Descriptor::File { read, write, .. } => {
            if read {
                flags |= descriptor_flags::READ;
            }
            if write {
                flags |= descriptor_flags::WRITE;
            }
        }
        Descriptor::Dir { mutate, .. } => {
            flags |= descriptor_flags::READ;
            if mutate {
                flags |= descriptor_flags::MUTATE_DIRECTORY;
            }
        }
    }
    finish(Ok(Some(ComponentVal::Flags(vec![flags]))))
}

fn get_type(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    let kind = descriptor
        .fstat()
        .map(|stat| Some(ComponentVal::Enum(descriptor_type::from_mode(stat.mode))));
    finish(kind)
}

fn set_size(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let size = args.u64()?;
    args.end()?;
    finish((|| -> Outcome {
        // The host decides, as in Wasmtime: a file opened without `write` is open
        // read-only there, and `ftruncate` of it is `invalid` (POSIX's EINVAL, which
        // preview 1 programs expect through the adapter), not `bad-descriptor`.
        let file = match &descriptor {
            Descriptor::File { file, .. } => file,
            Descriptor::Dir { .. } => return Err(Errno::ISDIR),
        };
        descriptor.check_mutable()?;
        file.set_len(size)?;
        Ok(None)
    })())
}

/// A `new-timestamp` as a `timespec` for `futimens`.
fn timespec(
    args: &Args,
    (case, payload): (u32, Option<ComponentVal>),
) -> Result<libc::timespec, HostCallError> {
    let (tv_sec, tv_nsec) = match (case, payload) {
        (0, None) => (0, libc::UTIME_OMIT),
        (1, None) => (0, libc::UTIME_NOW),
        (2, Some(value)) => {
            let (seconds, nanoseconds) = args.datetime_of(&value)?;
            (
                seconds.min(i64::MAX as u64) as libc::time_t,
                i64::from(nanoseconds.min(999_999_999)),
            )
        }
        _ => {
            return Err(HostCallError::Trap(
                "wasi: a new-timestamp that is not one of its cases".into(),
            ))
        }
    };
    Ok(libc::timespec { tv_sec, tv_nsec })
}

/// A `new-timestamp` as a `cap-std` time: `None` leaves the time unchanged.
fn time_spec(time: &libc::timespec) -> Option<SystemTimeSpec> {
    match time.tv_nsec {
        libc::UTIME_OMIT => None,
        libc::UTIME_NOW => Some(SystemTimeSpec::SymbolicNow),
        nanoseconds => Some(SystemTimeSpec::Absolute(
            cap_std::time::SystemTime::from_std(
                std::time::UNIX_EPOCH
                    + std::time::Duration::new(time.tv_sec as u64, nanoseconds as u32),
            ),
        )),
    }
}

fn set_times(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let atime = args.variant()?;
    let mtime = args.variant()?;
    let times = [timespec(&args, atime)?, timespec(&args, mtime)?];
    args.end()?;
    finish((|| -> Outcome {
        descriptor.check_mutable()?;
        // SAFETY: futimens on an fd the descriptor owns, with two valid timespecs.
        retry(|| unsafe { libc::futimens(descriptor.raw_fd(), times.as_ptr()) } as isize)?;
        Ok(None)
    })())
}

fn descriptor_read(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let (length, offset) = (args.u64()?, args.u64()?);
    args.end()?;
    finish((|| -> Outcome {
        let file = descriptor.readable_file()?;
        let length = length.min(READ_LIMIT) as usize;
        let mut buffer = vec![0u8; length];
        let read = loop {
            match file.read_at(&mut buffer, offset) {
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                result => break result?,
            }
        };
        buffer.truncate(read);
        let end = read < length || length == 0 && offset >= file.metadata()?.len();
        Ok(Some(ComponentVal::Tuple(vec![
            ComponentVal::Bytes(buffer),
            ComponentVal::Bool(end),
        ])))
    })())
}

fn descriptor_write(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let buffer = args.bytes()?;
    let offset = args.u64()?;
    args.end()?;
    finish((|| -> Outcome {
        descriptor.writable_file()?.write_all_at(&buffer, offset)?;
        Ok(Some(ComponentVal::U64(buffer.len() as u64)))
    })())
}

/// The type of a directory entry.
fn entry_type(file_type: cap_std::fs::FileType) -> u32 {
    use cap_std::fs::FileTypeExt;
    if file_type.is_dir() {
        descriptor_type::DIRECTORY
    } else if file_type.is_symlink() {
        descriptor_type::SYMBOLIC_LINK
    } else if file_type.is_file() {
        descriptor_type::REGULAR_FILE
    } else if file_type.is_block_device() {
        descriptor_type::BLOCK_DEVICE
    } else if file_type.is_char_device() {
        descriptor_type::CHARACTER_DEVICE
    } else if file_type.is_fifo() {
        descriptor_type::FIFO
    } else if file_type.is_socket() {
        descriptor_type::SOCKET
    } else {
        descriptor_type::UNKNOWN
    }
}

fn read_directory(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    let entries = (|| -> Result<Vec<(u32, String)>, Errno> {
        let mut entries = Vec::new();
        // Not `.` and `..`, which WASI 0.2 leaves out.
        for entry in descriptor.dir()?.entries()? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_str().ok_or(Errno::ILSEQ)?.to_string();
            entries.push((entry_type(entry.file_type()?), name));
        }
        Ok(entries)
    })();
    let entries = match entries {
        Ok(entries) => entries,
        Err(errno) => return finish(Err(errno)),
    };
    let resource = Resource::DirectoryEntryStream(entries.into_iter());
    let rep = host.resources.push(resource, None)?;
    finish(Ok(Some(ComponentVal::Own(rep))))
}

fn read_directory_entry(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let Resource::DirectoryEntryStream(entries) =
        host.resources.get_mut(Kind::DirectoryEntryStream, rep)?
    else {
        unreachable!("get checks the kind")
    };
    let entry = entries.next().map(|(kind, name)| {
        ComponentVal::Record(vec![ComponentVal::Enum(kind), ComponentVal::String(name)])
    });
    finish(Ok(Some(option(entry))))
}

/// Runs `f` on the (mutable, when `mutate`) directory of the method's `self` and a path,
/// for the `*-at` functions that take nothing else; no `ok` payload.
fn at(
    host: &mut WasiP2,
    mut args: Args,
    mutate: bool,
    f: impl FnOnce(&cap_std::fs::Dir, &str) -> std::io::Result<()>,
) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let path = args.string()?;
    args.end()?;
    finish((|| -> Outcome {
        let dir = if mutate {
            descriptor.mutable_dir()?
        } else {
            descriptor.dir()?
        };
        f(dir, &path)?;
        Ok(None)
    })())
}

fn create_directory_at(host: &mut WasiP2, args: Args) -> HostResult {
    at(host, args, true, |dir, path| dir.create_dir(path))
}

fn remove_directory_at(host: &mut WasiP2, args: Args) -> HostResult {
    at(host, args, true, |dir, path| dir.remove_dir(path))
}

fn unlink_file_at(host: &mut WasiP2, args: Args) -> HostResult {
    at(host, args, true, |dir, path| {
        dir.remove_file_or_symlink(path)
    })
}

fn stat(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    finish(descriptor.fstat().map(|stat| Some(stat.record())))
}

fn stat_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let flags = args.flags()?;
    let path = args.string()?;
    args.end()?;
    finish((|| -> Outcome {
        let stat = stat_path(descriptor.dir()?, path_flags(flags)?, &path)?;
        Ok(Some(stat.record()))
    })())
}

fn set_times_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let flags = args.flags()?;
    let path = args.string()?;
    let atime = args.variant()?;
    let mtime = args.variant()?;
    let (atime, mtime) = (timespec(&args, atime)?, timespec(&args, mtime)?);
    args.end()?;
    finish((|| -> Outcome {
        let dir = descriptor.mutable_dir()?;
        let (atime, mtime) = (time_spec(&atime), time_spec(&mtime));
        if path_flags(flags)? & SYMLINK_FOLLOW != 0 {
            dir.set_times(&path, atime, mtime)?;
        } else {
            dir.set_symlink_times(&path, atime, mtime)?;
        }
        Ok(None)
    })())
}

fn link_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let flags = args.flags()?;
    let old_path = args.string()?;
    let new_descriptor = host.descriptor(args.borrow()?)?;
    let new_path = args.string()?;
    args.end()?;
    finish((|| -> Outcome {
        let flags = path_flags(flags)?;
        // A link into a directory that may be changed would let a read-only file be
        // written through it, and one into a read-only directory changes that: both are
        // `not-permitted`, before the symlink check, as in Wasmtime.
        let (old_dir, new_dir) = (descriptor.mutable_dir()?, new_descriptor.mutable_dir()?);
        // Following a symlink for the source is not supported (as in Wasmtime): the
        // link would be to whatever the symlink names, which cap-std cannot check.
        if flags & SYMLINK_FOLLOW != 0 {
            return Err(Errno::INVAL);
        }
        old_dir.hard_link(&old_path, new_dir, &new_path)?;
        Ok(None)
    })())
}

fn rename_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let old_path = args.string()?;
    let new_descriptor = host.descriptor(args.borrow()?)?;
    let new_path = args.string()?;
    args.end()?;
    finish((|| -> Outcome {
        let (old_dir, new_dir) = (descriptor.mutable_dir()?, new_descriptor.mutable_dir()?);
        old_dir.rename(&old_path, new_dir, &new_path)?;
        Ok(None)
    })())
}

fn symlink_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let target = args.string()?;
    let link = args.string()?;
    args.end()?;
    finish((|| -> Outcome {
        // The target is stored as given; it is checked when something resolves through
        // the link, like every other path.
        descriptor.mutable_dir()?.symlink(&target, &link)?;
        Ok(None)
    })())
}

fn readlink_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let path = args.string()?;
    args.end()?;
    finish((|| -> Outcome {
        let target = descriptor.dir()?.read_link_contents(&path)?;
        let target =
            std::str::from_utf8(target.as_os_str().as_bytes()).map_err(|_| Errno::ILSEQ)?;
        Ok(Some(ComponentVal::String(target.to_string())))
    })())
}

fn open_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let follow = args.flags()?;
    let path = args.string()?;
    let open = args.flags()?;
    let flags = args.flags()?;
    args.end()?;
    let opened = (|| -> Result<Descriptor, Errno> {
        let follow = path_flags(follow)? & SYMLINK_FOLLOW != 0;
        if open & !open_flags::ALL != 0 || flags & !descriptor_flags::ALL != 0 {
            return Err(Errno::INVAL);
        }
        let Descriptor::Dir {
            dir,
            mutate: parent_mutate,
        } = &descriptor
        else {
            return Err(Errno::NOTDIR);
        };
        let (read, write) = (
            flags & descriptor_flags::READ != 0,
            flags & descriptor_flags::WRITE != 0,
        );
        let directory = open & open_flags::DIRECTORY != 0;
        if directory
            && open & (open_flags::CREATE | open_flags::EXCLUSIVE | open_flags::TRUNCATE) != 0
        {
            return Err(Errno::INVAL);
        }
        // Checked before the host is asked, as in Wasmtime: nothing beneath a read-only
        // preopen is created, truncated or opened for writing.
        let changes = open & (open_flags::CREATE | open_flags::TRUNCATE) != 0 || write;
        if changes && !parent_mutate {
            return Err(Errno::PERM);
        }
        if directory && write {
            return Err(Errno::ISDIR);
        }
        let mut options = cap_std::fs::OpenOptions::new();
        options.maybe_dir(true);
        if open & open_flags::CREATE != 0 {
            if open & open_flags::EXCLUSIVE != 0 {
                options.create_new(true);
            } else {
                options.create(true);
            }
            options.write(true);
        }
        if open & open_flags::TRUNCATE != 0 {
            options.truncate(true).write(true);
        }
        if write {
            options.write(true);
        }
        // As in Wasmtime, a descriptor not opened for writing is opened for reading, and
        // may be read through; one created or truncated may be written through.
        let read = read || !write;
        let write = write || open & (open_flags::CREATE | open_flags::TRUNCATE) != 0;
        if read {
            options.read(true);
        }
        options.sync(flags & descriptor_flags::FILE_INTEGRITY_SYNC != 0);
        options.dsync(flags & descriptor_flags::DATA_INTEGRITY_SYNC != 0);
        options.rsync(flags & descriptor_flags::REQUESTED_WRITE_SYNC != 0);
        options.follow(if follow {
            FollowSymlinks::Yes
        } else {
            FollowSymlinks::No
        });
        let file = dir.open_with(&path, &options)?;
        if file.metadata()?.is_dir() {
            Ok(Descriptor::Dir {
                dir: Rc::new(cap_std::fs::Dir::from_std_file(file.into_std())),
                mutate: *parent_mutate,
            })
        } else if directory {
            Err(Errno::NOTDIR)
        } else {
            Ok(Descriptor::File {
                file: Rc::new(file.into_std()),
                read,
                write,
                mutate: *parent_mutate,
            })
        }
    })();
    match opened {
        Ok(opened) => {
            let handle = host.push_descriptor(opened)?;
            finish(Ok(Some(handle)))
        }
        Err(errno) => finish(Err(errno)),
    }
}

fn is_same_object(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let other = host.descriptor(args.borrow()?)?;
    args.end()?;
    let same = match (descriptor.fstat(), other.fstat()) {
        (Ok(first), Ok(second)) => first.dev == second.dev && first.ino == second.ino,
        _ => false,
    };
    Ok(one(ComponentVal::Bool(same)))
}

fn metadata_hash(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    args.end()?;
    finish(descriptor.fstat().map(|stat| Some(stat.hash())))
}

fn metadata_hash_at(host: &mut WasiP2, mut args: Args) -> HostResult {
    let descriptor = host.descriptor(args.borrow()?)?;
    let flags = args.flags()?;
    let path = args.string()?;
    args.end()?;
    finish((|| -> Outcome {
        let stat = stat_path(descriptor.dir()?, path_flags(flags)?, &path)?;
        Ok(Some(stat.hash()))
    })())
}

fn filesystem_error_code(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let Resource::Error(error) = host.resources.get(Kind::Error, rep)? else {
        unreachable!("get checks the kind")
    };
    Ok(one(option(error.code.map(ComponentVal::Enum))))
}

fn get_directories(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let preopens = host.preopens.clone();
    let mut directories = Vec::with_capacity(preopens.len());
    for (dir, guest_path, mutate) in preopens {
        let handle = host.push_descriptor(Descriptor::Dir { dir, mutate })?;
        directories.push(ComponentVal::Tuple(vec![
            handle,
            ComponentVal::String(guest_path),
        ]));
    }
    Ok(one(ComponentVal::List(directories)))
}
