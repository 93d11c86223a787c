//! Limits for code the host does not trust, as `kiln run` takes them on its command line,
//! `kiln build` bakes them into executables (`wasi/grants.rs`) and embedders set them on a
//! store: caps on memories and tables, and the wasm stack.

use crate::vm::store::ResourceLimits;
use crate::Store;

/// The limits a command runs under. `None` keeps the store's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunLimits {
    /// Caps on each memory's bytes and each table's elements.
    pub resources: ResourceLimits,
    /// How much stack wasm may use (`Store::set_max_wasm_stack`).
    pub max_wasm_stack: Option<usize>,
}

impl RunLimits {
    /// Puts the limits on `store`.
    pub fn apply(&self, store: &mut Store) {
        store.set_resource_limits(self.resources);
        if let Some(bytes) = self.max_wasm_stack {
            store.set_max_wasm_stack(bytes);
        }
    }
}
