//! The C `main` of a `kiln build` executable (feature `exe-main`, enabled only for the
//! runtime archive): the compiled module is linked in as the `kiln_module` symbol, and
//! `main` runs it as a WASI command with the process's arguments, inherited stdio and
//! the WASI grants baked in by `kiln build` (`kiln_wasi_grants`, see `wasi/grants.rs`).
//! Nothing at run time widens those grants.

use kiln_abi::descriptor::ModuleDescriptor;
use std::ffi::{c_char, c_int, CStr};

// The default grants, none: a weak definition that the object `kiln build` links beside
// the module overrides. Layout: a u64 length followed by that many bytes.
std::arch::global_asm!(
    ".pushsection .rodata.kiln_wasi_grants,\"a\"",
    ".weak kiln_wasi_grants",
    ".p2align 3",
    "kiln_wasi_grants:",
    ".quad 0",
    ".popsection",
);

// No WASI table (see `wasi::IMPORTS_SYMBOL`): a weak definition whose count, u64::MAX,
// says that the executable was not linked by `kiln build`, whose object overrides it.
std::arch::global_asm!(
    ".pushsection .rodata.kiln_wasi_imports,\"a\"",
    ".weak kiln_wasi_imports",
    ".p2align 3",
    "kiln_wasi_imports:",
    ".quad -1",
    ".popsection",
);

// An executable of a component has no `kiln_module` (its modules' descriptors have their
// prefixes): a weak, zeroed stand-in that the module's own descriptor overrides, read only
// when no component image is linked.
std::arch::global_asm!(
    ".pushsection .rodata.kiln_module,\"a\"",
    ".weak kiln_module",
    ".p2align 3",
    "kiln_module:",
    ".zero {size}",
    ".popsection",
    size = const std::mem::size_of::<ModuleDescriptor>(),
);

// No component image (see `exe_component.rs`): a weak definition whose count, u64::MAX,
// says that the executable runs a core module; `kiln build`'s image overrides it.
std::arch::global_asm!(
    ".pushsection .rodata.kiln_component,\"a\"",
    ".weak kiln_component",
    ".p2align 3",
    "kiln_component:",
    ".quad -1",
    ".popsection",
);

extern "C" {
    /// The component image `kiln build` links beside a component's modules.
    static kiln_component: u64;
    /// The module descriptor the compiler emitted, resolved by the system linker.
    static kiln_module: ModuleDescriptor;
    /// The length of the encoded grants; the records follow it.
    static kiln_wasi_grants: u64;
    /// The number of WASI definitions linked beside the module; the pointers follow it.
    static kiln_wasi_imports: u64;
}

/// The WASI functions linked beside the module, or `None` for an executable that
/// `kiln build` did not link.
fn linked_wasi() -> Option<&'static [&'static crate::wasi::Definition]> {
    // SAFETY: `kiln_wasi_imports` is defined (weakly here, or by `kiln build`'s object) as
    // a u64 count followed, unless it is u64::MAX, by that many pointers to the runtime's
    // exported WASI definitions (relocated by the linker), in one read-only section.
    unsafe {
        let start = &raw const kiln_wasi_imports;
        let count = start.read();
        if count == u64::MAX {
            return None;
        }
        let count = usize::try_from(count).ok()?;
        Some(std::slice::from_raw_parts(
            start.add(1).cast::<&'static crate::wasi::Definition>(),
            count,
        ))
    }
}

/// The signature of the component entry (`exe_component::kiln_component_main`), which
/// `main` calls through the image (never by name: executables of core modules link none of
/// it).
type ComponentMain =
    unsafe extern "C" fn(argc: c_int, argv: *const *const c_char, image: *const u64) -> c_int;

/// The entry of the linked component and its image, or `None` in an executable of a core
/// module.
fn linked_component() -> Option<(ComponentMain, *const u64)> {
    // SAFETY: `kiln_component` is defined (weakly here, or by `kiln build`'s image) as a
    // u64 count, u64::MAX when absent, and otherwise followed by the plan's length and
    // pointer and the entry's pointer (relocated by the linker to `kiln_component_main`).
    unsafe {
        let image = &raw const kiln_component;
        if image.read() == u64::MAX {
            return None;
        }
        let entry = image.add(3).read() as usize as *const ();
        if entry.is_null() {
            return None;
        }
        let entry = std::mem::transmute::<*const (), ComponentMain>(entry);
        Some((entry, image))
    }
}

