//! Running a WASI command: what `kiln run` and a `kiln build` executable do with a module.
//! Besides WASI, commands may import the sightglass `bench` module (`bench.rs`).

use crate::component::{ComponentInstance, ComponentVal};
use crate::error::{CallError, InstantiateError, Trap};
use crate::limits::RunLimits;
use crate::wasi::p2::WasiP2;
use crate::wasi::{self, WasiCtx};
use crate::Linker;
use crate::Module;
use crate::{Extern, Store};
use kiln_abi::component::ComponentPlan;

/// Exit status after a trap (like an abort).
pub const TRAP_EXIT_CODE: i32 = 134;

/// Instantiates `module` with WASI and runs its `_start` export (if any). Returns the
/// process exit code: the guest's `proc_exit` code, 0 when `_start` returns, 134 after a
/// trap (reported on stderr with a backtrace), 1 when the module cannot be instantiated.
pub fn run_command(module: &Module, wasi: WasiCtx) -> i32 {
    run_command_limited(module, wasi, &RunLimits::default())
}

/// [`run_command`] under `limits`.
pub fn run_command_limited(module: &Module, wasi: WasiCtx, limits: &RunLimits) -> i32 {
    let mut store = Store::new();
    if let Err(error) = limits.apply(&mut store) {
        eprintln!(
            "error: cannot start the time limit: {}",
            crate::error::IoMessage(&error)
        );
        return 1;
    }
    run_in(&mut store, module, |linker, store| {
        wasi::add_imports_to_linker(linker, store, wasi, module);
        crate::bench::add_to_linker(linker, store);
    })
}

/// Runs `module` as [`run_command`] does, then exits the process with its code at once:
/// Rust's buffered stdout is flushed, and nothing else runs: not the store's teardown, not
/// thread-local destructors (the trap handler's alternate stack, unmapped one syscall at a
/// time), not `atexit` handlers. The kernel reclaims all of it at exit in one go; WASI's
/// writes are never buffered in the process.
pub fn exit_with_command(module: &Module, wasi: WasiCtx, limits: &RunLimits) -> ! {
    exit_with(module, limits, |linker, store| {
        wasi::add_imports_to_linker(linker, store, wasi, module);
        crate::bench::add_to_linker(linker, store);
    })
}

/// [`exit_with_command`] with the host functions (WASI, `bench`) that `add_imports`
/// defines. The one way out of an executable that runs a core module, so the profile of
/// code that counts is written here, whatever ended the run (`profile.rs`).
pub(crate) fn exit_with(
    module: &Module,
    limits: &RunLimits,
    add_imports: impl FnOnce(&mut Linker, &mut Store),
) -> ! {
    let mut store = Store::new();
    let code = match limits.apply(&mut store) {
        Ok(()) => run_in(&mut store, module, add_imports),
        Err(error) => {
            eprintln!(
                "error: cannot start the time limit: {}",
                crate::error::IoMessage(&error)
            );
            1
        }
    };
    crate::profile::write_linked_at_exit(module);
    exit_now(code)
}

