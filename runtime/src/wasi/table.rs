//! The guest's descriptor table: what each WASI fd stands for, and the rights and file
//! types fdstat reports.
//!
//! ```text
//!   fd 0, 1, 2   stdio (the process's own, or nothing)
//!   fd 3, 4, ... preopened directories, in the order they were granted
//!   then         what path_open returns: the lowest free number
//! ```
//!
//! A file is a `std::fs::File` opened beneath a preopen by `cap-std`; a directory is a
//! `cap_std::fs::Dir`, the only handle through which paths are resolved. Both carry
//! `mutate`, which they inherit from the preopen they were opened beneath: false beneath
//! a read-only one.

use super::{Errno, Preopen, Stdio};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, RawFd};

/// Which stdio stream a descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StdioStream {
    In,
    Out,
    Err,
}

/// What a guest descriptor stands for.
pub(crate) enum Descriptor {
    /// Stdio: a host fd (0, 1, 2) when inherited, none when connected to nothing.
    Stdio {
        stream: StdioStream,
        host_fd: Option<RawFd>,
    },
    File {
        file: std::fs::File,
        /// Whether the file may be changed (its size, times, space): false beneath a
        /// read-only preopen.
        mutate: bool,
    },
    Dir {
        dir: cap_std::fs::Dir,
        /// The guest path of a preopened directory.
        preopen: Option<String>,
        /// Whether anything beneath it (or the directory's own times) may be changed:
        /// false beneath a read-only preopen.
        mutate: bool,
    },
}

impl Descriptor {
    /// The host fd, if any.
    pub fn raw_fd(&self) -> Option<RawFd> {
        match self {
            Descriptor::Stdio { host_fd, .. } => *host_fd,
            Descriptor::File { file, .. } => Some(file.as_raw_fd()),
            Descriptor::Dir { dir, .. } => Some(dir.as_raw_fd()),
        }
    }
}

/// The descriptor table: a vector indexed by fd rather than a map, since numbers are
/// handed out lowest first and so stay dense (and a `BTreeMap`'s code is 2 KB of every
/// executable).
pub(crate) struct FdTable {
    /// The descriptor of each fd; `None` for a closed number below the highest open one.
    entries: Vec<Option<Descriptor>>,
    /// How many entries are open.
    open: usize,
}

/// The most descriptors a guest may hold at once.
const MAX_DESCRIPTORS: usize = 1 << 16;

impl FdTable {
    pub(super) fn new(stdio: Stdio, preopens: impl Iterator<Item = Preopen>) -> FdTable {
        let mut entries = Vec::new();
        for (fd, stream) in [StdioStream::In, StdioStream::Out, StdioStream::Err]
            .into_iter()
            .enumerate()
        {
            let host_fd = (stdio == Stdio::Inherit).then_some(fd as RawFd);
            entries.push(Some(Descriptor::Stdio { stream, host_fd }));
        }
        entries.extend(preopens.map(|preopen| {
            Some(Descriptor::Dir {
                dir: preopen.dir,
                preopen: Some(preopen.guest_path),
                mutate: preopen.mutate,
            })
        }));
        FdTable {
            open: entries.len(),
            entries,
        }
    }

