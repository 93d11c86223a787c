//! The C interface (feature `c-api`), for C and C++ hosts of modules precompiled by kiln.
//! It is generic: an instance is made from a module's descriptor, and exports are called by
//! name with arrays of [`KilnVal`]. The header kiln-build generates for a module
//! (`kiln_build::c_header`) declares these functions and wraps them in typed inline
//! functions per import and export.
//!
//! Ownership: `kiln_instance_new` returns an instance the host frees with
//! `kiln_instance_delete`; every function that can fail returns a `kiln_error *` (null on
//! success) that the host frees with `kiln_error_delete`. No panic crosses this boundary:
//! each function runs inside `catch_unwind` and reports a panic as an error.

use crate::error::CallError;
use crate::wasi::WasiCtx;
use crate::{Extern, Func, Global, Instance, InterruptHandle, Memory, Store};
use crate::{FuncType, HostError, Linker, Module, Val, ValType};
use kiln_abi::descriptor::ModuleDescriptor;
use kiln_abi::metadata::ImportType;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A wasm number as C sees it (`kiln_val`): i32, i64, f32 or f64 by the function's type.
#[repr(C)]
#[derive(Clone, Copy)]
pub union KilnVal {
    pub i32: i32,
    pub i64: i64,
    pub f32: f32,
    pub f64: f64,
}

/// A host function (`kiln_host_fn`): reads `args`, writes `results` (both sized by the
/// import's type) and returns 0, or non-zero to stop the guest with an error.
pub type KilnHostFn =
    unsafe extern "C" fn(env: *mut c_void, args: *const KilnVal, results: *mut KilnVal) -> i32;

/// One import the host provides (`kiln_import`).
#[repr(C)]
pub struct KilnImport {
    pub module: *const c_char,
    pub name: *const c_char,
    pub func: KilnHostFn,
    pub env: *mut c_void,
}

/// What a WASI guest may see (`kiln_wasi_config`); every pointer may be null when its count
/// is 0. Environment entries are `KEY=VALUE`. The `preopen_*` directories are read-write
/// ([`WasiCtx::preopen_dir`]), the `read_only_*` ones read-only
/// ([`WasiCtx::preopen_dir_read_only`], `kiln run --dir-read-only`), preopened after them.
#[repr(C)]
pub struct KilnWasiConfig {
    pub args: *const *const c_char,
    pub n_args: usize,
    pub env: *const *const c_char,
    pub n_env: usize,
    pub preopen_host_paths: *const *const c_char,
    pub preopen_guest_paths: *const *const c_char,
    pub n_preopens: usize,
    pub read_only_host_paths: *const *const c_char,
    pub read_only_guest_paths: *const *const c_char,
    pub n_read_only: usize,
}

/// Limits for an instance's store (`kiln_limits`); 0 in a field means no limit there (for
/// `max_stack_bytes`: the default, 1 MiB). `fuel` needs a module compiled with fuel
/// metering, `timeout_ns` one compiled with interruption checks.
#[repr(C)]
pub struct KilnLimits {
    pub max_memory_bytes: u64,
    pub max_table_elements: u64,
    pub max_stack_bytes: u64,
    pub fuel: u64,
    pub timeout_ns: u64,
}

impl KilnLimits {
    fn run_limits(&self) -> crate::RunLimits {
        let some = |value: u64| (value != 0).then_some(value);
        crate::RunLimits {
            resources: crate::ResourceLimits {
                max_memory_bytes: some(self.max_memory_bytes),
                max_table_elements: some(self.max_table_elements),
            },
            max_wasm_stack: some(self.max_stack_bytes)
                .map(|bytes| usize::try_from(bytes).unwrap_or(usize::MAX)),
            fuel: some(self.fuel),
            timeout: some(self.timeout_ns).map(std::time::Duration::from_nanos),
            // The C API runs core modules, which have neither.
            max_resources: None,
            hostcall_fuel: None,
        }
    }
}

