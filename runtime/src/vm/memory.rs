//! Linear memory: one reservation of address space per memory, made accessible page by page
//! as the memory grows. The base never moves, which is what lets compiled code cache it and
//! skip bounds checks.
//!
//! ```text
//!  base                                                 base + reservation
//!   │                                                          │
//!   ▼                                                          ▼
//!   ┌──────────────────────┬───────────────────────────────────┬─────────────────────┐
//!   │ accessible (RW)      │ reserved, PROT_NONE               │ guard, PROT_NONE    │
//!   │ pages * 64 KiB       │ grows into this by mprotect       │ guard_size bytes    │
//!   └──────────────────────┴───────────────────────────────────┴─────────────────────┘
//!   ◄── current_length ───►
//!   ◄──────────── reservation (4 GiB - 64 KiB by default) ─────►◄─ 2 GiB by default ─►
//! ```
//!
//! With the default settings a 32-bit index plus any static offset up to `guard_size`
//! less 64 KiB lands in this mapping, so an out-of-bounds access faults in PROT_NONE pages
//! and becomes a `MemoryOutOfBounds` trap. The default reservation stops one wasm page
//! short of 4 GiB, so a memory grows to 65535 pages at most: its length stays 64 KiB below
//! 2^32, and the compiler adds constants of up to 64 KiB to an index already accessed
//! without wrapping at 2^32 (`translate/memory.rs`, `split_constant_term`). In `bounds_checks` mode the code checks every access against
//! `current_length`, and the reservation may be smaller than the index space; it must
//! still be large enough for every page the memory will ever have, since it never moves.
//!
//! A 64-bit memory's code checks every access whose end may lie past `reservation +
//! guard_size` (see the compiler's `translate/memory.rs`), so in the default layout its
//! reservation may be larger than the settings' one: it is the larger of that, its
//! minimum, and its declared maximum up to [`MAX_MEMORY64_RESERVATION`] (16 GiB), so a
//! memory64 with a maximum past 4 GiB can grow there. When the host refuses that much
//! address space, the memory gets the smallest reservation that holds its minimum, and
//! growth stops there. Without a declared maximum it reserves like a 32-bit memory.
//!
//! A dropped memory's mapping is kept, emptied (its pages replaced by fresh inaccessible
//! anonymous ones, which read as zero once accessible), for the next memory with a mapping
//! of the same length, up to [`MAX_FREE_RESERVATIONS`] of them. Instantiating then skips
//! reserving 6 GiB of address space, and under emulators that never free the bookkeeping
//! of unmapped ranges (qemu-user 7.2 keeps about 37 MB per unmapped 6 GiB reservation), a
//! program that makes and drops memories one after another stays small.

use super::mmap::{page_size, Mmap};
use crate::Error;
use kiln_abi::metadata::{MemorySettings, MemoryType};
use kiln_abi::WASM_PAGE_SIZE;
use std::sync::Mutex;

/// Most mappings of dropped memories kept for reuse (6 TiB of address space at the default
/// layout, none of it backed by memory).
const MAX_FREE_RESERVATIONS: usize = 1024;

/// Mappings of dropped memories: (base address, mapping length), all `PROT_NONE` and
/// anonymous, owned by this list.
static FREE_RESERVATIONS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// A kept mapping of `mapping_len` bytes, if there is one.
fn reuse_reservation(mapping_len: usize) -> Option<Mmap> {
    let mut free = FREE_RESERVATIONS.lock().unwrap_or_else(|e| e.into_inner());
    let index = free.iter().rposition(|&(_, len)| len == mapping_len)?;
    let (base, len) = free.swap_remove(index);
    // SAFETY: the list owned this mapping, which nothing uses, and has just let it go.
    Some(unsafe { Mmap::from_raw(base as *mut u8, len) })
}

/// Keeps `mapping` for reuse, after replacing its first `accessible` bytes by fresh
/// inaccessible anonymous pages; gives it back (for the caller to unmap) when the pool is
/// full or the host refused.
fn keep_reservation(mut mapping: Mmap, accessible: usize) -> Result<(), Mmap> {
    let mut free = FREE_RESERVATIONS.lock().unwrap_or_else(|e| e.into_inner());
    if free.len() >= MAX_FREE_RESERVATIONS || mapping.discard(0, accessible).is_err() {
        return Err(mapping);
    }
    let (base, len) = mapping.into_raw();
    free.push((base as usize, len));
    Ok(())
}

