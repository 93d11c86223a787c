//! Tables: growable arrays of pointer-sized elements. A funcref table holds
//! `*const VMFuncRef`s, an externref table opaque host values; 0 is null in both.
//!
//! The storage is a `Vec<usize>` whose buffer the table's `VMTableDefinition` points to.
//! Growing may move the buffer; the definition is updated on every change, and compiled
//! code reloads `base` on every access, so nothing caches a stale pointer.

use kiln_abi::metadata::TableType;

/// The most elements a table may have here, whatever its type allows: 2^26 elements
/// (512 MiB of pointers). Growing past it fails like growing past the maximum.
const MAX_ELEMENTS: u64 = 1 << 26;

/// A table's elements and type.
#[derive(Debug)]
pub(crate) struct TableStorage {
    elements: Vec<usize>,
    ty: TableType,
}

impl TableStorage {
    /// A table of `ty.min` elements, all `init`. `None` when the minimum is too large.
    pub fn new(ty: TableType, init: usize) -> Option<TableStorage> {
        if ty.min > MAX_ELEMENTS {
            return None;
        }
        let mut elements = Vec::new();
        elements.try_reserve_exact(ty.min as usize).ok()?;
        elements.resize(ty.min as usize, init);
        Some(TableStorage { elements, ty })
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or `None` past the
    /// maximum.
    pub fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.elements.len() as u64;
        let new = old.checked_add(delta)?;
        let absolute_max = if self.ty.table64 {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        if new > self.ty.max.unwrap_or(absolute_max) || new > MAX_ELEMENTS {
            return None;
        }
        self.elements.try_reserve(delta as usize).ok()?;
        self.elements.resize(new as usize, init);
        Some(old)
    }

    /// The elements.
    pub fn elements(&self) -> &[usize] {
        &self.elements
    }

    /// The elements, mutably.
    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }

    /// Start of the elements, for the `VMTableDefinition`.
    pub fn base(&mut self) -> *mut usize {
        self.elements.as_mut_ptr()
    }

    /// The type with the current size as minimum.
    pub fn ty(&self) -> TableType {
        TableType {
            min: self.elements.len() as u64,
            ..self.ty
        }
    }

    /// Sets `len` elements from `dst` to `value`; false (and no change) when out of bounds.
    pub fn fill(&mut self, dst: u64, value: usize, len: u64) -> bool {
        match range(dst, len, self.elements.len()) {
            Some(range) => {
                self.elements[range].fill(value);
                true
            }
            None => false,
        }
    }
}

/// `start..start + len` if it lies within `0..bound`.
pub(crate) fn range(start: u64, len: u64, bound: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    if end > bound as u64 {
        return None;
    }
    Some(start as usize..end as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_abi::metadata::ValType;

    #[test]
    fn grows_and_fills_within_bounds() {
        let ty = TableType {
            element: ValType::FUNCREF,
            min: 2,
            max: Some(4),
            table64: false,
        };
        let mut table = TableStorage::new(ty, 0).unwrap();
        assert_eq!(table.grow(1, 9), Some(2));
        assert_eq!(table.elements(), &[0, 0, 9]);
        assert_eq!(table.grow(2, 0), None);
        assert!(table.fill(1, 5, 2));
        assert!(!table.fill(2, 5, 2));
        assert!(table.fill(3, 5, 0));
        assert!(!table.fill(4, 5, 0));
        assert_eq!(table.elements(), &[0, 5, 5]);
        assert_eq!(table.ty().min, 3);
    }

    #[test]
    fn huge_tables_are_refused() {
        let ty = TableType {
            element: ValType::EXTERNREF,
            min: 0,
            max: None,
            table64: true,
        };
        let mut table = TableStorage::new(ty, 0).unwrap();
        assert_eq!(table.grow(u64::from(u32::MAX), 0), None);
        assert_eq!(table.grow(1 << 40, 0), None);
        assert_eq!(table.grow(u64::MAX, 0), None);
    }
}
