//! The host's view of memories, tables and globals: creating them outside any instance
//! (to import them), reading, writing and growing them. The same operations serve the
//! builtins compiled code calls, so there is one implementation of each.

use crate::memory::{LinearMemory, DEFAULT_MEMORY_SETTINGS};
use crate::store::{
    Global, GlobalData, Memory, MemoryData, OwnedPtr, Store, StoreInner, Table, TableData,
};
use crate::table::TableStorage;
use crate::values::Val;
use crate::Error;
use kiln_abi::metadata::{GlobalType, MemoryType, TableType, ValType};
use kiln_abi::vmctx::{VMGlobal, VMMemoryDefinition, VMTableDefinition, ValRaw};

/// The value of global `index` of the store.
pub(crate) fn read_global(store: &StoreInner, index: u32) -> Val {
    let data = &store.globals[index as usize];
    // SAFETY: the definition is live storage owned by the store.
    let raw = unsafe { ValRaw((*data.definition).0) };
    store.val_from_raw(raw, data.ty.ty)
}

impl Global {
    /// A global of type `ty` holding `value`, owned by the store.
    pub fn new(store: &mut Store, ty: GlobalType, value: Val) -> Result<Global, Error> {
        let inner = &mut *store.inner;
        inner.check_value(&value, ty.ty).map_err(Error::new)?;
        let owned = OwnedPtr::new(VMGlobal(inner.raw_from_val(value).0));
        let global = Global {
            store: inner.id,
            index: inner.globals.len() as u32,
        };
        inner.globals.push(GlobalData {
            ty,
            definition: owned.as_ptr(),
            _owned: Some(owned),
        });
        Ok(global)
    }

    /// The current value.
    pub fn get(&self, store: &Store) -> Val {
        store.inner.check(self.store);
        read_global(&store.inner, self.index)
    }

    /// Sets the value; fails for an immutable global or a value of another type.
    pub fn set(&self, store: &mut Store, value: Val) -> Result<(), Error> {
        let inner = &mut *store.inner;
        inner.check(self.store);
        let data = &inner.globals[self.index as usize];
        if !data.ty.mutable {
            return Err(Error::new("cannot set an immutable global"));
        }
        let (ty, definition) = (data.ty.ty, data.definition);
        inner.check_value(&value, ty).map_err(Error::new)?;
        let raw = inner.raw_from_val(value);
        // SAFETY: the definition is live storage owned by the store.
        unsafe { (*definition).0 = raw.0 };
        Ok(())
    }

    /// The global's type.
    pub fn ty(&self, store: &Store) -> GlobalType {
        store.inner.check(self.store);
        store.inner.globals[self.index as usize].ty
    }
}

impl Memory {
    /// A memory of type `ty` with the default layout (4 GiB reservation, 2 GiB guard),
    /// owned by the store.
    pub fn new(store: &mut Store, ty: MemoryType) -> Result<Memory, Error> {
        let inner = &mut *store.inner;
        let memory = LinearMemory::new(ty, DEFAULT_MEMORY_SETTINGS)?;
        let owned = OwnedPtr::new(VMMemoryDefinition {
            base: std::ptr::null_mut(),
            current_length: 0,
        });
        let mut data = MemoryData {
            memory,
            definition: owned.as_ptr(),
            _owned_definition: Some(owned),
        };
        data.sync();
        let handle = Memory {
            store: inner.id,
            index: inner.memories.len() as u32,
        };
        inner.memories.push(data);
        Ok(handle)
    }

    fn data_ref<'a>(&self, store: &'a Store) -> &'a MemoryData {
        store.inner.check(self.store);
        &store.inner.memories[self.index as usize]
    }

    /// The memory's bytes.
    pub fn data<'a>(&self, store: &'a Store) -> &'a [u8] {
        let memory = &self.data_ref(store).memory;
        // SAFETY: `len` bytes from `base` are mapped read-write while the store lives, and
        // the shared borrow of the store prevents growth and writes through the store.
        unsafe { std::slice::from_raw_parts(memory.base(), memory.len()) }
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a>(&self, store: &'a mut Store) -> &'a mut [u8] {
        let memory = &self.data_ref(store).memory;
        // SAFETY: as in `data`; the exclusive borrow of the store makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(memory.base(), memory.len()) }
    }

    /// Current size in pages.
    pub fn size_pages(&self, store: &Store) -> u64 {
        self.data_ref(store).memory.pages()
    }

    /// Grows by `delta` pages; returns the old size in pages.
    pub fn grow(&self, store: &mut Store, delta: u64) -> Result<u64, Error> {
        store.inner.check(self.store);
        grow_memory(&mut store.inner, self.index, delta)
            .ok_or_else(|| Error::new(format!("memory cannot grow by {delta} pages")))
    }

    /// The memory's type, with its current size as minimum.
    pub fn ty(&self, store: &Store) -> MemoryType {
        self.data_ref(store).memory.ty()
    }
}