/// An instance in a store of its own (`kiln_instance`).
pub struct KilnInstance {
    store: Store,
    instance: Instance,
}

/// Why a call failed (`kiln_error`).
pub struct KilnError {
    /// The trap code (`TrapCode as u8`), or -1 when the guest did not trap.
    trap_code: i32,
    /// The guest's `proc_exit` code, or -1.
    exit_code: i32,
    message: CString,
    frames: Vec<CString>,
}

fn c_string(text: String) -> CString {
    CString::new(text.replace('\0', "\\0")).expect("NULs replaced")
}

fn error(message: impl Into<String>) -> *mut KilnError {
    Box::into_raw(Box::new(KilnError {
        trap_code: -1,
        exit_code: -1,
        message: c_string(message.into()),
        frames: Vec::new(),
    }))
}

fn call_error(call_error: CallError) -> *mut KilnError {
    let message = call_error.to_string();
    let mut result = KilnError {
        trap_code: -1,
        exit_code: -1,
        message: c_string(message),
        frames: Vec::new(),
    };
    match call_error {
        CallError::Trap(trap) => {
            result.trap_code = i32::from(trap.code as u8);
            result.frames = trap
                .backtrace
                .iter()
                .map(|frame| {
                    c_string(
                        frame
                            .func_name
                            .clone()
                            .unwrap_or_else(|| format!("wasm_function_{}", frame.func_index)),
                    )
                })
                .collect();
        }
        CallError::Exit(code) => result.exit_code = code,
        CallError::Host(_) | CallError::BadArguments(_) => {}
    }
    Box::into_raw(Box::new(result))
}

/// Runs `f`, turning a panic into an error.
fn guard(f: impl FnOnce() -> *mut KilnError) -> *mut KilnError {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| error("kiln: panic in the runtime"))
}

/// Gives `failure` (null on success) to the caller through `error_out`, or frees it when
/// the caller passed no place for it.
///
/// # Safety
/// `error_out` is null or writable; `failure` is null or from `Box::into_raw`, not handed
/// out yet.
unsafe fn hand_over(failure: *mut KilnError, error_out: *mut *mut KilnError) {
    if !error_out.is_null() {
        // SAFETY: writable (caller's contract).
        unsafe { *error_out = failure };
    } else if !failure.is_null() {
        // SAFETY: made by `Box::into_raw` and not handed out (caller's contract).
        drop(unsafe { Box::from_raw(failure) });
    }
}

/// A C string argument.
///
/// # Safety
/// `s` must be null or a NUL-terminated string.
unsafe fn str_arg<'a>(s: *const c_char) -> Result<&'a str, *mut KilnError> {
    if s.is_null() {
        return Err(error("kiln: null string argument"));
    }
    // SAFETY: caller's contract.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|_| error("kiln: string argument is not UTF-8"))
}

/// A C array argument.
///
/// # Safety
/// `ptr` must point to `len` values, or `len` must be 0.
unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: caller's contract.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// The WASI context `config` describes.
///
/// # Safety
/// `config` must be null or valid as `kiln_wasi_config` documents.
unsafe fn wasi_ctx(config: *const KilnWasiConfig) -> Result<WasiCtx, *mut KilnError> {
    let mut ctx = WasiCtx::new();
    if config.is_null() {
        return Ok(ctx);
    }
    // SAFETY: caller's contract.
    let config = unsafe { &*config };
    let strings = |ptr: *const *const c_char, len: usize| -> Result<Vec<String>, *mut KilnError> {
        // SAFETY: caller's contract: `len` string pointers.
        unsafe { slice_arg(ptr, len) }
            .iter()
            // SAFETY: as above, each a NUL-terminated string.
            .map(|&s| unsafe { str_arg(s) }.map(str::to_owned))
            .collect()
    };
    ctx = ctx.args(strings(config.args, config.n_args)?);
    let env = strings(config.env, config.n_env)?
        .into_iter()
        .map(|entry| match entry.split_once('=') {
            Some((key, value)) => (key.to_owned(), value.to_owned()),
            None => (entry, String::new()),
        })
        .collect();
    ctx = ctx.env(env);
    let hosts = strings(config.preopen_host_paths, config.n_preopens)?;
    let guests = strings(config.preopen_guest_paths, config.n_preopens)?;
    for (host, guest) in hosts.iter().zip(&guests) {
        ctx = ctx
            .preopen_dir(host, guest)
            .map_err(|e| error(format!("kiln: cannot preopen {host}: {e}")))?;
    }
    let hosts = strings(config.read_only_host_paths, config.n_read_only)?;
    let guests = strings(config.read_only_guest_paths, config.n_read_only)?;
    for (host, guest) in hosts.iter().zip(&guests) {
        ctx = ctx
            .preopen_dir_read_only(host, guest)
            .map_err(|e| error(format!("kiln: cannot preopen {host} read-only: {e}")))?;
    }
    Ok(ctx)
}

