//! The safe, public API over the VM layer (`vm/`): a [`Store`] owns everything; handles
//! ([`Func`], [`Memory`], [`Table`], [`Global`], [`Tag`], [`Instance`]) index into it, each declared
//! and implemented in its own file; [`Val`] is a typed value; a [`Linker`] resolves
//! imports by name. This layer checks handles and types and converts values; the VM layer
//! does the work, and never calls back up here.

mod func;
mod global;
mod instance;
mod linker;
mod memory;
mod store;
mod table;
mod tag;
mod values;

pub use func::{Caller, Func};
pub use global::Global;
pub use instance::{Extern, Instance};
pub use linker::Linker;
pub use memory::Memory;
pub use store::Store;
pub use table::Table;
pub use tag::Tag;
pub use values::Val;
