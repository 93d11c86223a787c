//! Instances: [`Instance`] (instantiation from the host, exports), [`Extern`], what an
//! instance imports or exports, and the exports a host function sees of its caller. Instantiation itself is the VM's (`vm/instantiate.rs`).

use super::func::{Caller, Func};
use super::global::Global;
use super::memory::Memory;
use super::store::{handle, Store};
use super::table::Table;
use super::tag::Tag;
use crate::error::InstantiateError;
use crate::vm::instance::InstanceData;
use crate::vm::module::Module;
use kiln_abi::metadata::ExternKind;

handle!(
    /// An instance in a [`Store`].
    Instance
);

/// Anything an instance imports or exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    Func(Func),
    Table(Table),
    Memory(Memory),
    Global(Global),
    Tag(Tag),
}

impl Extern {
    /// The handle for entity `index` of kind `kind` in store `store`.
    pub(crate) fn from_entity(store: u64, kind: ExternKind, index: u32) -> Extern {
        match kind {
            ExternKind::Func => Extern::Func(Func { store, index }),
            ExternKind::Table => Extern::Table(Table { store, index }),
            ExternKind::Memory => Extern::Memory(Memory { store, index }),
            ExternKind::Global => Extern::Global(Global { store, index }),
            ExternKind::Tag => Extern::Tag(Tag { store, index }),
        }
    }

    /// The entity's kind, its store's id and its index there.
    fn entity(&self) -> (ExternKind, u64, u32) {
        match *self {
            Extern::Func(Func { store, index }) => (ExternKind::Func, store, index),
            Extern::Table(Table { store, index }) => (ExternKind::Table, store, index),
            Extern::Memory(Memory { store, index }) => (ExternKind::Memory, store, index),
            Extern::Global(Global { store, index }) => (ExternKind::Global, store, index),
            Extern::Tag(Tag { store, index }) => (ExternKind::Tag, store, index),
        }
    }
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new(
        store: &mut Store,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, InstantiateError> {
        let metadata = module.metadata();
        let mut entities = Vec::with_capacity(imports.len());
        for (position, item) in imports.iter().enumerate() {
            let (kind, item_store, index) = item.entity();
            if item_store != store.inner.id {
                let name = metadata
                    .imports
                    .get(position)
                    .map_or_else(String::new, |import| {
                        format!("`{}::{}`", import.module, import.name)
                    });
                return Err(InstantiateError::Unlinkable(format!(
                    "incompatible import type for {name}: the item belongs to another store"
                )));
            }
            entities.push((kind, index));
        }
        let store_ptr = store.as_ptr();
        // SAFETY: `store_ptr` is a live store that nothing else borrows during this call
        // (`instances` is a separate field).
        let index = unsafe {
            crate::vm::instantiate::instantiate(store_ptr, &mut store.instances, module, &entities)
        }?;
        Ok(Instance {
            store: store.inner.id,
            index,
        })
    }

    /// The export `name`.
    pub fn get_export(&self, store: &Store, name: &str) -> Option<Extern> {
        let (kind, index) = self.data(store).export(name)?;
        Some(Extern::from_entity(store.inner.id, kind, index))
    }

    /// Every export, in the module's order.
    pub fn exports(&self, store: &Store) -> Vec<(String, Extern)> {
        let data = self.data(store);
        let exports = &data.module.metadata().exports;
        exports
            .iter()
            .filter_map(|export| {
                let (kind, index) = data.entity(export.kind, export.index)?;
                Some((
                    export.name.to_owned(),
                    Extern::from_entity(store.inner.id, kind, index),
                ))
            })
            .collect()
    }

    /// The module this is an instance of.
    pub fn module(&self, store: &Store) -> Module {
        self.data(store).module.clone()
    }

    fn data<'a>(&self, store: &'a Store) -> &'a InstanceData {
        store.check(self.store);
        // SAFETY: instances live as long as their store.
        unsafe { &*store.instances[self.index as usize].as_ptr() }
    }
}

impl Caller<'_> {
    /// The calling instance's export `name`.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        if self.instance.is_null() {
            return None;
        }
        // SAFETY: the calling instance and its store are live while it calls us.
        let (instance, store) = unsafe { (&*self.instance, &*self.store) };
        let (kind, index) = instance.export(name)?;
        Some(Extern::from_entity(store.id, kind, index))
    }
}