fn kiln_val_to_val(value: KilnVal, ty: ValType) -> Result<Val, *mut KilnError> {
    // SAFETY: the union's field is chosen by the function's type, as the caller promised.
    unsafe {
        Ok(match ty {
            ValType::I32 => Val::I32(value.i32),
            ValType::I64 => Val::I64(value.i64),
            ValType::F32 => Val::F32(value.f32.to_bits()),
            ValType::F64 => Val::F64(value.f64.to_bits()),
            other => return Err(error(format!("kiln: the C API has no {other}"))),
        })
    }
}

fn val_to_kiln_val(value: Val) -> KilnVal {
    match value {
        Val::I32(v) => KilnVal { i32: v },
        Val::I64(v) => KilnVal { i64: v },
        Val::F32(bits) => KilnVal {
            f32: f32::from_bits(bits),
        },
        Val::F64(bits) => KilnVal {
            f64: f64::from_bits(bits),
        },
        _ => KilnVal { i64: 0 },
    }
}

/// Makes an instance of the module `descriptor` describes. `abi_marker` must be the
/// address of the runtime's `kiln_abi_version_<N>` marker as the header names it, which
/// makes a header for another ABI version fail to link. `imports` provide the module's
/// non-WASI function imports (their `env` must outlive the instance); `wasi` (null: no
/// arguments, environment or directories) configures WASI for modules that import it.
/// Returns null and sets `*error` on failure.
///
/// # Safety
/// `descriptor` must be a kiln module descriptor linked into this program; the other
/// pointers must be valid as documented.
#[no_mangle]
pub unsafe extern "C" fn kiln_instance_new(
    descriptor: *const ModuleDescriptor,
    abi_marker: *const u32,
    imports: *const KilnImport,
    n_imports: usize,
    wasi: *const KilnWasiConfig,
    error_out: *mut *mut KilnError,
) -> *mut KilnInstance {
    // SAFETY: the caller's contract is `kiln_instance_new_limited`'s, with no limits.
    unsafe {
        kiln_instance_new_limited(
            descriptor,
            abi_marker,
            imports,
            n_imports,
            wasi,
            std::ptr::null(),
            error_out,
        )
    }
}

