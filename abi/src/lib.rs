//! The contract between kiln-compiled code and the kiln runtime, defined once.
//!
//! Everything both sides must agree on lives here and nowhere else: the `#[repr(C)]`
//! structures compiled code reads and writes (`vmctx`), the trap codes, the builtin
//! (libcall) table, the symbol and section names of a kiln object, the module metadata
//! format, the profile format and the ABI version. The compiler and the runtime both depend on this crate;
//! neither depends on the other.

pub mod builtins;
pub mod component;
pub mod descriptor;
pub mod function_names;
pub mod leb128;
pub mod link;
pub mod metadata;
pub mod packed;
pub mod profile;
pub mod symbols;
pub mod trap;
pub mod vmctx;

pub use trap::TrapCode;

/// Version of the contract in this crate. Bumped on any change to a layout, a trap code, a
/// builtin signature, the metadata format or a symbol name. A runtime refuses (with both
/// version numbers in the message) to load an object whose version differs.
pub const ABI_VERSION: u32 = 18;

/// The x86_64 CPU features all kiln code may use (x86-64-v2), as Cranelift's ISA flag
/// names without `has_`: the compiler always enables them, and the runtime assumes them
/// rather than asking the CPU (see `ModuleMetadata::cpu_features`).
pub const X86_64_BASELINE_FEATURES: [&str; 5] = ["sse3", "ssse3", "sse41", "sse42", "popcnt"];

/// The import modules of WASI preview 1: `wasi_snapshot_preview1` and the older
/// `wasi_unstable`. The runtime defines every WASI function under both
/// (`kiln_runtime::wasi::MODULE_NAMES`); kiln-build reads them to tell a module that
/// imports WASI from one that imports host functions of its own.
pub const WASI_MODULE_NAMES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

/// Size of a WebAssembly page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;
