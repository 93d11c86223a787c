//! [`Mmap`]: the one type that owns a mapping of the process's address space, and the only
//! file that calls `mmap`, `mprotect` and `munmap`. Linear memories, the loader's image of
//! an object and the alternate signal stacks are each an `Mmap`; a mapping is unmapped when
//! its owner drops it, unless it is handed on with [`Mmap::into_raw`] (kept for reuse, or
//! kept for the life of the process).
//!
//! ```text
//!  base                                                        base + len
//!  ┌──────────────────────────────┬─────────────────────────────────┐
//!  │ accessible pages (R W, R X)  │ reserved pages (PROT_NONE)      │
//!  └──────────────────────────────┴─────────────────────────────────┘
//!    make_accessible / protect      reserve; discard turns pages back
//! ```

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system page size (asked once).
pub(crate) fn page_size() -> usize {
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => {
            // The auxiliary vector's entry rather than `sysconf(_SC_PAGESIZE)`, whose table
            // of every `_SC_` name was about 1 KB of a static executable (musl).
            // SAFETY: getauxval has no preconditions.
            let size = unsafe { libc::getauxval(libc::AT_PAGESZ) };
            let size = usize::try_from(size)
                .ok()
                .filter(|size| *size > 0)
                .unwrap_or(4096);
            PAGE_SIZE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

/// What the pages of a range may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protection {
    None,
    /// Only the loader (feature `loader`) and tests map read-only or executable pages; a
    /// runtime built without them (an executable's) has no use for these two.
    #[cfg_attr(not(any(test, feature = "loader")), allow(dead_code))]
    Read,
    ReadWrite,
    #[cfg_attr(not(any(test, feature = "loader")), allow(dead_code))]
    ReadExecute,
}

impl Protection {
    fn bits(self) -> libc::c_int {
        match self {
            Protection::None => libc::PROT_NONE,
            Protection::Read => libc::PROT_READ,
            Protection::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Protection::ReadExecute => libc::PROT_READ | libc::PROT_EXEC,
        }
    }
}

/// An owned, page-aligned mapping of anonymous memory. An empty one maps nothing.
#[derive(Debug)]
pub(crate) struct Mmap {
    base: *mut u8,
    len: usize,
}

// SAFETY: an `Mmap` is a plain owner of address space; which threads touch the bytes is
// up to its owner, as for a `Box<[u8]>`.
unsafe impl Send for Mmap {}

impl Mmap {
    /// Reserves `len` bytes of address space, inaccessible and not backed by memory.
    pub fn reserve(len: usize) -> io::Result<Mmap> {
        Mmap::map(
            std::ptr::null_mut(),
            len,
            Protection::None,
            libc::MAP_NORESERVE,
        )
    }

    /// Reserves `len` bytes of address space at `address` exactly; an error when any of
    /// it is taken. `MAP_FIXED_NOREPLACE` refuses a taken range, and a kernel older than
    /// 4.17 (or valgrind) takes the address as a hint, so the result is checked too.
    pub fn reserve_at(address: usize, len: usize) -> io::Result<Mmap> {
        let flags = libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
        let mapping = Mmap::map(address as *mut libc::c_void, len, Protection::None, flags)?;
        if len != 0 && mapping.as_ptr() as usize != address {
            // Dropping the mapping made elsewhere unmaps it.
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        Ok(mapping)
    }

    /// Maps `len` bytes of zeroed read-write memory (for the loader, the alternate signal
    /// stacks of threads, and the executables' heap, `class_heap.rs`).
    pub fn accessible(len: usize) -> io::Result<Mmap> {
        Mmap::map(std::ptr::null_mut(), len, Protection::ReadWrite, 0)
    }

    /// A private anonymous mapping of `len` bytes, at `address` when the kernel agrees
    /// (a hint, or with `MAP_FIXED_NOREPLACE` in `flags` a demand).
    fn map(
        address: *mut libc::c_void,
        len: usize,
        protection: Protection,
        flags: libc::c_int,
    ) -> io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap::empty());
        }
        // SAFETY: a fresh private anonymous mapping; nothing aliases it. Without
        // `MAP_FIXED` the kernel never replaces an existing mapping (`MAP_FIXED_NOREPLACE`
        // fails instead).
        let base = unsafe {
            libc::mmap(
                address,
                len,
                protection.bits(),
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            base: base.cast(),
            len,
        })
    }

    /// A mapping of nothing, at a dangling aligned address.
    pub fn empty() -> Mmap {
        Mmap {
            base: std::ptr::NonNull::<u64>::dangling().as_ptr().cast(),
            len: 0,
        }
    }

    /// Takes ownership of a mapping given up by [`Mmap::into_raw`].
    ///
    /// # Safety
    /// `[base, base + len)` must be a mapping that nothing else owns or uses.
    pub unsafe fn from_raw(base: *mut u8, len: usize) -> Mmap {
        Mmap { base, len }
    }

    /// Gives up ownership: the mapping stays, and the caller answers for it.
    pub fn into_raw(self) -> (*mut u8, usize) {
        let raw = (self.base, self.len);
        std::mem::forget(self);
        raw
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.base
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Checks that `[start, start + len)` is a page-aligned range of the mapping.
    fn check_range(&self, start: usize, len: usize) -> io::Result<()> {
        let page = page_size();
        let in_bounds = start.checked_add(len).is_some_and(|end| end <= self.len);
        if !in_bounds || !start.is_multiple_of(page) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, BadRange));
        }
        Ok(())
    }

    /// Makes `[start, start + len)` readable and writable.
    pub fn make_accessible(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, Protection::ReadWrite)
    }

    /// Sets the protection of `[start, start + len)`.
    pub fn protect(&mut self, start: usize, len: usize, protection: Protection) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        self.check_range(start, len)?;
        // SAFETY: a page-aligned range of our own mapping (checked above).
        let status = unsafe { libc::mprotect(self.base.add(start).cast(), len, protection.bits()) };
        if status != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Replaces `[start, start + len)` with fresh inaccessible anonymous pages, which read
    /// as zero once made accessible again. Unlike `MADV_DONTNEED`, this also empties pages
    /// that [`Mmap::map_file`] put there (which would revert to the file's bytes).
    pub fn discard(&mut self, start: usize, len: usize) -> io::Result<()> {
        self.replace(start, len, Protection::None, None)
    }

    /// Replaces `[start, start + len)` with private, writable copies-on-write of `fd`'s
    /// pages from `file_offset`; `false` when the host refused, and the range is zeroed
    /// read-write pages again (a failed fixed mapping may have unmapped it). An error only
    /// when even that failed.
    pub fn map_file(
        &mut self,
        start: usize,
        len: usize,
        fd: RawFd,
        file_offset: u64,
    ) -> io::Result<bool> {
        self.check_range(start, len)?;
        if self
            .replace(start, len, Protection::ReadWrite, Some((fd, file_offset)))
            .is_ok()
        {
            return Ok(true);
        }
        self.replace(start, len, Protection::ReadWrite, None)?;
        Ok(false)
    }

    /// Maps fresh pages (of `file`, or anonymous) over `[start, start + len)`.
    fn replace(
        &mut self,
        start: usize,
        len: usize,
        protection: Protection,
        file: Option<(RawFd, u64)>,
    ) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        self.check_range(start, len)?;
        let (fd, offset, flags) = match file {
            Some((fd, offset)) => {
                let offset = libc::off_t::try_from(offset)
                    .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
                (fd, offset, 0)
            }
            None => (-1, 0, libc::MAP_ANONYMOUS | libc::MAP_NORESERVE),
        };
        // SAFETY: a page-aligned range of our own mapping (checked above), whose previous
        // contents the caller gives up; MAP_FIXED replaces exactly those pages.
        let mapped = unsafe {
            libc::mmap(
                self.base.add(start).cast(),
                len,
                protection.bits(),
                libc::MAP_PRIVATE | libc::MAP_FIXED | flags,
                fd,
                offset,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The bytes of `[start, start + len)`.
    ///
    /// # Safety
    /// The range must be accessible and not aliased by another live reference.
    pub unsafe fn slice_mut(&mut self, start: usize, len: usize) -> &mut [u8] {
        debug_assert!(start + len <= self.len);
        // SAFETY: caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(start), len) }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: our own mapping; whoever used its bytes is gone with its owner.
            unsafe { libc::munmap(self.base.cast(), self.len) };
        }
    }
}