/// As `kiln_instance_new`, the instance's store under `limits` (null: none).
///
/// # Safety
///
/// As for `kiln_instance_new`; `limits` is null or points to a `kiln_limits`.
#[no_mangle]
pub unsafe extern "C" fn kiln_instance_new_limited(
    descriptor: *const ModuleDescriptor,
    abi_marker: *const u32,
    imports: *const KilnImport,
    n_imports: usize,
    wasi: *const KilnWasiConfig,
    limits: *const KilnLimits,
    error_out: *mut *mut KilnError,
) -> *mut KilnInstance {
    let mut instance = std::ptr::null_mut();
    let failure = guard(|| {
        // SAFETY: the caller passes the marker's address.
        if abi_marker.is_null() || unsafe { *abi_marker } != kiln_abi::ABI_VERSION {
            return error("kiln: the header was generated for another kiln ABI version");
        }
        // SAFETY: the caller passes a linked descriptor, which lives as long as the program.
        let module = match unsafe { Module::from_descriptor(&*descriptor) } {
            Ok(module) => module,
            Err(e) => return error(e.to_string()),
        };
        let mut store = Store::new();
        // SAFETY: the caller passes null or a valid `kiln_limits`.
        if let Some(limits) = unsafe { limits.as_ref() } {
            if let Err(e) = limits.run_limits().apply(&mut store) {
                return error(format!("kiln: cannot start the time limit: {e}"));
            }
        }
        let mut linker = Linker::new();
        let imports_wasi = module
            .metadata()
            .imports
            .iter()
            .any(|import| crate::wasi::MODULE_NAMES.contains(&import.module));
        if imports_wasi {
            // SAFETY: caller's contract.
            match unsafe { wasi_ctx(wasi) } {
                Ok(ctx) => crate::wasi::add_to_linker(&mut linker, &mut store, ctx),
                Err(e) => return e,
            }
        }
        // SAFETY: caller's contract: `n_imports` imports.
        for import in unsafe { slice_arg(imports, n_imports) } {
            // SAFETY: caller's contract.
            let (module_name, name) =
                match unsafe { (str_arg(import.module), str_arg(import.name)) } {
                    (Ok(module_name), Ok(name)) => (module_name, name),
                    (Err(e), _) | (_, Err(e)) => return e,
                };
            let Some(ty) = module.metadata().imports.iter().find_map(|wanted| {
                let ImportType::Func(type_index) = wanted.ty else {
                    return None;
                };
                (wanted.module == module_name && wanted.name == name)
                    .then(|| module.metadata().types[type_index as usize].clone())
            }) else {
                continue;
            };
            let (func, env) = (import.func, import.env as usize);
            let host = Func::new_host(&mut store, ty.clone(), move |_caller, args| {
                host_call(func, env as *mut c_void, &ty, args)
            });
            linker.define(module_name, name, Extern::Func(host));
        }
        match linker.instantiate(&mut store, &module) {
            Ok(handle) => {
                let mut new = KilnInstance {
                    store,
                    instance: handle,
                };
                // A WASI reactor is initialised before anything else is called.
                if let Some(Extern::Func(initialize)) =
                    new.instance.get_export(&new.store, "_initialize")
                {
                    if let Err(e) = initialize.call(&mut new.store, &[]) {
                        return call_error(e);
                    }
                }
                instance = Box::into_raw(Box::new(new));
                std::ptr::null_mut()
            }
            Err(e) => error(e.to_string()),
        }
    });
    // SAFETY: the caller passes a writable pointer (or null).
    unsafe { hand_over(failure, error_out) };
    instance
}

/// A component instantiated with WASI 0.2 in a store of its own (`kiln_component`).
pub struct KilnComponent(crate::WasiComponent);

/// Instantiates the component whose image (`<name>_kiln_component`, see kiln-abi's
/// `symbols::COMPONENT_IMAGE`) is linked into this program, with WASI 0.2 granting what
/// `wasi` grants (null: no arguments, environment or directories). `abi_marker` is the
/// address of `kiln_abi_version_<N>`, as for `kiln_instance_new`. Returns null and sets
/// `*error` on failure.
///
/// # Safety
/// `image` must be a component image linked into this program; the other pointers must be
/// valid as documented.
#[no_mangle]
pub unsafe extern "C" fn kiln_component_new(
    image: *const u64,
    abi_marker: *const u32,
    wasi: *const KilnWasiConfig,
    error_out: *mut *mut KilnError,
) -> *mut KilnComponent {
    let mut component = std::ptr::null_mut();
    let failure = guard(|| {
        // SAFETY: the caller passes the marker's address.
        if abi_marker.is_null() || unsafe { *abi_marker } != kiln_abi::ABI_VERSION {
            return error("kiln: the header was generated for another kiln ABI version");
        }
        if image.is_null() {
            return error("kiln: no component image");
        }
        // SAFETY: the caller passes a linked image, which lives as long as the program.
        let linked = match unsafe { crate::component::LinkedComponent::from_image(image) } {
            Ok(linked) => linked,
            Err(e) => return error(e.to_string()),
        };
        // SAFETY: caller's contract.
        let ctx = match unsafe { wasi_ctx(wasi) } {
            Ok(ctx) => ctx,
            Err(e) => return e,
        };
        match crate::WasiComponent::new(&linked, ctx) {
            Ok(instance) => {
                component = Box::into_raw(Box::new(KilnComponent(instance)));
                std::ptr::null_mut()
            }
            Err(e) => error(e.to_string()),
        }
    });
    // SAFETY: the caller passes a writable pointer (or null).
    unsafe { hand_over(failure, error_out) };
    component
}

