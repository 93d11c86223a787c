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

extern "C" {
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
    let args = (0..usize::try_from(argc).unwrap_or(0))
        .map(|index| {
            // SAFETY: the C runtime passes `argc` NUL-terminated strings.
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
        .collect();
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
    let Some(grants) = baked_grants() else {
        eprintln!("error: the executable's WASI grants are malformed");
        return 1;
    };
    if grants.inherit_env && !crate::wasi::inherited_env_linked() {
        eprintln!("error: the executable inherits the environment, but was linked without the code that reads it: link it with `kiln build`");
        return 1;
    }
    let ctx = match grants.ctx(args) {
        Ok(ctx) => ctx,
        Err(error) => {
            eprintln!("error: {error}");
            return 1;
        }
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
