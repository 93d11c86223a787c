//! The entry of `kiln build` executables of components (feature `exe-main`): the image
//! `kiln build` links beside the core modules (`kiln_component`, layout in kiln-abi's
//! `symbols::COMPONENT_IMAGE`) holds the encoded plan and each module's descriptor, and a
//! pointer to [`kiln_component_main`], which `main` (`exe_main.rs`) calls when the image is
//! there. Nothing else refers to this file's code, so executables of core modules link
//! none of the component runtime or of WASI 0.2; and the image lists the WASI 0.2
//! functions the component imports, which are the only ones its executable links.

use crate::vm::module::Module;
use crate::wasi::p2::HostFunction;
use kiln_abi::component::ComponentPlan;
use kiln_abi::descriptor::ModuleDescriptor;
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
    // SAFETY: the image is `COMPONENT_IMAGE_HEADER_WORDS` words, then one descriptor
    // pointer per module (the count is its first word), then one pointer per linked WASI
    // 0.2 function (the count is its fifth word), in one read-only section, all relocated
    // by the linker; the plan pointer covers `plan_len` bytes of the same executable.
    let (plan, descriptors, catalog) = unsafe {
        let count = usize::try_from(image.read()).unwrap_or(0);
        let plan_len = usize::try_from(image.add(1).read()).unwrap_or(0);
        let plan_ptr = image.add(2).read() as usize as *const u8;
        let functions = usize::try_from(image.add(4).read()).unwrap_or(0);
        let plan = std::slice::from_raw_parts(plan_ptr, plan_len);
        let descriptors = image.add(COMPONENT_IMAGE_HEADER_WORDS);
        let catalog = std::slice::from_raw_parts(
            descriptors.add(count).cast::<&'static HostFunction>(),
            functions,
        );
        let descriptors =
            std::slice::from_raw_parts(descriptors.cast::<&'static ModuleDescriptor>(), count);
        (plan, descriptors, catalog)
    };
    let plan = match ComponentPlan::decode(plan) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("error: the executable's component plan: {error}");
            return 1;
        }
    };
    let mut modules = Vec::with_capacity(descriptors.len());
    for descriptor in descriptors {
        // SAFETY: each pointer is a compiled module's relocated descriptor, whose code is
        // part of this executable.
        match unsafe { Module::from_descriptor(descriptor) } {
            Ok(module) => modules.push(module),
            Err(error) => {
                eprintln!("error: {error}");
                return 1;
            }
        }
    }
    let Some((grants, ctx)) = crate::exe_main::baked_context(args) else {
        return 1;
    };
    crate::command::exit_with_component(plan, &modules, ctx, &grants.limits, catalog)
}