/// Runs the component's `wasi:cli/run`: `*exit_code` is 0 when it returns `ok`, 1 for
/// `err`, or the code the guest gave `wasi:cli/exit`; a trap (with its message and
/// backtrace) or a component without `wasi:cli/run` is the returned error.
///
/// # Safety
/// `component` must be live; `exit_code` writable or null.
#[no_mangle]
pub unsafe extern "C" fn kiln_component_run(
    component: *mut KilnComponent,
    exit_code: *mut i32,
) -> *mut KilnError {
    guard(|| {
        // SAFETY: caller's contract.
        let Some(component) = (unsafe { component.as_mut() }) else {
            return error("kiln: null component");
        };
        let code = match component.0.run() {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(CallError::Exit(code)) => code,
            Err(e) => return call_error(e),
        };
        if !exit_code.is_null() {
            // SAFETY: caller's contract.
            unsafe { *exit_code = code };
        }
        std::ptr::null_mut()
    })
}

/// Frees a component instance (null is ignored).
///
/// # Safety
/// `component` must come from `kiln_component_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn kiln_component_delete(component: *mut KilnComponent) {
    if !component.is_null() {
        // SAFETY: caller's contract.
        drop(unsafe { Box::from_raw(component) });
    }
}

/// Calls the C host function `func` with `args` of type `ty`.
fn host_call(
    func: KilnHostFn,
    env: *mut c_void,
    ty: &FuncType,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let c_args: Vec<KilnVal> = args.iter().map(|&arg| val_to_kiln_val(arg)).collect();
    let mut results = vec![KilnVal { i64: 0 }; ty.results.len()];
    // SAFETY: the host promised `func` reads `params.len()` arguments and writes
    // `results.len()` results.
    let status = unsafe { func(env, c_args.as_ptr(), results.as_mut_ptr()) };
    if status != 0 {
        return Err(HostError::Message(format!(
            "host function returned status {status}"
        )));
    }
    ty.results
        .iter()
        .zip(results)
        .map(|(&ty, value)| {
            kiln_val_to_val(value, ty)
                .map_err(|_| HostError::Message("unsupported result type".into()))
        })
        .collect()
}

/// Frees an instance (null is ignored).
///
/// # Safety
/// `instance` must come from `kiln_instance_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn kiln_instance_delete(instance: *mut KilnInstance) {
    if !instance.is_null() {
        // SAFETY: caller's contract.
        drop(unsafe { Box::from_raw(instance) });
    }
}

/// The fuel left in `instance`'s store, in `*fuel`; returns 0, or -1 when the store does
/// not meter fuel (or an argument is null).
///
/// # Safety
/// `instance` must be live and `fuel` writable, or null.
#[no_mangle]
pub unsafe extern "C" fn kiln_instance_fuel(instance: *const KilnInstance, fuel: *mut u64) -> i32 {
    // SAFETY: caller's contract.
    match unsafe { (instance.as_ref(), fuel.as_mut()) } {
        (Some(instance), Some(fuel)) => match instance.store.fuel() {
            Some(left) => {
                *fuel = left;
                0
            }
            None => -1,
        },
        _ => -1,
    }
}

