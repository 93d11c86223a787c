//! Running a WASI command: what `kiln run` and a `kiln build` executable do with a module.
//! Besides WASI, commands may import the sightglass `bench` module (`bench.rs`).

use crate::error::{CallError, InstantiateError, Trap};
use crate::limits::RunLimits;
use crate::wasi::{self, WasiCtx};
use crate::Linker;
use crate::Module;
use crate::{Extern, Store};
use std::io::Write;

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
        eprintln!("error: cannot start the time limit: {error}");
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
/// defines.
pub(crate) fn exit_with(
    module: &Module,
    limits: &RunLimits,
    add_imports: impl FnOnce(&mut Linker, &mut Store),
) -> ! {
    let mut store = Store::new();
    let code = match limits.apply(&mut store) {
        Ok(()) => run_in(&mut store, module, add_imports),
        Err(error) => {
            eprintln!("error: cannot start the time limit: {error}");
            1
        }
    };
    // Nothing can be reported if this fails: stdout is where it would go.
    let _ = std::io::stdout().flush();
    // SAFETY: `_exit` has no preconditions; no buffered output is left behind (above).
    unsafe { libc::_exit(code) }
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
        Err(InstantiateError::Trap(trap)) => return report_trap(&trap),
        Err(InstantiateError::Exit(code)) => return code,
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
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

fn report_trap(trap: &Trap) -> i32 {
    eprintln!("error: {trap}");
    TRAP_EXIT_CODE
}
