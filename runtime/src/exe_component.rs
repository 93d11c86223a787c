//! The entry of `kiln build` executables of components (feature `exe-main`): the image
//! `kiln build` links beside the core modules (`kiln_component`, layout in kiln-abi's
//! `symbols::COMPONENT_IMAGE`) holds the encoded plan and each module's descriptor, and a
//! pointer to [`kiln_component_main`], which `main` (`exe_main.rs`) calls when the image is
//! there. Nothing else refers to this file's code, so executables of core modules link
//! none of the component runtime or of WASI 0.2; and the image lists the WASI 0.2
//! functions the component imports, which are the only ones its executable links.

use crate::component::LinkedComponent;
use crate::wasi::p2::HostFunction;
use kiln_abi::symbols::COMPONENT_IMAGE_HEADER_WORDS;
use std::ffi::{c_char, c_int};

/// Runs the component of `image` as a WASI 0.2 command with the process's arguments and
/// the baked grants, then exits the process with its code.
///
/// # Safety
/// Called by `main` with the C runtime's arguments and the linked `kiln_component` image,
/// whose pointers the system linker relocated.
#[no_mangle]
pub unsafe extern "C" fn kiln_component_main(
    argc: c_int,
    argv: *const *const c_char,
    image: *const u64,
) -> c_int {
    // SAFETY: main's contract.
    let args = unsafe { crate::exe_main::process_args(argc, argv) };
    // SAFETY: the image is `kiln build`'s, linked into this executable (main's contract).
    let component = match unsafe { LinkedComponent::from_image(image) } {
        Ok(component) => component,
        Err(error) => {
            eprintln!("error: the executable's component: {error}");
            return 1;
        }
    };
    let (plan, modules) = component.into_parts();
    // SAFETY: past the header and one descriptor pointer per module come one pointer per
    // linked WASI 0.2 function (the count is the header's fifth word), in the same
    // read-only section, relocated by the linker.
    let catalog = unsafe {
        let functions = usize::try_from(image.add(4).read()).unwrap_or(0);
        let first = image.add(COMPONENT_IMAGE_HEADER_WORDS + modules.len());
        std::slice::from_raw_parts(first.cast::<&'static HostFunction>(), functions)
    };
    let Some((grants, ctx)) = crate::exe_main::baked_context(args) else {
        return 1;
    };
    crate::command::exit_with_component(plan, &modules, ctx, &grants.limits, catalog)
}