/// The process's arguments, as the C runtime passes them to `main`.
///
/// # Safety
/// `argv` must hold `argc` pointers, each null or a NUL-terminated string.
pub(crate) unsafe fn process_args(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    (0..usize::try_from(argc).unwrap_or(0))
        .map(|index| {
            // SAFETY: the caller's contract.
            let arg = unsafe { *argv.add(index) };
            if arg.is_null() {
                String::new()
            } else {
                // SAFETY: as above.
                unsafe { CStr::from_ptr(arg) }
                    .to_string_lossy()
                    .into_owned()
            }
        })
        .collect()
}

/// The grants baked into this executable and the WASI context they give a guest run with
/// `args`; `None` after reporting why there is none.
pub(crate) fn baked_context(
    args: Vec<String>,
) -> Option<(crate::wasi::Grants, crate::wasi::WasiCtx)> {
    let Some(grants) = baked_grants() else {
        eprintln!("error: the executable's WASI grants are malformed");
        return None;
    };
    if grants.inherit_env && !crate::wasi::inherited_env_linked() {
        eprintln!("error: the executable inherits the environment, but was linked without the code that reads it: link it with `kiln build`");
        return None;
    }
    match grants.ctx(args) {
        Ok(ctx) => Some((grants, ctx)),
        Err(error) => {
            eprintln!("error: {error}");
            None
        }
    }
}

/// The grants baked into this executable.
fn baked_grants() -> Option<crate::wasi::Grants> {
    // SAFETY: `kiln_wasi_grants` is defined (weakly here, or by `kiln build`'s object)
    // as a u64 length followed by that many bytes in the same read-only section.
    let records = unsafe {
        let start = &raw const kiln_wasi_grants;
        let len = usize::try_from(start.read()).ok()?;
        std::slice::from_raw_parts(start.add(1).cast::<u8>(), len)
    };
    crate::wasi::Grants::decode(records)
}

/// How much of the module's code an executable reads into the caches at start.
const WARM_CODE_BYTES: usize = 512 * 1024;

/// The executable's entry point.
///
/// # Safety
/// Called by the C runtime with the process's arguments.
#[no_mangle]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let (stack, size) = crate::startup_heap::signal_stack();
    // SAFETY: the start-up heap's signal stack is used by nothing else.
    unsafe { crate::vm::traps::set_executable_signal_stack(stack, size) };
    if let Some((entry, image)) = linked_component() {
        // SAFETY: the image's entry is `kiln_component_main`, called with main's arguments
        // and the image it was linked with.
        return unsafe { entry(argc, argv, image) };
    }
    // SAFETY: main's arguments, from the C runtime.
    let args = unsafe { process_args(argc, argv) };
    // SAFETY: the linker resolved `kiln_module` to the compiler's relocated descriptor,
    // whose code is part of this executable.
    let module = match unsafe { crate::Module::from_descriptor(&kiln_module) } {
        Ok(module) => module,
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
    };
    // The executable runs this one module: bring its code into the CPU caches before it
    // runs (see `CodeModule::warm`). Bounded, so a large module costs at most ~25 µs.
    module.warm_code(WARM_CODE_BYTES);
    let Some((grants, ctx)) = baked_context(args) else {
        return 1;
    };
    let imports_wasi = module
        .metadata()
        .imports
        .iter()
        .any(|import| crate::wasi::MODULE_NAMES.contains(&import.module));
    let definitions = match linked_wasi() {
        Some(definitions) => definitions,
        None if !imports_wasi => &[],
        None => {
            eprintln!("error: the module imports WASI functions, but this executable was linked without them: link it with `kiln build`");
            return 1;
        }
    };
    crate::command::exit_with(&module, &grants.limits, |linker, store| {
        crate::wasi::add_linked_to_linker(linker, store, ctx, &module, definitions);
        crate::bench::add_linked_to_linker(linker, store);
    })
}
