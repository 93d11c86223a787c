//! [`ComponentInstance`]: a [`ComponentPlan`] replayed in a [`Store`]. The plan's steps
//! instantiate its core modules in order, each import given by a [`CoreDef`]: an export of
//! an earlier instance, a trampoline (a host function made here), or a component
//! instance's flags global. Trampolines lift their core arguments through the canonical
//! ABI, call the [`ComponentHost`] or the resource tables, and lower the results back into
//! the calling instance's memory (allocating with its `cabi_realloc`). The host calls the
//! component's exports with [`ComponentInstance::call`].

use super::abi::{lift_params, lift_results, lower_params, lower_results, Context, GuestMemory};
use super::host::{resource_import_name, ComponentHost, HostCallError};
use super::memory::{call_realloc, InstanceMemory};
use super::resources::{DroppedOwn, ResourceTables};
use super::trap::{AbiError, ComponentTrap};
use super::value::ComponentVal;
use crate::api::{Caller, Extern, Func, Global, Instance, Memory, Store, Val};
use crate::error::{CallError, InstantiateError, Trap};
use crate::vm::module::Module;
use crate::HostError;
use kiln_abi::component::{ComponentPlan, CoreDef, CoreExport, Step, TrampolineKind};
use kiln_abi::metadata::{GlobalType, ValType};
use kiln_abi::vmctx::ValRaw;
use kiln_abi::TrapCode;
use std::cell::RefCell;
use std::rc::Rc;

/// The limits of a component's calls across the boundary, for guests the host does not
/// trust (Wasmtime's `-Smax-resources` and `-Shostcall-fuel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComponentLimits {
    /// The most handles each component instance's table may hold at once (own and borrow
    /// handles of every resource type together); one more traps. At most, and by default,
    /// the canonical ABI's [`MAX_HANDLES`](super::resources::MAX_HANDLES).
    pub max_handles: u32,
    /// The most bytes lifting the guest's values for one call may make the host copy or
    /// allocate (see [`Context::hostcall_fuel`]); each call starts with this much. By
    /// default [`DEFAULT_HOSTCALL_FUEL`].
    pub hostcall_fuel: u64,
}

/// The hostcall fuel of a call unless the embedder sets another: 128 MiB, as Wasmtime's.
pub const DEFAULT_HOSTCALL_FUEL: u64 = 128 << 20;

impl Default for ComponentLimits {
    fn default() -> ComponentLimits {
        ComponentLimits {
            max_handles: super::resources::MAX_HANDLES,
            hostcall_fuel: DEFAULT_HOSTCALL_FUEL,
        }
    }
}

/// A component instantiated in a store: its core instances, the trampolines they call and
/// the state those share.
pub struct ComponentInstance {
    state: Rc<State>,
    instances: Vec<Instance>,
}

/// What the trampolines share: the plan, the host, the resource handles, and what the
/// steps extracted.
struct State {
    plan: ComponentPlan,
    host: RefCell<Box<dyn ComponentHost>>,
    tables: RefCell<ResourceTables>,
    extracted: RefCell<Extracted>,
    /// Per plan import: the host's index for it.
    host_functions: Vec<u32>,
    /// Per plan resource: the host's index for an imported one.
    host_resources: Vec<Option<u32>>,
    /// The fuel each call's lifting starts with.
    hostcall_fuel: u64,
}

/// What the steps extract, by the plan's indices.
#[derive(Default)]
struct Extracted {
    memories: Vec<Option<Memory>>,
    reallocs: Vec<Option<Func>>,
    post_returns: Vec<Option<Func>>,
    /// Per plan resource: the destructor of one the component defines.
    destructors: Vec<Option<Func>>,
}

fn unlinkable(message: String) -> InstantiateError {
    InstantiateError::Unlinkable(message)
}

/// A plan index out of range: the plan is corrupt (it comes from kiln's compiler, but is
/// read back from an object, so it is checked rather than trusted).
fn corrupt(what: &str, index: u32) -> InstantiateError {
    unlinkable(format!(
        "corrupt component plan: {what} {index} does not exist"
    ))
}