/// Sets the fuel left in `instance`'s store (refuels it); from then on it meters fuel.
///
/// # Safety
/// `instance` must be live, or null (ignored).
#[no_mangle]
pub unsafe extern "C" fn kiln_instance_set_fuel(instance: *mut KilnInstance, fuel: u64) {
    // SAFETY: caller's contract.
    if let Some(instance) = unsafe { instance.as_mut() } {
        instance.store.set_fuel(fuel);
    }
}

/// A handle that interrupts `instance`'s guest from any thread (`kiln_interrupt`); free it
/// with `kiln_interrupt_handle_delete`. It stays valid after the instance is deleted.
/// Null for a null instance.
///
/// # Safety
/// `instance` must be live, or null.
#[no_mangle]
pub unsafe extern "C" fn kiln_instance_interrupt_handle(
    instance: *const KilnInstance,
) -> *mut InterruptHandle {
    // SAFETY: caller's contract.
    match unsafe { instance.as_ref() } {
        Some(instance) => Box::into_raw(Box::new(instance.store.interrupt_handle())),
        None => std::ptr::null_mut(),
    }
}

/// Makes the guest trap with "interrupted" at its next function entry or loop header
/// (code compiled with interruption checks). Safe to call from any thread.
///
/// # Safety
/// `handle` must come from `kiln_instance_interrupt_handle` and not be deleted, or be null.
#[no_mangle]
pub unsafe extern "C" fn kiln_interrupt(handle: *const InterruptHandle) {
    // SAFETY: caller's contract.
    if let Some(handle) = unsafe { handle.as_ref() } {
        handle.interrupt();
    }
}