fn run_in(
    store: &mut Store,
    module: &Module,
    add_imports: impl FnOnce(&mut Linker, &mut Store),
) -> i32 {
    let mut linker = Linker::new();
    add_imports(&mut linker, store);
    let instance = match linker.instantiate(store, module) {
        Ok(instance) => instance,
        Err(error) => return instantiation_failed(&error),
    };
    let Some(Extern::Func(start)) = instance.get_export(store, "_start") else {
        return 0;
    };
    match start.call(store, &[]) {
        Ok(_) => 0,
        Err(CallError::Exit(code)) => code,
        Err(CallError::Trap(trap)) => report_trap(&trap),
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

/// Instantiates a component's `plan` (its core `modules` loaded, in the plan's order) with
/// WASI 0.2 granted by `wasi`, under `limits`, and calls its `wasi:cli/run@0.2` export.
/// Returns the process exit code as [`run_command`] does: 0 when `run` returns `ok`, 1 for
/// `err` or a component that cannot be instantiated, the code of `wasi:cli/exit`, 134
/// after a trap.
pub fn run_component_limited(
    plan: ComponentPlan,
    modules: &[Module],
    wasi: WasiCtx,
    limits: &RunLimits,
) -> i32 {
    run_component_with(
        plan,
        modules,
        wasi,
        limits,
        crate::wasi::p2::all_functions(),
    )
}

/// [`run_component_limited`] with the component's imports resolved among `catalog`.
fn run_component_with(
    plan: ComponentPlan,
    modules: &[Module],
    wasi: WasiCtx,
    limits: &RunLimits,
    catalog: crate::wasi::p2::Catalog,
) -> i32 {
    let mut store = Store::new();
    if let Err(error) = limits.apply(&mut store) {
        eprintln!(
            "error: cannot start the time limit: {}",
            crate::error::IoMessage(&error)
        );
        return 1;
    }
    let mut host = WasiP2::with_catalog(wasi, store.interrupt_state(), catalog);
    if let Some(max) = limits.max_resources {
        host.set_max_resources(max);
    }
    let component_limits = limits.component_limits();
    let instance = match ComponentInstance::with_limits(
        &mut store,
        plan,
        modules,
        Box::new(host),
        component_limits,
    ) {
        Ok(instance) => instance,
        Err(error) => return instantiation_failed(&error),
    };
    let Some(run) = instance.find_export("wasi:cli/run", "0.2.0", "run") else {
        eprintln!("error: the component does not export `wasi:cli/run@0.2.x#run`");
        return 1;
    };
    match instance.call(&mut store, run, &[]) {
        Ok(results) => match results.as_slice() {
            [ComponentVal::Result(Ok(_))] => 0,
            [ComponentVal::Result(Err(_))] => 1,
            other => {
                eprintln!("error: wasi:cli/run returned {other:?}, not a result");
                1
            }
        },
        Err(CallError::Exit(code)) => code,
        Err(CallError::Trap(trap)) => report_trap(&trap),
        Err(error) => {
            eprintln!("error: {error}");
            1
        }
    }
}

/// Runs a component as [`run_component_limited`] does, its imports resolved among
/// `catalog` (an executable's linked WASI 0.2 functions), then exits the process with its
/// code at once, as [`exit_with_command`] does.
#[cfg(feature = "exe-main")]
pub(crate) fn exit_with_component(
    plan: ComponentPlan,
    modules: &[Module],
    wasi: WasiCtx,
    limits: &RunLimits,
    catalog: crate::wasi::p2::Catalog,
) -> ! {
    exit_now(run_component_with(plan, modules, wasi, limits, catalog))
}

/// Flushes Rust's stdout and ends the process with `code` at once (see
/// [`exit_with_command`]).
fn exit_now(code: i32) -> ! {
    // Nothing can be reported if this fails: stdout is where it would go. An executable
    // never writes to Rust's stdout (WASI writes go to the descriptors at once), so it
    // has nothing to flush, and leaves out std's stdout and its buffer.
    #[cfg(not(feature = "exe-main"))]
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // SAFETY: `_exit` has no preconditions; no buffered output is left behind (above).
    unsafe { libc::_exit(code) }
}

/// The exit code of a run whose instantiation failed, after reporting why: a trap (of a
/// start function) as a trap, an exit as its code, anything else as an error.
fn instantiation_failed(error: &InstantiateError) -> i32 {
    match error {
        InstantiateError::Trap(trap) => report_trap(trap),
        InstantiateError::Exit(code) => *code,
        error => {
            eprintln!("error: {error}");
            1
        }
    }
}

fn report_trap(trap: &Trap) -> i32 {
    eprintln!("error: {trap}");
    TRAP_EXIT_CODE
}