/// Grows store memory `index`, publishing the new length to compiled code.
pub(crate) fn grow_memory(store: &mut StoreInner, index: u32, delta: u64) -> Option<u64> {
    let data = store.memories.get_mut(index as usize)?;
    let old = data.memory.grow(delta)?;
    data.sync();
    Some(old)
}

/// Grows store table `index`, publishing the new base and length to compiled code.
pub(crate) fn grow_table(
    store: &mut StoreInner,
    index: u32,
    delta: u64,
    init: usize,
) -> Option<u64> {
    let data = store.tables.get_mut(index as usize)?;
    let old = data.storage.grow(delta, init)?;
    data.sync();
    Some(old)
}

impl Table {
    /// A table of type `ty` with every element set to `init`, owned by the store.
    pub fn new(store: &mut Store, ty: TableType, init: Val) -> Result<Table, Error> {
        let inner = &mut *store.inner;
        check_reference_type(ty.element)?;
        inner.check_value(&init, ty.element).map_err(Error::new)?;
        let bits = inner.reference_bits(init);
        let storage = TableStorage::new(ty, bits)
            .ok_or_else(|| Error::new(format!("table of {} elements is too large", ty.min)))?;
        let owned = OwnedPtr::new(VMTableDefinition {
            base: std::ptr::null_mut(),
            current_elements: 0,
        });
        let mut data = TableData {
            storage,
            definition: owned.as_ptr(),
            _owned_definition: Some(owned),
        };
        data.sync();
        let handle = Table {
            store: inner.id,
            index: inner.tables.len() as u32,
        };
        inner.tables.push(data);
        Ok(handle)
    }

    fn data_ref<'a>(&self, store: &'a Store) -> &'a TableData {
        store.inner.check(self.store);
        &store.inner.tables[self.index as usize]
    }

    /// Element `index`, or `None` out of bounds.
    pub fn get(&self, store: &Store, index: u64) -> Option<Val> {
        let data = self.data_ref(store);
        let bits = *data.storage.elements().get(usize::try_from(index).ok()?)?;
        Some(
            store
                .inner
                .reference_from_bits(bits, data.storage.ty().element),
        )
    }

    /// Sets element `index`.
    pub fn set(&self, store: &mut Store, index: u64, value: Val) -> Result<(), Error> {
        let element = self.data_ref(store).storage.ty().element;
        let inner = &mut *store.inner;
        inner.check_value(&value, element).map_err(Error::new)?;
        let bits = inner.reference_bits(value);
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
        self.data_ref(store).storage.elements().len() as u64
    }

    /// Grows by `delta` elements set to `init`; returns the old size.
    pub fn grow(&self, store: &mut Store, delta: u64, init: Val) -> Result<u64, Error> {
        let element = self.data_ref(store).storage.ty().element;
        let inner = &mut *store.inner;
        inner.check_value(&init, element).map_err(Error::new)?;
        let bits = inner.reference_bits(init);
        grow_table(inner, self.index, delta, bits)
            .ok_or_else(|| Error::new(format!("table cannot grow by {delta} elements")))
    }

    /// The table's type, with its current size as minimum.
    pub fn ty(&self, store: &Store) -> TableType {
        self.data_ref(store).storage.ty()
    }
}

fn check_reference_type(ty: ValType) -> Result<(), Error> {
    match ty {
        ValType::FuncRef | ValType::ExternRef => Ok(()),
        other => Err(Error::new(format!(
            "{} is not a reference type",
            other.name()
        ))),
    }
}
