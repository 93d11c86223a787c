//! Names in a kiln object file. Every name gets the module's symbol prefix (empty by
//! default), so several modules can live in one binary.

/// The module descriptor (`descriptor.rs`): the object's one global symbol. Written by the
/// compiler, read by the runtime (the executable's `main`, the loader, embedders).
pub const MODULE_DESCRIPTOR: &str = "kiln_module";
/// Encoded metadata (local). Written by the compiler, read through the descriptor.
pub const METADATA: &str = "kiln_metadata";
/// Function table (local). Written by the compiler, read through the descriptor.
pub const FUNCTIONS: &str = "kiln_functions";
/// Code tables: each code entry's trap and call-site tables (local). Written by the
/// compiler, read through the descriptor.
pub const CODE_TABLES: &str = "kiln_code_tables";
/// The first memory's initial contents (a local data symbol).
pub const MEMORY_IMAGE: &str = "kiln_memory_image";
/// The profile counters of code compiled to count (`profile.rs`; local, writable, zeroed).
/// Incremented by the compiled code, read by the runtime through the descriptor.
pub const PROFILE_COUNTERS: &str = "kiln_profile_counters";

/// A component's image (written by `kiln_component::link_object` for `kiln compile`,
/// `kiln build` and kiln-build, with their prefix in front; read by the executable's
/// `main` and by `LinkedComponent::from_image`), all little-endian u64 words or pointers:
/// the number of core modules, the length of the encoded plan, a pointer to the plan, a
/// pointer to [`COMPONENT_MAIN`] (null in an object for embedding), the number of WASI 0.2
/// functions linked (0 for embedding); then a pointer to each module's
/// `<prefix>kiln_module` descriptor in the plan's order; then a pointer to each linked WASI
/// 0.2 function (`kiln_wasip2_<fn>`, the ones the plan imports). Absent from executables
/// of core modules.
pub const COMPONENT_IMAGE: &str = "kiln_component";
/// The runtime's entry for components (`exe_component.rs`), reached only through the
/// image, so that executables of core modules link none of the component runtime.
pub const COMPONENT_MAIN: &str = "kiln_component_main";
/// Words of [`COMPONENT_IMAGE`] before its descriptor pointers.
pub const COMPONENT_IMAGE_HEADER_WORDS: usize = 5;

/// The ABI-version marker for `version` (see [`abi_version_symbol`]).
pub const ABI_VERSION_PREFIX: &str = "kiln_abi_version_";

/// The link-time ABI-version marker `kiln_abi_version_<version>`: a global data symbol the
/// runtime defines for its own [`crate::ABI_VERSION`] (`runtime/src/vm/module.rs`), and that
/// the bindings and C headers kiln-build generates for an object reference for the version
/// the object was compiled with. An object built by a kiln with another ABI version then
/// fails to link, with an undefined-symbol error naming the version it needs, instead of
/// running against a runtime that reads it differently.
pub fn abi_version_symbol(version: u32) -> String {
    format!("{ABI_VERSION_PREFIX}{version}")
}

/// The full name of a symbol for a module compiled with `prefix`.
pub fn prefixed(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}")
}

/// The local symbol of defined function `index`, named from the name section when it
/// has a name, so debuggers and profilers show it.
pub fn function_symbol(prefix: &str, index: u32, name: &str) -> String {
    if name.is_empty() {
        format!("{prefix}wasm_function_{index}")
    } else {
        format!("{prefix}{name}")
    }
}

/// The local symbol of the entry trampoline of type `index`.
pub fn entry_trampoline_symbol(prefix: &str, index: u32) -> String {
    format!("{prefix}kiln_entry_trampoline_{index}")
}

/// The local symbol of the exit trampoline of type `index`.
pub fn exit_trampoline_symbol(prefix: &str, index: u32) -> String {
    format!("{prefix}kiln_exit_trampoline_{index}")
}
