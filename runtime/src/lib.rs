//! kiln's runtime: what kiln-compiled code runs on.
//!
//! A compiled module comes either linked into an executable (whose `main`, feature
//! `exe-main`, wraps its `kiln_module` descriptor) or as an object file mapped into the
//! process by the loader (feature `loader`). [`Module`] checks and registers it;
//! [`Instance`]s of it live in a [`Store`] with their memories, tables and globals; a
//! [`Linker`] resolves imports, including host functions ([`Func::new_host`]) and WASI
//! ([`wasi`]). Traps come back as [`Trap`] values through one mechanism: signal handlers
//! and a guarded call (`vm/traps/`).
//!
//! Layers, each depending only on those before it:
//! - `error.rs`: the error and trap values both layers return;
//! - `vm/`: the VM layer (store state, instantiation, builtins, memory, tables, mappings,
//!   the code registry, traps and signals, the loader), over raw values;
//! - `api/`: the safe public API (store, func, memory, table, global, instance, linker,
//!   values);
//! - `component/` (components: the canonical ABI, component values, resource tables);
//! - `wasi/` (preview 1 as host functions), `bench.rs` (the sightglass `bench` imports),
//!   `command.rs` (running a WASI command: `kiln run`, executables), `profile.rs`
//!   (writing the profile of code compiled to count), `wasi_component.rs`
//!   (a component linked into the host with WASI 0.2, for embedders), `exe_main.rs` (the C
//!   `main` of executables), `startup_heap.rs` (their global allocator, with `class_heap.rs` after its arena), `c_api.rs` (feature `c-api`: the C interface).

mod api;
pub mod bench;
#[cfg(feature = "c-api")]
pub mod c_api;
mod command;
pub mod component;
mod error;
mod limits;
pub mod profile;
mod vm;
pub mod wasi;
mod wasi_component;

#[cfg(any(test, feature = "exe-main"))]
mod class_heap;
#[cfg(feature = "exe-main")]
mod exe_component;
#[cfg(feature = "exe-main")]
mod exe_main;
#[cfg(all(
    target_arch = "x86_64",
    any(test, all(feature = "exe-main", target_env = "musl"))
))]
mod musl_memmove;
#[cfg(any(test, feature = "exe-main"))]
mod startup_heap;

pub use api::{Caller, Extern, Func, Global, Instance, Linker, Memory, Store, Table, Tag, Val};
pub use command::{exit_with_command, run_command, run_command_limited, run_component_limited};
pub use error::{CallError, Error, FrameInfo, HostError, InstantiateError, Trap};
pub use kiln_abi::metadata::{
    FuncType, GlobalType, HeapType, MemorySettings, MemoryType, RefType, TableType, ValType,
};
pub use kiln_abi::{descriptor::ModuleDescriptor, TrapCode, ABI_VERSION};
pub use limits::RunLimits;
pub use vm::interrupt::InterruptHandle;
pub use vm::linked;
#[cfg(feature = "loader")]
pub use vm::loader::load_object;
pub use vm::module::Module;
pub use vm::store::{ResourceLimits, DEFAULT_MAX_WASM_STACK};
pub use wasi_component::WasiComponent;
