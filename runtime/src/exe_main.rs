//! The C `main` of a `kiln build` executable (feature `exe-main`, enabled only for the
//! runtime archive): the compiled module is linked in as the `kiln_module` symbol, and
//! `main` runs it as a WASI command with the process's arguments, no environment
//! variables and inherited stdio.

use kiln_abi::descriptor::ModuleDescriptor;
use std::ffi::{c_char, c_int, CStr};

extern "C" {
    /// The module descriptor the compiler emitted, resolved by the system linker.
    static kiln_module: ModuleDescriptor;
}

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
    crate::run_command(&module, crate::wasi::WasiCtx::new().args(args))
}