/// Frees an interrupt handle (null is ignored).
///
/// # Safety
/// `handle` must come from `kiln_instance_interrupt_handle` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn kiln_interrupt_handle_delete(handle: *mut InterruptHandle) {
    if !handle.is_null() {
        // SAFETY: caller's contract.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// The export `name` of `instance`.
///
/// # Safety
/// `instance` must be live; `name` a NUL-terminated string.
unsafe fn export(
    instance: *mut KilnInstance,
    name: *const c_char,
) -> Result<Extern, *mut KilnError> {
    if instance.is_null() {
        return Err(error("kiln: null instance"));
    }
    // SAFETY: caller's contract.
    let (instance, name) = unsafe { (&*instance, str_arg(name)?) };
    instance
        .instance
        .get_export(&instance.store, name)
        .ok_or_else(|| error(format!("kiln: no export `{name}`")))
}

/// Calls the exported function `name` with `n_args` arguments, writing `n_results`
/// results. Returns null, or the error (a trap with its code and backtrace, an exit, a
/// failed host function).
///
/// # Safety
/// `instance` must be live; `args` and `results` must hold `n_args` and `n_results` values.
#[no_mangle]
pub unsafe extern "C" fn kiln_call(
    instance: *mut KilnInstance,
    name: *const c_char,
    args: *const KilnVal,
    n_args: usize,
    results: *mut KilnVal,
    n_results: usize,
) -> *mut KilnError {
    guard(|| {
        // SAFETY: caller's contract.
        let func: Func = match unsafe { export(instance, name) } {
            Ok(Extern::Func(func)) => func,
            Ok(_) => return error("kiln: the export is not a function"),
            Err(e) => return e,
        };
        // SAFETY: `export` checked that `instance` is not null; the caller owns it.
        let instance = unsafe { &mut *instance };
        let ty = func.ty(&instance.store);
        if ty.params.len() != n_args || ty.results.len() != n_results {
            return error("kiln: wrong number of arguments or results");
        }
        // SAFETY: caller's contract.
        let c_args = unsafe { slice_arg(args, n_args) };
        let mut values = Vec::new();
        for (&arg, &ty) in c_args.iter().zip(&ty.params) {
            match kiln_val_to_val(arg, ty) {
                Ok(value) => values.push(value),
                Err(e) => return e,
            }
        }
        match func.call(&mut instance.store, &values) {
            Ok(values) => {
                for (index, value) in values.into_iter().enumerate() {
                    // SAFETY: `results` holds `n_results` values (caller's contract).
                    unsafe { *results.add(index) = val_to_kiln_val(value) };
                }
                std::ptr::null_mut()
            }
            Err(e) => call_error(e),
        }
    })
}

/// The bytes of the exported memory `name`: returns its base and writes its length to
/// `*len`, or returns null. Valid until the next call into the instance.
///
/// # Safety
/// `instance` must be live, `name` a NUL-terminated string, `len` writable.
#[no_mangle]
pub unsafe extern "C" fn kiln_memory_data(
    instance: *mut KilnInstance,
    name: *const c_char,
    len: *mut usize,
) -> *mut u8 {
    // SAFETY: caller's contract.
    let memory: Memory = match unsafe { export(instance, name) } {
        Ok(Extern::Memory(memory)) => memory,
        Ok(_) => return std::ptr::null_mut(),
        Err(e) => {
            // SAFETY: made by `Box::into_raw` and not handed out.
            drop(unsafe { Box::from_raw(e) });
            return std::ptr::null_mut();
        }
    };
    // SAFETY: checked live above; the caller owns the instance.
    let instance = unsafe { &mut *instance };
    let data = memory.data_mut(&mut instance.store);
    // SAFETY: caller's contract.
    unsafe { *len = data.len() };
    data.as_mut_ptr()
}

/// Reads the exported global `name` into `*value`.
///
/// # Safety
/// `instance` must be live, `name` a NUL-terminated string, `value` writable.
#[no_mangle]
pub unsafe extern "C" fn kiln_global_get(
    instance: *mut KilnInstance,
    name: *const c_char,
    value: *mut KilnVal,
) -> *mut KilnError {
    guard(|| {
        // SAFETY: caller's contract.
        let global: Global = match unsafe { export(instance, name) } {
            Ok(Extern::Global(global)) => global,
            Ok(_) => return error("kiln: the export is not a global"),
            Err(e) => return e,
        };
        // SAFETY: checked live above; `value` is writable (caller's contract).
        unsafe { *value = val_to_kiln_val(global.get(&(*instance).store)) };
        std::ptr::null_mut()
    })
}

/// Sets the exported mutable global `name` to `value`.
///
/// # Safety
/// `instance` must be live, `name` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn kiln_global_set(
    instance: *mut KilnInstance,
    name: *const c_char,
    value: KilnVal,
) -> *mut KilnError {
    guard(|| {
        // SAFETY: caller's contract.
        let global: Global = match unsafe { export(instance, name) } {
            Ok(Extern::Global(global)) => global,
            Ok(_) => return error("kiln: the export is not a global"),
            Err(e) => return e,
        };
        // SAFETY: checked live above; the caller owns the instance.
        let store = unsafe { &mut (*instance).store };
        let value = match kiln_val_to_val(value, global.ty(store).ty) {
            Ok(value) => value,
            Err(e) => return e,
        };
        match global.set(store, value) {
            Ok(()) => std::ptr::null_mut(),
            Err(e) => error(e.to_string()),
        }
    })
}

/// The error's report (for a trap: its message and wasm backtrace, as `kiln run` prints).
///
/// # Safety
/// `error` must come from this API and not be freed.
#[no_mangle]
pub unsafe extern "C" fn kiln_error_message(error: *const KilnError) -> *const c_char {
    // SAFETY: caller's contract.
    unsafe { (*error).message.as_ptr() }
}

/// The trap code (kiln's `TrapCode` numbering), or -1 when the error is not a trap.
///
/// # Safety
/// As for `kiln_error_message`.
#[no_mangle]
pub unsafe extern "C" fn kiln_error_trap_code(error: *const KilnError) -> i32 {
    // SAFETY: caller's contract.
    unsafe { (*error).trap_code }
}

