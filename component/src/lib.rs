//! kiln's front end for WebAssembly components (issue 19): recognise a component, validate
//! it, flatten its instance graph into a [`ComponentPlan`] with the core modules to compile,
//! and print its world for `kiln inspect`.
//!
//! Only the compiler side links this crate (the CLI, through it wasmtime-environ and
//! wit-component); the runtime and the executables read the plan through `kiln-abi` alone.
//! See ARCHITECTURE.md, "Components".
//!
//! ```no_run
//! let bytes = std::fs::read("hello.wasm").unwrap();
//! if kiln_component::is_component(&bytes) {
//!     let translation = kiln_component::translate(&bytes).unwrap();
//!     for import in &translation.plan.imports {
//!         println!("{}", import.name);
//!     }
//! }
//! ```

mod error;
mod object;
mod translate;
mod wit;

pub use error::{ComponentError, Result};
pub use kiln_abi::component::ComponentPlan;
pub use object::{
    compile_object, describe, fixed_memory_module, image_symbol, link_object, module_options,
    module_prefix, ExecutableEntry,
};
pub use translate::{translate, Translation};
pub use wit::world;

/// Whether `bytes` start with a component's header: the wasm magic, then version 0x0d and
/// layer 1 (a core module has version 1, layer 0).
pub fn is_component(bytes: &[u8]) -> bool {
    matches!(bytes, [0x00, b'a', b's', b'm', _, _, 0x01, 0x00, ..])
        && u16::from_le_bytes([bytes[4], bytes[5]]) != 1
}

/// The features components are validated with: kiln's core-module features
/// (`kiln_compiler::DEFAULT_FEATURES`) plus the component model itself, without its async
/// and threading extensions, which kiln does not implement.
pub fn features() -> wasmparser::WasmFeatures {
    kiln_compiler::DEFAULT_FEATURES.union(wasmparser::WasmFeatures::COMPONENT_MODEL)
}

/// Validates a whole component with wasmparser; errors carry the byte offset.
pub fn validate(bytes: &[u8]) -> Result<()> {
    wasmparser::Validator::new_with_features(features()).validate_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_field_tells_components_from_modules() {
        assert!(is_component(b"\0asm\x0d\0\x01\0"));
        assert!(!is_component(b"\0asm\x01\0\0\0"));
        assert!(!is_component(b"\0asm\x0d\0"));
        assert!(!is_component(b"not wasm"));
    }
}