impl ComponentInstance {
    /// Instantiates `plan` in `store`: `modules` are its core modules loaded, in the
    /// plan's order; host imports and imported resources bind to `host` (a missing one is
    /// an error naming it).
    pub fn new(
        store: &mut Store,
        plan: ComponentPlan,
        modules: &[Module],
        host: Box<dyn ComponentHost>,
    ) -> Result<ComponentInstance, InstantiateError> {
        ComponentInstance::with_limits(store, plan, modules, host, ComponentLimits::default())
    }

    /// [`ComponentInstance::new`] under `limits`.
    pub fn with_limits(
        store: &mut Store,
        plan: ComponentPlan,
        modules: &[Module],
        host: Box<dyn ComponentHost>,
        limits: ComponentLimits,
    ) -> Result<ComponentInstance, InstantiateError> {
        if modules.len() != plan.modules.len() {
            return Err(unlinkable(format!(
                "the component has {} core modules, {} were given",
                plan.modules.len(),
                modules.len()
            )));
        }
        let host_functions = plan
            .imports
            .iter()
            .map(|import| {
                host.resolve_function(&import.name).ok_or_else(|| {
                    unlinkable(format!(
                        "unknown import: the host does not implement `{}`",
                        import.name
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let host_resources = plan
            .resources
            .iter()
            .map(|resource| {
                if !resource.imported {
                    return Ok(None);
                }
                let name = resource_import_name(&resource.name).ok_or_else(|| {
                    unlinkable(format!(
                        "imported resource `{}` has no interface",
                        resource.name
                    ))
                })?;
                host.resolve_resource(&name).map(Some).ok_or_else(|| {
                    unlinkable(format!(
                        "unknown import: the host does not implement resource `{}`",
                        resource.name
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let extracted = Extracted {
            memories: vec![None; plan.n_memories as usize],
            reallocs: vec![None; plan.n_reallocs as usize],
            post_returns: vec![None; plan.n_post_returns as usize],
            destructors: vec![None; plan.resources.len()],
        };
        let mut tables = ResourceTables::new(&plan);
        tables.set_max_handles(limits.max_handles);
        let state = Rc::new(State {
            tables: RefCell::new(tables),
            plan,
            host: RefCell::new(host),
            extracted: RefCell::new(extracted),
            host_functions,
            host_resources,
            hostcall_fuel: limits.hostcall_fuel,
        });
        let trampolines: Vec<Func> = (0..state.plan.trampolines.len() as u32)
            .map(|index| trampoline_func(store, &state, index))
            .collect();
        let flags = (0..state.plan.n_component_instances)
            .map(|_| {
                let ty = GlobalType {
                    ty: ValType::I32,
                    mutable: true,
                };
                Global::new(store, ty, Val::I32(1)).map_err(|error| unlinkable(error.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut instances: Vec<Instance> = Vec::new();
        let resolve = |store: &Store, instances: &[Instance], def: &CoreDef| match def {
            CoreDef::Export(export) => export_of(store, instances, export),
            CoreDef::Trampoline(index) => trampolines
                .get(*index as usize)
                .map(|&func| Extern::Func(func))
                .ok_or_else(|| corrupt("trampoline", *index)),
            CoreDef::InstanceFlags(index) => flags
                .get(*index as usize)
                .map(|&global| Extern::Global(global))
                .ok_or_else(|| corrupt("component instance", *index)),
        };
        let resolve_func = |store: &Store, instances: &[Instance], def: &CoreDef| match resolve(
            store, instances, def,
        )? {
            Extern::Func(func) => Ok(func),
            _ => Err(unlinkable(format!("{def:?} is not a function"))),
        };
        for step in &state.plan.steps {
            match step {
                Step::Instantiate { module, args, .. } => {
                    let module = modules
                        .get(*module as usize)
                        .ok_or_else(|| corrupt("module", *module))?;
                    let imports = args
                        .iter()
                        .map(|def| resolve(store, &instances, def))
                        .collect::<Result<Vec<_>, _>>()?;
                    instances.push(Instance::new(store, module, &imports)?);
                }
                Step::ExtractMemory { index, export } => {
                    let Extern::Memory(memory) = export_of(store, &instances, export)? else {
                        return Err(unlinkable(format!("{export:?} is not a memory")));
                    };
                    let mut extracted = state.extracted.borrow_mut();
                    let slot = extracted.memories.get_mut(*index as usize);
                    *slot.ok_or_else(|| corrupt("memory", *index))? = Some(memory);
                }
                Step::ExtractRealloc { index, def } => {
                    let func = resolve_func(store, &instances, def)?;
                    let mut extracted = state.extracted.borrow_mut();
                    let slot = extracted.reallocs.get_mut(*index as usize);
                    *slot.ok_or_else(|| corrupt("realloc", *index))? = Some(func);
                }
                Step::ExtractPostReturn { index, def } => {
                    let func = resolve_func(store, &instances, def)?;
                    let mut extracted = state.extracted.borrow_mut();
                    let slot = extracted.post_returns.get_mut(*index as usize);
                    *slot.ok_or_else(|| corrupt("post-return", *index))? = Some(func);
                }
                Step::DefineResource {
                    resource,
                    destructor,
                } => {
                    let func = match destructor {
                        Some(def) => Some(resolve_func(store, &instances, def)?),
                        None => None,
                    };
                    let mut extracted = state.extracted.borrow_mut();
                    let slot = extracted.destructors.get_mut(*resource as usize);
                    *slot.ok_or_else(|| corrupt("resource", *resource))? = func;
                }
            }
        }
        Ok(ComponentInstance { state, instances })
    }

    /// The index of the export `interface#function` whose version is compatible with
    /// `version` (the same major version, and minor for 0.x: `0.2.0` finds `0.2.6`).
    pub fn find_export(&self, interface: &str, version: &str, function: &str) -> Option<u32> {
        let exports = &self.state.plan.exports;
        let position = exports.iter().position(|export| {
            let name = &export.name;
            name.interface == interface
                && name.function == function
                && name
                    .version
                    .as_deref()
                    .is_some_and(|v| semver_compatible(v, version))
        })?;
        u32::try_from(position).ok()
    }

    /// Calls export `index` (from [`find_export`](Self::find_export)) with `args`: they
    /// are lowered into the instance, its core function runs, the results are lifted,
    /// then its post-return runs.
    pub fn call(
        &self,
        store: &mut Store,
        index: u32,
        args: &[ComponentVal],
    ) -> Result<Vec<ComponentVal>, CallError> {
        let state = &self.state;
        let export = state.plan.exports.get(index as usize).ok_or_else(|| {
            CallError::BadArguments(format!("the component has no export {index}"))
        })?;
        let func = match &export.func {
            CoreDef::Export(core) => match export_of(store, &self.instances, core) {
                Ok(Extern::Func(func)) => func,
                _ => {
                    return Err(CallError::Host(format!(
                        "export {} is not a core function",
                        export.name
                    )))
                }
            },
            other => {
                return Err(CallError::Host(format!(
                    "export {} is lifted from {other:?}, which kiln cannot call",
                    export.name
                )))
            }
        };
        let options = state
            .plan
            .options
            .get(export.options as usize)
            .copied()
            .ok_or_else(|| CallError::Host(format!("export {}: corrupt options", export.name)))?;
        let (memory, realloc, post_return) = {
            let extracted = state.extracted.borrow();
            let pick = |list: &[Option<Func>], index: Option<u32>| {
                index.and_then(|index| list.get(index as usize).copied().flatten())
            };
            (
                options
                    .memory
                    .and_then(|index| extracted.memories.get(index as usize).copied().flatten()),
                pick(&extracted.reallocs, options.realloc),
                pick(&extracted.post_returns, options.post_return),
            )
        };
        let core_args = {
            let mut tables = state.tables.borrow_mut();
            tables.begin_call();
            let mut guest = memory.map(|memory| InstanceMemory::new(store, memory, realloc));
            let mut cx = Context {
                types: &state.plan.types,
                memory: guest.as_mut().map(|memory| memory as &mut dyn GuestMemory),
                handles: &mut *tables,
                hostcall_fuel: state.hostcall_fuel,
            };
            lower_params(&mut cx, export.func_type, args).map_err(abi_call_error)?
        };
        let core_types = func.ty(store).params;
        let core_args: Vec<Val> = core_args
            .iter()
            .zip(&core_types)
            .map(|(&raw, &ty)| val_from_raw(raw, ty))
            .collect();
        let core_results = func.call(store, &core_args)?;
        let raw_results: Vec<ValRaw> = core_results.iter().map(|&val| raw_from_val(val)).collect();
        let results = {
            let mut tables = state.tables.borrow_mut();
            let mut guest = memory.map(|memory| InstanceMemory::new(store, memory, realloc));
            let mut cx = Context {
                types: &state.plan.types,
                memory: guest.as_mut().map(|memory| memory as &mut dyn GuestMemory),
                handles: &mut *tables,
                hostcall_fuel: state.hostcall_fuel,
            };
            let results =
                lift_results(&mut cx, export.func_type, &raw_results).map_err(abi_call_error)?;
            tables.end_call().map_err(|trap| component_trap(&trap))?;
            results
        };
        if let Some(post_return) = post_return {
            post_return.call(store, &core_results)?;
        }
        Ok(results)
    }
}

/// Whether an export of version `found` serves a request for `wanted`: the same major
/// version and, below 1.0, the same minor (semver's compatibility rule, as Wasmtime
/// matches component imports and exports).
fn semver_compatible(found: &str, wanted: &str) -> bool {
    let parse = |version: &str| -> Option<(u64, u64)> {
        let mut parts = version.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    };
    match (parse(found), parse(wanted)) {
        (Some((0, a)), Some((0, b))) => a == b,
        (Some((a, _)), Some((b, _))) => a == b,
        _ => found == wanted,
    }
}

fn export_of(
    store: &Store,
    instances: &[Instance],
    export: &CoreExport,
) -> Result<Extern, InstantiateError> {
    let instance = instances
        .get(export.instance as usize)
        .ok_or_else(|| corrupt("core instance", export.instance))?;
    instance.get_export(store, &export.name).ok_or_else(|| {
        unlinkable(format!(
            "core instance {} has no export `{}`",
            export.instance, export.name
        ))
    })
}

/// A [`ComponentTrap`] as a guest trap with its message, when the host called in.
fn component_trap(trap: &ComponentTrap) -> CallError {
    CallError::Trap(Trap {
        code: TrapCode::Component,
        backtrace: Vec::new(),
        backtrace_truncated: false,
        exception_tag: None,
        message: Some(trap.to_string()),
    })
}

fn abi_call_error(error: AbiError) -> CallError {
    match error {
        AbiError::Trap(trap) => component_trap(&trap),
        AbiError::Guest(error) => error,
        AbiError::Mismatch(message) => CallError::Host(message),
    }
}

/// How an error inside a trampoline stops the guest that called it.
fn abi_host_error(error: AbiError) -> HostError {
    match error {
        AbiError::Trap(trap) => HostError::TrapMessage(trap.to_string()),
        AbiError::Guest(error) => nested_call_error(error),
        AbiError::Mismatch(message) => HostError::Message(message),
    }
}

/// A call the trampoline made into the guest (`cabi_realloc`, a destructor) failed: the
/// outer call stops the same way.
fn nested_call_error(error: CallError) -> HostError {
    match error {
        CallError::Trap(trap) => match trap.message {
            Some(message) => HostError::TrapMessage(message),
            None => HostError::Trap(trap.code),
        },
        CallError::Exit(code) => HostError::Exit(code),
        CallError::Host(message) | CallError::BadArguments(message) => HostError::Message(message),
    }
}

fn host_call_error(error: HostCallError) -> HostError {
    match error {
        HostCallError::Exit(code) => HostError::Exit(code),
        HostCallError::Trap(message) => HostError::TrapMessage(message),
        HostCallError::TimeLimit => HostError::Trap(TrapCode::TimeLimit),
        HostCallError::Failed(message) => HostError::Message(message),
    }
}

fn trap_message(trap: ComponentTrap) -> HostError {
    HostError::TrapMessage(trap.to_string())
}

fn raw_from_val(val: Val) -> ValRaw {
    match val {
        Val::I32(v) => ValRaw::from_u64(u64::from(v as u32)),
        Val::I64(v) => ValRaw::from_u64(v as u64),
        Val::F32(bits) => ValRaw::from_u64(u64::from(bits)),
        Val::F64(bits) => ValRaw::from_u64(bits),
        Val::V128(bits) => ValRaw::from_u128(bits),
        // The canonical ABI's core types are numbers only.
        Val::FuncRef(_) | Val::ExternRef(_) => ValRaw::default(),
    }
}

fn val_from_raw(raw: ValRaw, ty: ValType) -> Val {
    match ty {
        ValType::I32 => Val::I32(raw.u32() as i32),
        ValType::I64 => Val::I64(raw.u64() as i64),
        ValType::F32 => Val::F32(raw.u32()),
        ValType::F64 => Val::F64(raw.u64()),
        _ => Val::default_for(ty),
    }
}

/// The host function trampoline `index` of the plan is.
fn trampoline_func(store: &mut Store, state: &Rc<State>, index: u32) -> Func {
    let signature = state.plan.trampolines[index as usize].signature.clone();
    let state = Rc::clone(state);
    Func::new_host(store, signature.clone(), move |caller, args| {
        let core_args: Vec<ValRaw> = args.iter().map(|&val| raw_from_val(val)).collect();
        let results = state.run_trampoline(index, caller, &core_args)?;
        Ok(results
            .iter()
            .zip(&signature.results)
            .map(|(&raw, &ty)| val_from_raw(raw, ty))
            .collect())
    })
}

/// The guest's memory as a host import sees it: through its [`Caller`], allocating with
/// the options' `cabi_realloc` (a call back into the guest).
struct CallerMemory<'a, 'b> {
    caller: &'a mut Caller<'b>,
    memory: Memory,
    realloc: Option<Func>,
}

impl GuestMemory for CallerMemory<'_, '_> {
    fn bytes(&self) -> &[u8] {
        self.memory.data_of(self.caller).unwrap_or(&[])
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut_of(self.caller).unwrap_or(&mut [])
    }

    fn realloc(
        &mut self,
        old_ptr: u32,
        old_size: u32,
        align: u32,
        new_size: u32,
    ) -> Result<u32, AbiError> {
        let caller = &mut *self.caller;
        call_realloc(
            self.realloc,
            [old_ptr, old_size, align, new_size],
            |func, args| caller.call(func, args),
        )
    }
}

impl State {
    fn tables(&self) -> Result<std::cell::RefMut<'_, ResourceTables>, HostError> {
        self.tables.try_borrow_mut().map_err(|_| {
            HostError::TrapMessage(
                "the component called back into the host while the host was lowering a \
                 value into it (from cabi_realloc or a destructor)"
                    .into(),
            )
        })
    }

    /// Runs trampoline `index` for `caller` with its core arguments; returns its core
    /// results.
    fn run_trampoline(
        &self,
        index: u32,
        caller: &mut Caller<'_>,
        args: &[ValRaw],
    ) -> Result<Vec<ValRaw>, HostError> {
        let arg = |position: usize| -> Result<u32, HostError> {
            args.get(position).map(|raw| raw.u32()).ok_or_else(|| {
                HostError::Message(format!("trampoline {index}: missing argument {position}"))
            })
        };
        let one = |value: u32| Ok(vec![ValRaw::from_u64(u64::from(value))]);
        match self.plan.trampolines[index as usize].kind {
            TrampolineKind::LowerImport { import, options } => {
                self.lower_import(caller, import, options, args)
            }
            TrampolineKind::ResourceNew { table } => {
                let handle = self.tables()?.resource_new(table, arg(0)?);
                one(handle.map_err(trap_message)?)
            }
            TrampolineKind::ResourceRep { table } => {
                let rep = self.tables()?.resource_rep(table, arg(0)?);
                one(rep.map_err(trap_message)?)
            }
            TrampolineKind::ResourceDrop { table } => {
                let dropped = self.tables()?.resource_drop(table, arg(0)?);
                if let Some(dropped) = dropped.map_err(trap_message)? {
                    self.destroy(caller, dropped)?;
                }
                Ok(Vec::new())
            }
            TrampolineKind::ResourceTransferOwn => {
                let handle = self.tables()?.transfer_own(arg(0)?, arg(1)?, arg(2)?);
                one(handle.map_err(trap_message)?)
            }
            TrampolineKind::ResourceTransferBorrow => {
                let handle = self.tables()?.transfer_borrow(arg(0)?, arg(1)?, arg(2)?);
                one(handle.map_err(trap_message)?)
            }
            TrampolineKind::EnterSyncCall => {
                self.tables()?.begin_call();
                Ok(Vec::new())
            }
            TrampolineKind::ExitSyncCall => {
                self.tables()?.end_call().map_err(trap_message)?;
                Ok(Vec::new())
            }
            TrampolineKind::Trap => {
                let code = arg(0)?;
                let known = self
                    .plan
                    .adapter_traps
                    .iter()
                    .find(|(c, _)| u32::from(*c) == code);
                Err(HostError::TrapMessage(match known {
                    Some((_, message)) => message.clone(),
                    None => format!("a fused adapter trapped with code {code}"),
                }))
            }
        }
    }

    /// The last own handle of `dropped` went: the host frees its object, or the
    /// component's destructor runs.
    fn destroy(&self, caller: &mut Caller<'_>, dropped: DroppedOwn) -> Result<(), HostError> {
        let resource = dropped.resource as usize;
        if let Some(Some(host_resource)) = self.host_resources.get(resource) {
            let mut host = self.host.borrow_mut();
            return host
                .drop_resource(*host_resource, dropped.rep)
                .map_err(host_call_error);
        }
        let destructor = self
            .extracted
            .borrow()
            .destructors
            .get(resource)
            .copied()
            .flatten();
        if let Some(destructor) = destructor {
            caller
                .call(destructor, &[Val::I32(dropped.rep as i32)])
                .map_err(nested_call_error)?;
        }
        Ok(())
    }

    /// A lowered host import: lift the arguments, call the host, lower the results.
    fn lower_import(
        &self,
        caller: &mut Caller<'_>,
        import: u32,
        options: u32,
        args: &[ValRaw],
    ) -> Result<Vec<ValRaw>, HostError> {
        let corrupt = || HostError::Message(format!("corrupt component plan: import {import}"));
        let func_type = self
            .plan
            .imports
            .get(import as usize)
            .ok_or_else(corrupt)?
            .func_type;
        let function = *self
            .host_functions
            .get(import as usize)
            .ok_or_else(corrupt)?;
        let options = *self
            .plan
            .options
            .get(options as usize)
            .ok_or_else(corrupt)?;
        let (memory, realloc) = {
            let extracted = self.extracted.borrow();
            (
                options
                    .memory
                    .and_then(|index| extracted.memories.get(index as usize).copied().flatten()),
                options
                    .realloc
                    .and_then(|index| extracted.reallocs.get(index as usize).copied().flatten()),
            )
        };
        let mut tables = self.tables()?;
        tables.begin_call();
        let mut guest = memory.map(|memory| CallerMemory {
            caller: &mut *caller,
            memory,
            realloc,
        });
        let mut cx = Context {
            types: &self.plan.types,
            memory: guest.as_mut().map(|memory| memory as &mut dyn GuestMemory),
            handles: &mut *tables,
            hostcall_fuel: self.hostcall_fuel,
        };
        let lowered = lift_params(&mut cx, func_type, args)
            .map_err(abi_host_error)
            .and_then(|params| {
                let results = self.host.borrow_mut().call(function, params);
                results.map_err(host_call_error)
            })
            .and_then(|results| {
                lower_results(&mut cx, func_type, &results, args).map_err(abi_host_error)
            });
        // The call ends either way, so that the handles it lent are free again.
        let ended = tables.end_call();
        let lowered = lowered?;
        ended.map_err(trap_message)?;
        Ok(lowered)
    }
}