/// Largest number of pages of a 32-bit memory.
const MAX_PAGES_32: u64 = 1 << 16;
/// Largest number of pages of a 64-bit memory.
const MAX_PAGES_64: u64 = 1 << 48;
/// The most address space a 64-bit memory reserves for its declared maximum in the default
/// layout (beyond the settings' reservation): 16 GiB. More would be free on a native host,
/// but qemu-user keeps bookkeeping per reserved page (about 100 MB for 16 GiB), and the
/// spec testsuite declares a memory64 with a maximum of 2^48 pages.
pub(crate) const MAX_MEMORY64_RESERVATION: u64 = 16 << 30;

/// A linear memory's mapping and size.
#[derive(Debug)]
pub(crate) struct LinearMemory {
    /// The whole mapping, reservation plus guard; it starts with the memory. `None` only
    /// while the memory is being dropped.
    mapping: Option<Mmap>,
    /// Bytes the memory may ever occupy (the reservation).
    reservation: usize,
    /// Accessible bytes.
    len: usize,
    /// The type it was created with; `min_pages` stays the declared minimum.
    ty: MemoryType,
    /// The layout it was created with.
    settings: MemorySettings,
    /// Whether it lies at an address the code assumes ([`LinearMemory::new_at`]): its
    /// mapping is unmapped when dropped, never kept for another memory, so that the next
    /// instance of the module finds the address free.
    fixed: bool,
}

impl LinearMemory {
    /// Reserves and maps a memory of type `ty` laid out per `settings`.
    pub fn new(ty: MemoryType, settings: MemorySettings) -> Result<LinearMemory, Error> {
        LinearMemory::create(ty, settings, None)
    }

    /// [`LinearMemory::new`] at `address` (`ModuleMetadata::fixed_memory_address`); an
    /// error when the address space there is taken (by another instance of the module).
    pub fn new_at(
        ty: MemoryType,
        settings: MemorySettings,
        address: usize,
    ) -> Result<LinearMemory, Error> {
        LinearMemory::create(ty, settings, Some(address))
    }

    fn create(
        ty: MemoryType,
        settings: MemorySettings,
        address: Option<usize>,
    ) -> Result<LinearMemory, Error> {
        let absolute_max = if ty.memory64 {
            MAX_PAGES_64
        } else {
            MAX_PAGES_32
        };
        if ty.min_pages > absolute_max || ty.max_pages.is_some_and(|max| max > absolute_max) {
            return Err(Error::new(if ty.memory64 {
                "memory size must be at most 2^48 pages (2^64 bytes)"
            } else {
                "memory size must be at most 65536 pages (4 GiB)"
            }));
        }
        if ty.max_pages.is_some_and(|max| max < ty.min_pages) {
            return Err(Error::new("memory maximum is below its minimum"));
        }
        // Whole wasm pages, reservation plus guard within `MemorySettings::MAX_MAPPING`: the
        // sizes the compiler left bounds checks out by (a corrupt object's are refused).
        let settings = settings.checked().map_err(Error::new)?;
        let page = page_size() as u64;
        let too_large = || Error::new("memory reservation too large for this host");
        let min_bytes = ty
            .min_pages
            .checked_mul(WASM_PAGE_SIZE)
            .ok_or_else(too_large)?;
        let mut reservation = settings.reservation;
        // The reservation to fall back to when the host refuses a larger one.
        let mut smallest = reservation;
        if settings.bounds_checks || ty.memory64 {
            // Explicit checks: any reservation works if it holds the minimum.
            reservation = reservation.max(min_bytes);
            smallest = reservation;
        }
        if ty.memory64 && !settings.bounds_checks {
            // Room to grow up to the declared maximum, as far as a reservation may go.
            let max_bytes = ty
                .max_pages
                .map_or(0, |max| max.saturating_mul(WASM_PAGE_SIZE))
                .min(MAX_MEMORY64_RESERVATION);
            reservation = reservation.max(max_bytes);
        }
        // Whole wasm pages are whole host pages wherever the host's pages are at most
        // 64 KiB; rounding keeps larger pages correct too.
        let round = |bytes: u64| bytes.checked_next_multiple_of(page).ok_or_else(too_large);
        let (reservation, smallest) = (round(reservation)?, round(smallest)?);
        let guard = round(settings.guard_size)?;
        if min_bytes > reservation {
            return Err(Error::new(format!(
                "memory minimum of {} pages exceeds the reservation of {reservation} bytes",
                ty.min_pages
            )));
        }
        let mapping_len = |reservation: u64| {
            reservation
                .checked_add(guard)
                .and_then(|len| usize::try_from(len).ok())
                .ok_or_else(too_large)
        };
        let reserve = |mapping_len: usize| {
            if let Some(address) = address {
                return Mmap::reserve_at(address, mapping_len).map_err(|error| {
                    let reason = if error.raw_os_error() == Some(libc::EEXIST) {
                        "part of that range is already mapped".to_string()
                    } else {
                        crate::error::IoMessage(&error).to_string()
                    };
                    Error::new(format!(
                        "cannot reserve {mapping_len} bytes of address space at {address:#x} \
                         for the module's memory, where its code was compiled to find it: \
                         {reason} (a module built for a fixed memory address runs one \
                         instance at a time; `kiln build --movable-memory` builds it for a \
                         memory anywhere)"
                    ))
                });
            }
            match reuse_reservation(mapping_len) {
                Some(mapping) if mapping_len > 0 => Ok(mapping),
                _ => Mmap::reserve(mapping_len).map_err(|error| {
                    Error::new(format!(
                        "cannot reserve {mapping_len} bytes of address space for a memory: {}",
                        crate::error::IoMessage(&error)
                    ))
                }),
            }
        };
        let (mapping, reservation) = match reserve(mapping_len(reservation)?) {
            Ok(mapping) => (mapping, reservation),
            Err(_) if smallest < reservation => (reserve(mapping_len(smallest)?)?, smallest),
            Err(error) => return Err(error),
        };
        let reservation = usize::try_from(reservation).map_err(|_| too_large())?;
        let mut memory = LinearMemory {
            mapping: Some(mapping),
            reservation,
            len: 0,
            ty,
            settings,
            fixed: address.is_some(),
        };
        memory.make_accessible(min_bytes as usize)?;
        Ok(memory)
    }