    pub fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.entries
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::BADF)
    }

    /// A regular file (or other non-directory opened by path); `EBADF` otherwise.
    pub fn file(&self, fd: u32) -> Result<&std::fs::File, Errno> {
        match self.get(fd)? {
            Descriptor::File { file, .. } => Ok(file),
            _ => Err(Errno::BADF),
        }
    }

    /// A file that may be changed: `EBADF` for anything but a file, `EPERM` for a file
    /// beneath a read-only preopen (as in Wasmtime).
    pub fn mutable_file(&self, fd: u32) -> Result<&std::fs::File, Errno> {
        match self.get(fd)? {
            Descriptor::File { file, mutate: true } => Ok(file),
            Descriptor::File { .. } => Err(Errno::PERM),
            _ => Err(Errno::BADF),
        }
    }

    /// A directory to resolve paths in: `ENOTDIR` for a file, `EBADF` for stdio.
    pub fn dir(&self, fd: u32) -> Result<&cap_std::fs::Dir, Errno> {
        self.dir_and_mutate(fd).map(|(dir, _)| dir)
    }

    /// A directory to change things beneath: as [`FdTable::dir`], and `EPERM` for one
    /// beneath a read-only preopen (as in Wasmtime).
    pub fn mutable_dir(&self, fd: u32) -> Result<&cap_std::fs::Dir, Errno> {
        match self.dir_and_mutate(fd)? {
            (dir, true) => Ok(dir),
            (_, false) => Err(Errno::PERM),
        }
    }

    /// A directory to resolve paths in and whether things beneath it may be changed.
    pub fn dir_and_mutate(&self, fd: u32) -> Result<(&cap_std::fs::Dir, bool), Errno> {
        match self.get(fd)? {
            Descriptor::Dir { dir, mutate, .. } => Ok((dir, *mutate)),
            Descriptor::File { .. } => Err(Errno::NOTDIR),
            Descriptor::Stdio { .. } => Err(Errno::BADF),
        }
    }

    /// Adds `descriptor` under the lowest free number.
    pub fn push(&mut self, descriptor: Descriptor) -> Result<u32, Errno> {
        if self.open >= MAX_DESCRIPTORS {
            return Err(Errno::MFILE);
        }
        let fd = match self.entries.iter().position(Option::is_none) {
            Some(fd) => {
                self.entries[fd] = Some(descriptor);
                fd
            }
            None => {
                self.entries.push(Some(descriptor));
                self.entries.len() - 1
            }
        };
        self.open += 1;
        // At most MAX_DESCRIPTORS numbers are ever in use, so this cannot fail.
        u32::try_from(fd).map_err(|_| Errno::MFILE)
    }

    /// Takes every descriptor out of the table (WASI 0.2 turns stdio and the preopens
    /// into resources of its own).
    pub fn take_all(&mut self) -> BTreeMap<u32, Descriptor> {
        self.open = 0;
        (0..)
            .zip(std::mem::take(&mut self.entries))
            .filter_map(|(fd, descriptor)| Some((fd, descriptor?)))
            .collect()
    }

    pub fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        let descriptor = self
            .entries
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::BADF)?;
        self.open -= 1;
        while let Some(None) = self.entries.last() {
            self.entries.pop();
        }
        Ok(descriptor)
    }

    /// Moves `from` to `to`, closing what `to` was; both must be open.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(from)?;
        self.get(to)?;
        if from != to {
            let descriptor = self.remove(from)?;
            // `to` is open and so below the end, which `remove` moved past no open entry.
            self.entries[to as usize] = Some(descriptor);
        }
        Ok(())
    }
}

/// `filetype` values.
pub(crate) mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;

    /// The WASI file type of a host `st_mode`.
    pub fn from_mode(mode: u32) -> u8 {
        match mode & libc::S_IFMT {
            libc::S_IFBLK => BLOCK_DEVICE,
            libc::S_IFCHR => CHARACTER_DEVICE,
            libc::S_IFDIR => DIRECTORY,
            libc::S_IFREG => REGULAR_FILE,
            libc::S_IFSOCK => SOCKET_STREAM,
            libc::S_IFLNK => SYMBOLIC_LINK,
            _ => UNKNOWN,
        }
    }
}

/// `rights` bits: the whole witx set, including those kiln never reports alone.
#[allow(dead_code)]
pub(crate) mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    /// Every defined right.
    pub const ALL: u64 = (1 << 30) - 1;

    /// What a preopened directory reports as its own rights (Wasmtime's set, which
    /// guest libcs expect).
    pub const PREOPEN_BASE: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES;

    /// What files opened beneath a preopened directory may get.
    pub const PREOPEN_INHERITING: u64 = PREOPEN_BASE
        | FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
}

/// `fdflags` bits.
pub(crate) mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = (1 << 5) - 1;
}