/// The guest's exit code when it called `proc_exit`, or -1.
///
/// # Safety
/// As for `kiln_error_message`.
#[no_mangle]
pub unsafe extern "C" fn kiln_error_exit_code(error: *const KilnError) -> i32 {
    // SAFETY: caller's contract.
    unsafe { (*error).exit_code }
}

/// Number of wasm frames in a trap's backtrace (innermost first).
///
/// # Safety
/// As for `kiln_error_message`.
#[no_mangle]
pub unsafe extern "C" fn kiln_error_backtrace_len(error: *const KilnError) -> usize {
    // SAFETY: caller's contract.
    let error = unsafe { &*error };
    error.frames.len()
}

/// The function name of backtrace frame `index`, or null past the end.
///
/// # Safety
/// As for `kiln_error_message`.
#[no_mangle]
pub unsafe extern "C" fn kiln_error_backtrace_name(
    error: *const KilnError,
    index: usize,
) -> *const c_char {
    // SAFETY: caller's contract.
    let error = unsafe { &*error };
    error
        .frames
        .get(index)
        .map_or(std::ptr::null(), |name| name.as_ptr())
}

/// Frees an error (null is ignored).
///
/// # Safety
/// `error` must come from this API and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn kiln_error_delete(error: *mut KilnError) {
    if !error.is_null() {
        // SAFETY: caller's contract.
        drop(unsafe { Box::from_raw(error) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error's message, freed.
    fn message(error: *mut KilnError) -> String {
        // SAFETY: `error` came from `error()` and is freed once, here.
        let error = unsafe { Box::from_raw(error) };
        error.message.to_string_lossy().into_owned()
    }

    #[test]
    fn read_only_preopens_come_after_the_read_write_ones() {
        let root = std::env::temp_dir().join(format!("kiln-c-api-{}", std::process::id()));
        let (rw, ro) = (root.join("rw"), root.join("ro"));
        std::fs::create_dir_all(&rw).unwrap();
        std::fs::create_dir_all(&ro).unwrap();
        let c = |text: &str| CString::new(text).unwrap();
        let (rw_host, ro_host) = (c(rw.to_str().unwrap()), c(ro.to_str().unwrap()));
        let (rw_guest, ro_guest) = (c("/rw"), c("/ro"));
        let rw_hosts = [rw_host.as_ptr()];
        let rw_guests = [rw_guest.as_ptr()];
        let ro_hosts = [ro_host.as_ptr()];
        let ro_guests = [ro_guest.as_ptr()];
        let config = KilnWasiConfig {
            args: std::ptr::null(),
            n_args: 0,
            env: std::ptr::null(),
            n_env: 0,
            preopen_host_paths: rw_hosts.as_ptr(),
            preopen_guest_paths: rw_guests.as_ptr(),
            n_preopens: 1,
            read_only_host_paths: ro_hosts.as_ptr(),
            read_only_guest_paths: ro_guests.as_ptr(),
            n_read_only: 1,
        };
        // SAFETY: every pointer is valid for its count, the strings NUL-terminated.
        let ctx = unsafe { wasi_ctx(&config) }.unwrap_or_else(|e| panic!("{}", message(e)));
        let debug = format!("{ctx:?}");
        assert!(
            debug.contains(r#"preopens: [("/rw", true), ("/ro", false)]"#),
            "{debug}"
        );
        // A read-only directory that does not exist is an error naming it.
        let missing = c(root.join("missing").to_str().unwrap());
        let missing_hosts = [missing.as_ptr()];
        let config = KilnWasiConfig {
            n_preopens: 0,
            read_only_host_paths: missing_hosts.as_ptr(),
            ..config
        };
        // SAFETY: as above.
        let error = unsafe { wasi_ctx(&config) }.unwrap_err();
        let text = message(error);
        assert!(
            text.contains("missing") && text.contains("read-only"),
            "{text}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
