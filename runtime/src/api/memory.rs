//! Linear memories from the host's side: [`Memory`], created by the host (to import it)
//! or by an instance; its bytes, size, type and growth. The same growth serves the
//! `memory.grow` builtin (`VMStore::grow_memory`).

use super::func::Caller;
use super::store::{handle, Store};
use crate::vm::memory::LinearMemory;
use crate::vm::store::{MemoryData, OwnedPtr, Storage};
use crate::Error;
use kiln_abi::metadata::{MemorySettings, MemoryType};
use kiln_abi::vmctx::VMMemoryDefinition;

handle!(
    /// A linear memory in a [`Store`].
    Memory
);

impl Memory {
    /// A memory of type `ty` with the default layout (4 GiB - 64 KiB reservation, 2 GiB guard),
    /// owned by the store.
    pub fn new(store: &mut Store, ty: MemoryType) -> Result<Memory, Error> {
        let memory = LinearMemory::new(ty, MemorySettings::DEFAULT)?;
        let definition = Storage::Owned(OwnedPtr::new(VMMemoryDefinition {
            base: std::ptr::null_mut(),
            current_length: 0,
        }));
        let index = store.inner.push_memory(MemoryData::new(memory, definition));
        Ok(Memory {
            store: store.inner.id,
            index,
        })
    }

    fn memory<'a>(&self, store: &'a Store) -> &'a LinearMemory {
        store.check(self.store);
        &store.inner.memories[self.index as usize].memory
    }

    /// The memory's bytes.
    pub fn data<'a>(&self, store: &'a Store) -> &'a [u8] {
        let memory = self.memory(store);
        // SAFETY: `len` bytes from `base` are mapped read-write while the store lives, and
        // the shared borrow of the store prevents growth and writes through the store.
        unsafe { std::slice::from_raw_parts(memory.base(), memory.len()) }
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a>(&self, store: &'a mut Store) -> &'a mut [u8] {
        let memory = self.memory(store);
        // SAFETY: as in `data`; the exclusive borrow of the store makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(memory.base(), memory.len()) }
    }

    /// The memory's bytes, from inside a host function of its store (`None` for a memory
    /// of another store).
    pub fn data_of<'a>(&self, caller: &'a Caller<'_>) -> Option<&'a [u8]> {
        let (base, len) = self.mapping_of(caller)?;
        // SAFETY: `len` bytes from `base` are mapped while the store lives; the guest is
        // suspended in this host call, and the shared borrow of the caller keeps the
        // mutable views out while the slice lives.
        Some(unsafe { std::slice::from_raw_parts(base, len) })
    }

    /// The memory's bytes, mutably, from inside a host function of its store.
    pub fn data_mut_of<'a>(&self, caller: &'a mut Caller<'_>) -> Option<&'a mut [u8]> {
        let (base, len) = self.mapping_of(caller)?;
        // SAFETY: as in `data_of`; the exclusive borrow of the caller makes this the only
        // view.
        Some(unsafe { std::slice::from_raw_parts_mut(base, len) })
    }

    fn mapping_of(&self, caller: &Caller<'_>) -> Option<(*mut u8, usize)> {
        // SAFETY: a non-null store is the caller's, live while it calls us.
        if caller.store.is_null() || unsafe { (*caller.store).id } != self.store {
            return None;
        }
        // SAFETY: as above; the memory is the store's by the id check.
        let store = unsafe { &*caller.store };
        let memory = &store.memories[self.index as usize].memory;
        Some((memory.base(), memory.len()))
    }

    /// Current size in pages.
    pub fn size_pages(&self, store: &Store) -> u64 {
        self.memory(store).pages()
    }

    /// Grows by `delta` pages; returns the old size in pages.
    pub fn grow(&self, store: &mut Store, delta: u64) -> Result<u64, Error> {
        store.check(self.store);
        store
            .inner
            .grow_memory(self.index, delta)
            .ok_or_else(|| Error::new(format!("memory cannot grow by {delta} pages")))
    }

    /// The memory's type, with its current size as minimum.
    pub fn ty(&self, store: &Store) -> MemoryType {
        self.memory(store).ty()
    }
}
