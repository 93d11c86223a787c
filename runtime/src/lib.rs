//! kiln's runtime: what kiln-compiled code runs on.
//!
//! A compiled module comes either linked into an executable (whose `main`, feature
//! `exe-main`, wraps its `kiln_module` descriptor) or as an object file mapped into the
//! process by the loader (feature `loader`). [`Module`] checks and registers it;
//! [`Instance`]s of it live in a [`Store`] with their memories, tables and globals; a
//! [`Linker`] resolves imports, including host functions ([`Func::new_host`]) and WASI
//! ([`wasi`]). Traps come back as [`Trap`] values through one mechanism: signal handlers
//! and a guarded call (`traps.rs`).
//!
//! Files by mechanism: `memory.rs` (linear memory), `table.rs`, `traps.rs` (signals,
//! unwinding), `code.rs` (PC lookup), `module.rs`, `instance.rs` (instantiation),
//! `store.rs` (ownership and handles), `values.rs`, `externals.rs` (host access to
//! memories, tables, globals), `func.rs` (calls from the host), `host.rs` (host
//! functions), `builtins.rs` (libcalls), `linker.rs`, `wasi/`, `command.rs` (`kiln run`),
//! `loader.rs`, `exe_main.rs`, `c_api.rs` (feature `c-api`: the C interface).

pub mod bench;
mod builtins;
#[cfg(feature = "c-api")]
pub mod c_api;
mod code;
mod command;
mod cpu;
mod error;
mod externals;
mod func;
mod host;
mod instance;
mod linker;
#[cfg(feature = "loader")]
mod loader;
mod memory;
mod memory_image;
mod module;
mod store;
mod table;
mod traps;
mod values;
pub mod wasi;

#[cfg(feature = "exe-main")]
mod exe_main;
#[cfg(all(
    target_arch = "x86_64",
    any(test, all(feature = "exe-main", target_env = "musl"))
))]
mod musl_memmove;

pub use command::{exit_with_command, run_command};
pub use error::{CallError, Error, FrameInfo, HostError, InstantiateError, Trap};
pub use host::Caller;
pub use kiln_abi::metadata::{FuncType, GlobalType, MemoryType, TableType, ValType};
pub use kiln_abi::{descriptor::ModuleDescriptor, TrapCode, ABI_VERSION};
pub use linker::Linker;
#[cfg(feature = "loader")]
pub use loader::load_object;
pub use memory::DEFAULT_MEMORY_SETTINGS;
pub use module::Module;
pub use store::{Extern, Func, Global, Instance, Memory, Store, Table, DEFAULT_MAX_WASM_STACK};
pub use values::Val;
