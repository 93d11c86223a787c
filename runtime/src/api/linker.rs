//! The linker: a namespace of items by (module, name) that resolves a module's imports in
//! order and instantiates it.

use super::instance::{Extern, Instance};
use super::store::Store;
use crate::error::InstantiateError;
use crate::vm::module::Module;
use crate::vm::HashMap;

/// Items by (module, name), for resolving imports.
#[derive(Default, Debug, Clone)]
pub struct Linker {
    items: HashMap<(String, String), Extern>,
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
