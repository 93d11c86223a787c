//! Components at run time (issue 19, milestone 2): the layer above `api/` that will run a
//! [`ComponentPlan`](kiln_abi::component::ComponentPlan). For now its self-contained core,
//! usable and tested without instances:
//! - `value.rs`: [`ComponentVal`], the dynamic value of any component type;
//! - `abi.rs`: the canonical ABI: values in memory and in flat core values, parameters and
//!   results of both call directions, through the [`GuestMemory`] and [`Handles`] traits;
//! - `memory.rs`: [`InstanceMemory`], the `GuestMemory` of an instance's memory and its
//!   `cabi_realloc`;
//! - `resources.rs`: [`ResourceTables`], own and borrow handles with their rules;
//! - `trap.rs`: [`ComponentTrap`] (a rule the guest broke, with its message) and
//!   [`AbiError`];
//! - `host.rs`: [`ComponentHost`], what host imports are bound to (WASI 0.2 is one);
//! - `instance.rs`: [`ComponentInstance`], a plan instantiated: its steps, trampolines and
//!   export calls;
//! - `image.rs`: [`LinkedComponent`], a component linked into this binary, read back from
//!   its image (`<prefix>kiln_component`).

pub mod abi;
mod host;
mod image;
mod instance;
mod memory;
mod resources;
mod trap;
mod value;

pub use abi::{Context, FlatReader, GuestMemory, Handles};
pub use host::{resource_import_name, ComponentHost, HostCallError};
pub use image::LinkedComponent;
pub use instance::{ComponentInstance, ComponentLimits, DEFAULT_HOSTCALL_FUEL};
pub use memory::InstanceMemory;
pub use resources::{DroppedOwn, ResourceTables, MAX_HANDLES};
pub use trap::{AbiError, ComponentTrap};
pub use value::ComponentVal;
