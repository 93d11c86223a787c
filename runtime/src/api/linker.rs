//! The linker: a namespace of items by (module, name) that resolves a module's imports in
//! order and instantiates it.

use super::instance::{Extern, Instance};
use super::store::Store;
use crate::error::InstantiateError;
use crate::vm::module::Module;

/// Items by (module, name), for resolving imports.
#[derive(Default, Debug, Clone)]
pub struct Linker {
    items: Items,
}

#[cfg(not(feature = "exe-main"))]
type Items = crate::vm::HashMap<(String, String), Extern>;

/// An executable's linker holds its WASI functions, some tens: a vector searched in order
/// is fast enough, and smaller than a hash map.
#[cfg(feature = "exe-main")]
type Items = ItemList;

#[cfg(feature = "exe-main")]
#[derive(Default, Debug, Clone)]
struct ItemList(Vec<((String, String), Extern)>);

#[cfg(feature = "exe-main")]
impl ItemList {
    fn insert(&mut self, key: (String, String), item: Extern) {
        match self.0.iter_mut().find(|(defined, _)| *defined == key) {
            Some((_, slot)) => *slot = item,
            None => self.0.push((key, item)),
        }
    }

    fn get(&self, (module, name): &(String, String)) -> Option<&Extern> {
        self.0
            .iter()
            .find(|((m, n), _)| m == module && n == name)
            .map(|(_, item)| item)
    }
}

impl Linker {
    /// An empty linker.
    pub fn new() -> Linker {
        Linker::default()
    }

    /// Defines (or redefines) `module::name`.
    pub fn define(&mut self, module: &str, name: &str, item: Extern) {
        self.items
            .insert((module.to_owned(), name.to_owned()), item);
    }

    /// Defines every export of `instance` under `module_name`.
    pub fn define_instance(&mut self, store: &Store, module_name: &str, instance: Instance) {
        for (name, item) in instance.exports(store) {
            self.define(module_name, &name, item);
        }
    }

    /// The item defined as `module::name`.
    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.items
            .get(&(module.to_owned(), name.to_owned()))
            .copied()
    }

    /// Resolves `module`'s imports and instantiates it.
    pub fn instantiate(
        &self,
        store: &mut Store,
        module: &Module,
    ) -> Result<Instance, InstantiateError> {
        let imports = module
            .metadata()
            .imports
            .iter()
            .map(|import| {
                self.get(import.module, import.name).ok_or_else(|| {
                    InstantiateError::Unlinkable(format!(
                        "unknown import: `{}::{}` has not been defined",
                        import.module, import.name
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Instance::new(store, module, &imports)
    }
}
