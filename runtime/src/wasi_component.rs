//! [`WasiComponent`]: a component instantiated with WASI 0.2 in a store of its own, what
//! embedding hosts hold (kiln-build's generated `Instance` of a component wraps one): its
//! `wasi:cli/run` and any export by name, with [`ComponentVal`]s.

use crate::api::Store;
use crate::component::{ComponentInstance, ComponentVal, LinkedComponent};
use crate::error::{CallError, InstantiateError};
use crate::limits::RunLimits;
use crate::wasi::p2::WasiP2;
use crate::wasi::WasiCtx;
use kiln_abi::component::ImportName;

/// A component instantiated with the WASI 0.2 host ([`WasiP2`]) over a [`WasiCtx`] (its
/// arguments, environment, preopened directories, network grants), in a store of its own.
///
/// A guest that breaks a rule (a trap, a component-model check) comes back as
/// [`CallError::Trap`] with its message and backtrace; `wasi:cli/exit` as
/// [`CallError::Exit`].
pub struct WasiComponent {
    store: Store,
    instance: ComponentInstance,
    /// The plan's exports' names, by export index.
    exports: Vec<ImportName>,
}

impl std::fmt::Debug for WasiComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiComponent").finish_non_exhaustive()
    }
}

impl WasiComponent {
    /// Instantiates `component` with WASI 0.2 granting what `wasi` grants.
    pub fn new(component: &LinkedComponent, wasi: WasiCtx) -> Result<Self, InstantiateError> {
        WasiComponent::with_limits(component, wasi, &RunLimits::default())
    }

    /// [`WasiComponent::new`] in a store under `limits` (memory and table caps, the wasm
    /// stack, fuel, a time limit that blocking WASI calls respect too; fuel and time limits
    /// need code compiled with the matching checks).
    pub fn with_limits(
        component: &LinkedComponent,
        wasi: WasiCtx,
        limits: &RunLimits,
    ) -> Result<Self, InstantiateError> {
        let mut store = Store::new();
        limits.apply(&mut store).map_err(|error| {
            InstantiateError::Host(format!("cannot start the time limit: {error}"))
        })?;
        let host = WasiP2::with_interrupt(wasi, store.interrupt_state());
        let instance = component.instantiate(&mut store, Box::new(host))?;
        let exports = component
            .plan()
            .exports
            .iter()
            .map(|export| export.name.clone())
            .collect();
        Ok(WasiComponent {
            store,
            instance,
            exports,
        })
    }

    /// Calls the component's `wasi:cli/run@0.2.x#run`: `Ok(Ok(()))` when it returns `ok`,
    /// `Ok(Err(()))` for `err` (what a Rust `main` returning an error, or `exit(1)`,
    /// gives).
    pub fn run(&mut self) -> Result<Result<(), ()>, CallError> {
        let Some(run) = self.instance.find_export("wasi:cli/run", "0.2.0", "run") else {
            return Err(CallError::BadArguments(
                "the component does not export `wasi:cli/run@0.2.x#run`".into(),
            ));
        };
        match self.instance.call(&mut self.store, run, &[])?.as_slice() {
            [ComponentVal::Result(Ok(_))] => Ok(Ok(())),
            [ComponentVal::Result(Err(_))] => Ok(Err(())),
            other => Err(CallError::Host(format!(
                "wasi:cli/run returned {other:?}, not a result"
            ))),
        }
    }

    /// Calls the export `name` with `args` and returns its results. `name` is the
    /// export's full name (`wasi:cli/run@0.2.0#run`, or `add` for a function exported
    /// alone), or, for a function of an interface, the name without its version
    /// (`wasi:cli/run#run`), which finds the export of any version.
    pub fn call(
        &mut self,
        name: &str,
        args: &[ComponentVal],
    ) -> Result<Vec<ComponentVal>, CallError> {
        let index = self.export_index(name).ok_or_else(|| {
            CallError::BadArguments(format!(
                "the component has no export `{name}` (it exports {})",
                self.export_names().join(", ")
            ))
        })?;
        self.instance.call(&mut self.store, index, args)
    }

    /// The full names of the component's exported functions, in the plan's order.
    pub fn export_names(&self) -> Vec<String> {
        self.exports.iter().map(ToString::to_string).collect()
    }

    fn export_index(&self, name: &str) -> Option<u32> {
        let exports = &self.exports;
        let position = exports
            .iter()
            .position(|export| export.to_string() == name)
            .or_else(|| {
                let (interface, function) = name.split_once('#')?;
                if interface.contains('@') {
                    return None;
                }
                exports
                    .iter()
                    .position(|export| export.interface == interface && export.function == function)
            })?;
        u32::try_from(position).ok()
    }

    /// The store the instance lives in (for its fuel, limits and interrupt handle).
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The component instance.
    pub fn instance(&self) -> &ComponentInstance {
        &self.instance
    }
}