/// A range that is outside a mapping or not page-aligned: a type rather than a message
/// string, whose boxing would bring the `Debug` formatting of strings, with its Unicode
/// tables, into every executable.
#[derive(Debug)]
struct BadRange;

impl std::fmt::Display for BadRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("range outside the mapping or not page-aligned")
    }
}

impl std::error::Error for BadRange {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_pages_become_accessible_and_are_discarded_to_zero() {
        let page = page_size();
        let mut mmap = Mmap::reserve(4 * page).unwrap();
        mmap.make_accessible(0, 2 * page).unwrap();
        // SAFETY: the first two pages are accessible and only this test uses them.
        unsafe { mmap.slice_mut(0, 2 * page).fill(7) };
        mmap.discard(0, 2 * page).unwrap();
        mmap.make_accessible(0, page).unwrap();
        // SAFETY: as above.
        assert!(unsafe { mmap.slice_mut(0, page) }.iter().all(|&b| b == 0));
    }

    #[test]
    fn ranges_outside_the_mapping_are_refused() {
        let page = page_size();
        let mut mmap = Mmap::reserve(2 * page).unwrap();
        assert!(mmap.make_accessible(page, 2 * page).is_err());
        assert!(mmap.make_accessible(1, page).is_err());
        assert!(mmap.make_accessible(usize::MAX - page + 1, page).is_err());
        assert!(mmap.protect(0, 0, Protection::Read).is_ok());
    }

    #[test]
    fn an_empty_mapping_maps_nothing() {
        let mmap = Mmap::reserve(0).unwrap();
        assert_eq!(mmap.len(), 0);
        let (base, len) = mmap.into_raw();
        assert!(!base.is_null());
        assert_eq!(len, 0);
    }
}
