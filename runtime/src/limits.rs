//! Limits for code the host does not trust, as `kiln run` takes them on its command line,
//! `kiln build` bakes them into executables (`wasi/grants.rs`) and embedders set them on a
//! store: caps on memories and tables, the wasm stack, fuel and a time limit; for WASI
//! 0.2 components also the resources a guest may hold and the hostcall fuel.

use crate::component::ComponentLimits;
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
    /// Components: the most resources the guest may hold at once, both the WASI 0.2
    /// host's (streams, pollables, descriptors, sockets: `WasiP2::set_max_resources`)
    /// and the handles in each component instance's table
    /// ([`ComponentLimits::max_handles`]); one more traps.
    pub max_resources: Option<u32>,
    /// Components: the most bytes lifting the guest's values for one host call may make
    /// the host copy or allocate ([`ComponentLimits::hostcall_fuel`], 128 MiB unless set).
    pub hostcall_fuel: Option<u64>,
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

    /// The limits of a component instance's calls these ask for, defaults elsewhere.
    pub fn component_limits(&self) -> ComponentLimits {
        let defaults = ComponentLimits::default();
        ComponentLimits {
            max_handles: self.max_resources.unwrap_or(defaults.max_handles),
            hostcall_fuel: self.hostcall_fuel.unwrap_or(defaults.hostcall_fuel),
        }
    }
}
