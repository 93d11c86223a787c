//! Tables from the host's side: [`Table`], created by the host (to import it) or by an
//! instance; its elements, size, type and growth. The same growth serves the
//! `table.grow` builtin (`VMStore::grow_table`).

use super::store::{handle, Store};
use super::values::{check_value, reference_bits, reference_from_bits, Val};
use crate::vm::store::{OwnedPtr, Storage, TableData};
use crate::vm::table::TableStorage;
use crate::Error;
use kiln_abi::metadata::{TableType, ValType};
use kiln_abi::vmctx::VMTableDefinition;

handle!(
    /// A table in a [`Store`].
    Table
);

impl Table {
    /// A table of type `ty` with every element set to `init`, owned by the store.
    pub fn new(store: &mut Store, ty: TableType, init: Val) -> Result<Table, Error> {
        let inner = &mut *store.inner;
        check_reference_type(ty.element)?;
        check_value(inner, &init, ty.element).map_err(Error::new)?;
        let bits = reference_bits(inner, init);
        let storage = TableStorage::new(ty, bits)
            .ok_or_else(|| Error::new(format!("table of {} elements is too large", ty.min)))?;
        let definition = Storage::Owned(OwnedPtr::new(VMTableDefinition {
            base: std::ptr::null_mut(),
            current_elements: 0,
        }));
        let index = inner.push_table(TableData::new(storage, definition));
        Ok(Table {
            store: inner.id,
            index,
        })
    }

    fn storage<'a>(&self, store: &'a Store) -> &'a TableStorage {
        store.check(self.store);
        &store.inner.tables[self.index as usize].storage
    }

    /// Element `index`, or `None` out of bounds.
    pub fn get(&self, store: &Store, index: u64) -> Option<Val> {
        let storage = self.storage(store);
        let bits = *storage.elements().get(usize::try_from(index).ok()?)?;
        Some(reference_from_bits(
            &store.inner,
            bits,
            storage.ty().element,
        ))
    }

    /// Sets element `index`.
    pub fn set(&self, store: &mut Store, index: u64, value: Val) -> Result<(), Error> {
        let element = self.storage(store).ty().element;
        let inner = &mut *store.inner;
        check_value(inner, &value, element).map_err(Error::new)?;
        let bits = reference_bits(inner, value);
        let elements = inner.tables[self.index as usize].storage.elements_mut();
        let slot = usize::try_from(index)
            .ok()
            .and_then(|index| elements.get_mut(index))
            .ok_or_else(|| Error::new("table index out of bounds"))?;
        *slot = bits;
        Ok(())
    }

    /// Number of elements.
    pub fn size(&self, store: &Store) -> u64 {
        self.storage(store).elements().len() as u64
    }

    /// Grows by `delta` elements set to `init`; returns the old size.
    pub fn grow(&self, store: &mut Store, delta: u64, init: Val) -> Result<u64, Error> {
        let element = self.storage(store).ty().element;
        let inner = &mut *store.inner;
        check_value(inner, &init, element).map_err(Error::new)?;
        let bits = reference_bits(inner, init);
        inner
            .grow_table(self.index, delta, bits)
            .ok_or_else(|| Error::new(format!("table cannot grow by {delta} elements")))
    }

    /// The table's type, with its current size as minimum.
    pub fn ty(&self, store: &Store) -> TableType {
        self.storage(store).ty()
    }
}

fn check_reference_type(ty: ValType) -> Result<(), Error> {
    match ty {
        ValType::Ref(_) => Ok(()),
        other => Err(Error::new(format!("{other} is not a reference type"))),
    }
}
