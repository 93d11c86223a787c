//! Limits for code the host does not trust, as `kiln run` takes them on its command line,
//! `kiln build` bakes them into executables (`wasi/grants.rs`) and embedders set them on a
//! store: caps on memories and tables, the wasm stack, fuel and a time limit.

use crate::vm::store::ResourceLimits;
use crate::Store;

/// The limits a command runs under. `None` keeps the store's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunLimits {
    /// Caps on each memory's bytes and each table's elements.
    pub resources: ResourceLimits,
    /// How much stack wasm may use (`Store::set_max_wasm_stack`).
    pub max_wasm_stack: Option<usize>,
    /// The fuel the guest starts with (`Store::set_fuel`); the module must be compiled
    /// with fuel metering.
    pub fuel: Option<u64>,
    /// How long the guest may run, its start function and WASI calls that block included
    /// (`Store::set_time_limit`, counted from `apply`); the module must be compiled with
    /// interruption checks.
    pub timeout: Option<std::time::Duration>,
}

impl RunLimits {
    /// Puts the limits on `store`; the time limit starts now. Fails only when the time
    /// limit's timer thread cannot be started.
    pub fn apply(&self, store: &mut Store) -> std::io::Result<()> {
        store.set_resource_limits(self.resources);
        if let Some(bytes) = self.max_wasm_stack {
            store.set_max_wasm_stack(bytes);
        }
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel);
        }
        if let Some(timeout) = self.timeout {
            store.set_time_limit(timeout)?;
        }
        Ok(())
    }
}
