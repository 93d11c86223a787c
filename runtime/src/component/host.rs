//! [`ComponentHost`]: what a component's host imports are bound to. The component layer
//! lifts a lowered import's core arguments into [`ComponentVal`]s, calls the host, and
//! lowers what it returns; the host sees values and resource representations only, never
//! the guest's memory or handle tables. WASI 0.2 (`crate::wasi::p2`) is one host; tests
//! bring their own.
//!
//! Host resources (`output-stream`, `descriptor`, ...) are represented by `u32` keys the
//! host chooses: a host function returns `ComponentVal::Own(rep)` for a new one (the
//! component layer puts it into a new handle of the result type's table), receives
//! `ComponentVal::Borrow(rep)` for a `borrow<T>` parameter, and `ComponentVal::Own(rep)`
//! when the guest gives ownership away (the host then frees it itself). When the guest
//! drops the last own handle of a host resource, [`ComponentHost::drop_resource`] is
//! called with its representation.

use super::value::ComponentVal;
use kiln_abi::component::ImportName;
use std::fmt;

/// Why a host function did not return results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCallError {
    /// The guest exits with this code (`wasi:cli/exit#exit`: 0 for `ok`, 1 for `err`).
    Exit(i32),
    /// The guest broke a rule of the interface that the host checks (a child resource
    /// used after its parent was dropped, a pollable list that is empty...): the guest
    /// traps with this message.
    Trap(String),
    /// The store's time limit ran out while the call blocked: the guest stops with the
    /// `TimeLimit` trap.
    TimeLimit,
    /// The host itself failed in a way the interface has no error for: the run stops with
    /// this message.
    Failed(String),
}

impl fmt::Display for HostCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostCallError::Exit(code) => write!(f, "exit with code {code}"),
            HostCallError::Trap(message) => f.write_str(message),
            HostCallError::TimeLimit => f.write_str("time limit reached"),
            HostCallError::Failed(message) => write!(f, "host function failed: {message}"),
        }
    }
}

impl std::error::Error for HostCallError {}

/// The implementations a component's host imports are bound to.
///
/// Resolution happens once, at instantiation, for every host import and every imported
/// resource type of the plan; a `None` fails the instantiation with an error naming the
/// import. Calls then use the index resolution gave.
pub trait ComponentHost {
    /// The host function that implements `name` (`wasi:cli/stdout@0.2.3#get-stdout`), as an
    /// index the host chooses. Versions match as Wasmtime matches them: an implementation
    /// of `wasi:cli/stdout@0.2.6` serves any `0.2.x` import.
    fn resolve_function(&self, name: &ImportName) -> Option<u32>;

    /// The host resource type `name` names (its `function` is the resource's name:
    /// interface `wasi:io/streams`, version `0.2.3`, function `output-stream`), as an index
    /// the host chooses.
    fn resolve_resource(&self, name: &ImportName) -> Option<u32>;

    /// Calls host function `function` (an index from [`resolve_function`]) with the lifted
    /// parameters, in the order of its type; returns its results (WASI 0.2 functions have
    /// at most one).
    ///
    /// [`resolve_function`]: ComponentHost::resolve_function
    fn call(
        &mut self,
        function: u32,
        params: Vec<ComponentVal>,
    ) -> Result<Vec<ComponentVal>, HostCallError>;

    /// The guest dropped the last own handle of host resource `rep` of type `resource`
    /// (an index from [`resolve_resource`]): free it.
    ///
    /// [`resolve_resource`]: ComponentHost::resolve_resource
    fn drop_resource(&mut self, resource: u32, rep: u32) -> Result<(), HostCallError>;
}

/// Splits a resource's plan name (`wasi:io/streams@0.2.3#output-stream`) into interface,
/// version and resource name; `None` for a name without `#` (a resource the component
/// defines).
pub fn resource_import_name(plan_name: &str) -> Option<ImportName> {
    let (instance, resource) = plan_name.rsplit_once('#')?;
    Some(ImportName::new(instance, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_split_into_interface_version_and_name() {
        let name = resource_import_name("wasi:io/streams@0.2.3#output-stream").unwrap();
        assert_eq!(name.interface, "wasi:io/streams");
        assert_eq!(name.version.as_deref(), Some("0.2.3"));
        assert_eq!(name.function, "output-stream");
        assert_eq!(resource_import_name("resource0"), None);
    }
}