    /// Makes the first `len` bytes readable and writable.
    fn make_accessible(&mut self, len: usize) -> Result<(), Error> {
        if len > self.len {
            // Callers check `len <= reservation`; `self.len` is page-aligned.
            let accessible = self.len;
            self.mapping_mut()
                .make_accessible(accessible, len - accessible)
                .map_err(|error| {
                    Error::new(format!(
                        "cannot grow memory: {}",
                        crate::error::IoMessage(&error)
                    ))
                })?;
        }
        self.len = len;
        Ok(())
    }

    /// The memory's mapping, which starts with its bytes.
    pub fn mapping_mut(&mut self) -> &mut Mmap {
        self.mapping
            .as_mut()
            .expect("a live memory has its mapping")
    }

    /// The maximum number of pages this memory can reach.
    pub fn max_pages(&self) -> u64 {
        let absolute_max = if self.ty.memory64 {
            MAX_PAGES_64
        } else {
            MAX_PAGES_32
        };
        let max = self.ty.max_pages.unwrap_or(absolute_max).min(absolute_max);
        if self.settings.bounds_checks {
            // Code that checks every access reloads the base: the memory may move.
            return max;
        }
        max.min(self.reservation as u64 / WASM_PAGE_SIZE)
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` when the memory
    /// cannot grow that much (the maximum, the reservation, or the host refused).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old_pages = self.pages();
        let new_pages = old_pages.checked_add(delta)?;
        if new_pages > self.max_pages() {
            return None;
        }
        let new_len = usize::try_from(new_pages.checked_mul(WASM_PAGE_SIZE)?).ok()?;
        if new_len > self.reservation {
            self.relocate(new_len).ok()?;
        }
        self.make_accessible(new_len).ok()?;
        Some(old_pages)
    }

    /// Moves the memory to a new reservation of at least `min_len` bytes (twice the old
    /// one, so repeated growth copies each byte a bounded number of times). Only memories
    /// of code with explicit bounds checks move: that code reloads the base at every access.
    fn relocate(&mut self, min_len: usize) -> Result<(), Error> {
        debug_assert!(self.settings.bounds_checks);
        let page = page_size();
        let max_len =
            usize::try_from(self.max_pages().saturating_mul(WASM_PAGE_SIZE)).unwrap_or(usize::MAX);
        let reservation = min_len
            .max(self.reservation.saturating_mul(2))
            .min(max_len.max(min_len));
        let too_large = || Error::new("memory reservation too large for this host");
        let reservation = reservation
            .checked_next_multiple_of(page)
            .ok_or_else(too_large)?;
        let guard = usize::try_from(self.settings.guard_size)
            .ok()
            .and_then(|guard| guard.checked_next_multiple_of(page))
            .ok_or_else(too_large)?;
        let mut moved = LinearMemory::new(
            MemoryType {
                min_pages: 0,
                ..self.ty
            },
            MemorySettings {
                reservation: reservation as u64,
                ..self.settings
            },
        )?;
        debug_assert_eq!(moved.mapping_len(), reservation + guard);
        moved.make_accessible(self.len)?;
        // SAFETY: both ranges are `self.len` accessible bytes of distinct mappings we own.
        unsafe { std::ptr::copy_nonoverlapping(self.base(), moved.base(), self.len) };
        moved.ty = self.ty;
        // The old mapping is unmapped when `moved`, now holding it, is dropped.
        std::mem::swap(self, &mut moved);
        Ok(())
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.len as u64 / WASM_PAGE_SIZE
    }

    /// Start of the memory.
    pub fn base(&self) -> *mut u8 {
        self.mapping
            .as_ref()
            .map_or(std::ptr::null_mut(), Mmap::as_ptr)
    }

    /// Length of the whole mapping: reservation plus guard.
    fn mapping_len(&self) -> usize {
        self.mapping.as_ref().map_or(0, Mmap::len)
    }

    /// Accessible bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The memory's type with its current size as the minimum.
    pub fn ty(&self) -> MemoryType {
        MemoryType {
            min_pages: self.pages(),
            ..self.ty
        }
    }

    /// The layout it was created with.
    pub fn settings(&self) -> MemorySettings {
        self.settings
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        // Compiled code using the memory is gone with its store: keep the mapping for the
        // next memory of its length, or unmap it (dropping it) when it cannot be kept.
        if let Some(mapping) = self.mapping.take() {
            if mapping.len() != 0 && !self.fixed {
                let _ = keep_reservation(mapping, self.len);
            }
        }
    }
}

/// Whether code compiled for `module` settings may use a memory laid out per `memory`.
pub(crate) fn settings_compatible(module: MemorySettings, memory: MemorySettings) -> bool {
    module.bounds_checks
        || (!memory.bounds_checks
            && memory.reservation >= module.reservation
            && memory.guard_size >= module.guard_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(min_pages: u64, max_pages: Option<u64>) -> MemoryType {
        MemoryType {
            min_pages,
            max_pages,
            memory64: false,
            shared: false,
        }
    }

    #[test]
    fn memories_with_bounds_checks_move_to_grow_and_keep_their_bytes() {
        let settings = MemorySettings {
            reservation: 0,
            guard_size: 0,
            bounds_checks: true,
        };
        let mut memory = LinearMemory::new(ty(1, None), settings).unwrap();
        // SAFETY: the memory has one accessible page.
        unsafe { memory.base().add(65535).write(7) };
        for pages in 1..40 {
            assert_eq!(memory.grow(1), Some(pages));
        }
        assert_eq!(memory.len(), 40 * 65536);
        // SAFETY: the memory has 40 accessible pages.
        unsafe {
            assert_eq!(memory.base().add(65535).read(), 7);
            assert_eq!(memory.base().add(40 * 65536 - 1).read(), 0);
        }
        assert!(!settings_compatible(MemorySettings::DEFAULT, settings));
        assert!(settings_compatible(settings, MemorySettings::DEFAULT));
    }

    #[test]
    fn grows_within_its_limits() {
        let mut memory = LinearMemory::new(ty(1, Some(3)), MemorySettings::DEFAULT).unwrap();
        assert_eq!(memory.pages(), 1);
        assert_eq!(memory.grow(1), Some(1));
        assert_eq!(memory.grow(2), None);
        assert_eq!(memory.grow(1), Some(2));
        assert_eq!(memory.grow(0), Some(3));
        assert_eq!(memory.grow(u64::MAX), None);
        assert_eq!(memory.len(), 3 * 65536);
        // The new pages are writable and zeroed.
        // SAFETY: the last byte of the accessible range.
        unsafe {
            let last = memory.base().add(memory.len() - 1);
            assert_eq!(*last, 0);
            *last = 7;
        }
    }

    #[test]
    fn unbounded_memory_stops_a_page_below_4_gib() {
        // The default reservation keeps a 32-bit memory's length 64 KiB below 2^32, which
        // the compiler relies on (`kiln_compiler::abi::memory_headroom`).
        let mut memory = LinearMemory::new(ty(0, None), MemorySettings::DEFAULT).unwrap();
        assert_eq!(memory.max_pages(), 65535);
        assert_eq!(memory.grow(65536), None);
        assert_eq!(memory.grow(0), Some(0));
        let error = LinearMemory::new(ty(65536, None), MemorySettings::DEFAULT).unwrap_err();
        assert!(
            error.to_string().contains("exceeds the reservation"),
            "{error}"
        );
    }

    #[test]
    fn small_reservations_limit_growth_of_memories_that_never_move() {
        let settings = MemorySettings {
            reservation: 2 * 65536,
            guard_size: 0,
            bounds_checks: false,
        };
        let mut memory = LinearMemory::new(ty(1, None), settings).unwrap();
        assert_eq!(memory.grow(1), Some(1));
        assert_eq!(memory.grow(1), None);
        let base = memory.base();
        assert_eq!(memory.base(), base, "the base never moves");
    }

    #[test]
    fn a_reused_reservation_is_zeroed_and_inaccessible_again() {
        // A layout no other test uses, so no other memory takes this mapping meanwhile.
        let settings = MemorySettings {
            reservation: 8 * 65536,
            guard_size: 3 * 65536,
            bounds_checks: false,
        };
        let mut first = LinearMemory::new(ty(2, None), settings).unwrap();
        assert_eq!(first.grow(2), Some(2));
        // SAFETY: four accessible pages.
        unsafe { first.base().write_bytes(0xa5, first.len()) };
        let base = first.base();
        drop(first);

        let second = LinearMemory::new(ty(1, None), settings).unwrap();
        assert_eq!(second.base(), base, "the mapping was reused");
        assert_eq!(second.len(), 65536);
        // SAFETY: one accessible page.
        let page = unsafe { std::slice::from_raw_parts(second.base(), second.len()) };
        assert!(page.iter().all(|&byte| byte == 0), "old bytes are gone");
        // The pages the first memory had beyond the second's length are inaccessible:
        // (as /proc/self/maps shows them).
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let start = base as usize + 65536;
        let line = maps
            .lines()
            .find(|line| {
                let range = line.split(' ').next().unwrap();
                let (from, to) = range.split_once('-').unwrap();
                let from = usize::from_str_radix(from, 16).unwrap();
                let to = usize::from_str_radix(to, 16).unwrap();
                from <= start && start < to
            })
            .expect("the reservation is mapped");
        assert!(line.contains(" ---p "), "beyond the length: {line}");
    }

    #[test]
    fn layouts_that_do_not_fit_are_refused_not_wrapped() {
        // Within 4095 of 2^64, rounding the guard up to a page wrapped it to nothing.
        for guard_size in [u64::MAX - 4095, u64::MAX, 1 << 63] {
            let settings = MemorySettings {
                guard_size,
                ..MemorySettings::DEFAULT
            };
            let error = LinearMemory::new(ty(1, None), settings).unwrap_err();
            assert!(error.to_string().contains("exceeds"), "{error}");
        }
        let huge = MemoryType {
            min_pages: 1 << 48,
            max_pages: None,
            memory64: true,
            shared: false,
        };
        assert!(LinearMemory::new(huge, MemorySettings::DEFAULT).is_err());
    }

    #[test]
    fn memory64_reserves_up_to_its_maximum() {
        let ty64 = |min_pages, max_pages| MemoryType {
            min_pages,
            max_pages,
            memory64: true,
            shared: false,
        };
        let past_4_gib = LinearMemory::new(ty64(1, Some(0x10010)), MemorySettings::DEFAULT);
        assert_eq!(past_4_gib.unwrap().max_pages(), 0x10010);
        // Without a maximum, or past the cap: what the layout or the cap allows.
        let unbounded = LinearMemory::new(ty64(1, None), MemorySettings::DEFAULT).unwrap();
        assert_eq!(unbounded.max_pages(), 65535);
        let huge = LinearMemory::new(ty64(0, Some(1 << 48)), MemorySettings::DEFAULT).unwrap();
        assert_eq!(huge.max_pages(), MAX_MEMORY64_RESERVATION / WASM_PAGE_SIZE);
        let error = LinearMemory::new(ty64(0, Some((1 << 48) + 1)), MemorySettings::DEFAULT);
        assert!(error.unwrap_err().to_string().contains("2^48 pages"));
    }

    #[test]
    fn invalid_types_are_refused() {
        let check = |ty: MemoryType, expected: &str| {
            let error = LinearMemory::new(ty, MemorySettings::DEFAULT).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
        };
        check(ty(65537, None), "at most 65536 pages");
        check(ty(2, Some(1)), "maximum is below its minimum");
    }

    #[test]
    fn settings_compatibility() {
        let checked = MemorySettings {
            reservation: 1 << 20,
            guard_size: 0,
            bounds_checks: true,
        };
        assert!(settings_compatible(
            MemorySettings::DEFAULT,
            MemorySettings::DEFAULT
        ));
        assert!(settings_compatible(checked, MemorySettings::DEFAULT));
        assert!(!settings_compatible(MemorySettings::DEFAULT, checked));
    }
}
