//! kiln's ahead-of-time compiler: a validated WebAssembly module becomes a relocatable
//! native object (see ARCHITECTURE.md for the pipeline and the object's contents).
//!
//! ```no_run
//! let wasm = std::fs::read("module.wasm").unwrap();
//! let object = kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default()).unwrap();
//! std::fs::write("module.o", object).unwrap();
//! ```

mod abi;
mod commute;
mod devirt;
mod error;
mod fold;
mod inline;
mod isa;
mod memory_image;
pub mod module_info;
mod names;
mod object;
mod pipeline;
mod placement;
pub mod profile;
mod reachability;
mod relax;
mod throws;
mod trampolines;
mod translate;
mod traps;

pub use error::CompileError;
pub use isa::{expand_native_features, OptLevel, SUPPORTED_TARGETS};
pub use kiln_abi::metadata::MemorySettings;
pub use pipeline::compile;
pub use profile::{Profile, ProfileMismatch};
pub use target_lexicon::Triple;
pub use wasmparser::WasmFeatures;

use error::Result;

/// Default memory layout (`MemorySettings::DEFAULT`, shared with the runtime): a 4 GiB
/// reservation plus a 2 GiB guard, no explicit checks.
pub const DEFAULT_MEMORY_SETTINGS: MemorySettings = MemorySettings::DEFAULT;

/// The CPU features the code compiled with `options` needs (recorded in its metadata as
/// `cpu_features`, which the runtime checks before running it).
pub fn cpu_features(options: &CompileOptions) -> Result<Vec<&'static str>> {
    let isa = isa::build_isa(&options.target, options.opt_level, &options.target_features)?;
    Ok(isa::enabled_cpu_features(&*isa))
}

/// The features kiln accepts by default: Wasm 3.0 as wasmparser defines it, without the
/// threads proposal (shared memories and atomics are not part of Wasm 3.0), plus the legacy
/// exception instructions (`try`, `catch`, `delegate`, `rethrow`) that clang still emits.
/// GC types and instructions validate and are then refused with "unsupported: GC".
pub const DEFAULT_FEATURES: WasmFeatures = WasmFeatures::WASM3
    .difference(WasmFeatures::THREADS)
    .union(WasmFeatures::LEGACY_EXCEPTIONS);

/// How to compile a module.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// The target to generate code for.
    pub target: Triple,
    /// Cranelift's optimisation level.
    pub opt_level: OptLevel,
    /// Prefix of every symbol in the object, so several modules can share a binary.
    pub symbol_prefix: String,
    /// The linear-memory layout the code assumes.
    pub memory: MemorySettings,
    /// The WebAssembly features accepted by validation.
    pub features: WasmFeatures,
    /// Compile functions on all cores.
    pub parallel: bool,
    /// CPU features the generated code may use beyond the target's baseline (x86_64:
    /// x86-64-v2, i.e. SSE4.2 and POPCNT; aarch64: the base ISA). Names are Cranelift's ISA
    /// flags with or without their `has_` prefix: on x86_64 `avx`, `avx2` (implies `avx`),
    /// `fma`, `bmi1`, `bmi2`, `lzcnt`, `avx512f`, `avx512vl`, `avx512dq`, ...; on aarch64
    /// `lse`, `pauth`, ... `native` stands for every feature of the compiling machine's CPU
    /// (the target's architecture must be the host's). An unknown name is a
    /// `CompileError::Target`. Empty by default, so the code runs on every CPU of the
    /// target; the features used are recorded in the object, and the runtime refuses to
    /// load it on a CPU that lacks one.
    pub target_features: Vec<String>,
    /// How the relaxed SIMD operators are lowered: the target's fast forms (the default)
    /// or the spec's deterministic profile, which gives the same results on every target.
    pub relaxed_simd: RelaxedSimd,
    /// Called from the compiling threads after each function, with the number of functions
    /// compiled so far and the total (for progress bars on long compiles).
    pub progress: Option<Progress>,
    /// Meter fuel: every operator but `nop`, `drop`, `block`, `loop`, `end`, `else`,
    /// `return` and `unreachable` costs one unit, and code traps with "all fuel consumed"
    /// at a function entry or loop header once the store's fuel is spent. The count is the
    /// same on every target. Off by default: code compiled without it pays nothing.
    pub fuel: bool,
    /// Check for interruption at every function entry and loop header (one load and a
    /// compare of the store's epoch counter), so a time limit or an interrupt handle can
    /// stop the guest. Off by default.
    pub interruptible: bool,
    /// Inline direct calls to small functions and to functions called from one place
    /// (`inline.rs`): every function is translated first, then each compiled with its
    /// selected callees' bodies in place of the calls. A trap in inlined code is reported
    /// in the caller's frame, at the call.
    pub inline: bool,
    /// Compile calls to the imports of WASI's module names (preview 1's, and the `wasi:`
    /// interfaces) as calls that never throw (`throws.rs`): a call a handler covers is then
    /// a plain call, and so are the covered calls of every function that reaches only such
    /// imports. The runtime refuses to instantiate the module with a wasm function that may
    /// throw for one of them. On by default; off for the core modules of components, whose
    /// WASI imports are bound to other core instances (the preview 1 adapter, the shims of
    /// lowered imports) that the analysis cannot prove never to throw.
    pub nothrow_wasi_imports: bool,
    /// Devirtualize `call_indirect` through tables whose contents are fixed after
    /// instantiation (`devirt.rs`): a direct call for a constant index, and for a variable
    /// one a guarded direct call when the type has one function in the table, else a code
    /// table in read-only data in place of the null and signature checks. Results, traps,
    /// backtraces and fuel are those of the checked call. On by default.
    pub devirtualize: bool,
    /// Leave out the functions nothing can run (`reachability.rs`): those that no export,
    /// start function, element segment or `ref.func` reaches through direct calls. They
    /// keep their index, name and type; only their code is absent. On by default.
    pub drop_unused_functions: bool,
    /// Fold functions with the same type and the same body into one copy of code
    /// (`fold.rs`): a frame in the shared code is reported as the first function's. On by
    /// default; off under `profile_generate`, where every function counts its own entries.
    pub fold_identical_functions: bool,
    /// Compile for the module's first memory at [`kiln_abi::metadata::FIXED_MEMORY_ADDRESS`]
    /// (`kiln build`'s executables, which instantiate their module once): an access with a
    /// computed index adds the address as a constant displacement (`0x60000000(%rax)`),
    /// so the memory's base needs no register. Applies on x86_64 to a first memory the
    /// module defines, 32-bit, without explicit bounds checks; elsewhere it changes
    /// nothing. The metadata records it, and the runtime maps the memory there or refuses
    /// to instantiate (a second instance while the first lives). Off by default.
    pub fixed_memory_address: bool,
    /// Count function entries (`--profile-generate`, see `profile.rs`): each defined
    /// function increments its own counter in writable data when entered (a load, an add
    /// and a store; not atomic), and the metadata records the module's hash and
    /// `profile_file`, so that the runtime can write a profile. Off by default.
    pub profile_generate: bool,
    /// With `profile_generate`: the file an executable writes the profile to when it
    /// exits (`ProfileSettings::file`); `None` leaves writing it to the embedder.
    pub profile_file: Option<String>,
    /// Optimize with a profile (`--profile-use`): functions entered at least once are
    /// placed first and in call-graph order, the others packed after them
    /// (`placement.rs`); with `inline`, hot callees get a larger budget and functions never
    /// entered are neither inlined nor grown (`inline.rs`). It must have been recorded
    /// for the same module ([`Profile::check`]): `compile` refuses another module's.
    pub profile_use: Option<Profile>,
    /// Set by `compile` to the builtins the generated code calls (bit `Builtin as u32`
    /// each, `kiln_abi::builtins::Builtin`), so that `kiln build` links only those into an
    /// executable. `None` by default.
    pub builtins_used: Option<BuiltinsUsed>,
}

/// Where `compile` reports the builtins the generated code calls
/// ([`CompileOptions::builtins_used`]).
#[derive(Clone, Debug, Default)]
pub struct BuiltinsUsed(pub std::sync::Arc<std::sync::atomic::AtomicU32>);

impl BuiltinsUsed {
    /// The builtins reported, in table order.
    pub fn builtins(&self) -> Vec<kiln_abi::builtins::Builtin> {
        let used = self.0.load(std::sync::atomic::Ordering::Relaxed);
        kiln_abi::builtins::Builtin::ALL
            .iter()
            .copied()
            .filter(|&builtin| used & (1 << builtin as u32) != 0)
            .collect()
    }
}

/// How the relaxed SIMD operators of Wasm 3.0 are lowered (see ARCHITECTURE.md, "Relaxed
/// SIMD", and `translate/relaxed_simd.rs` for every operator).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RelaxedSimd {
    /// Each operator as the target does it natively, within the results the spec allows:
    /// edge cases (out-of-range indices and conversions, NaNs, signed zeros, rounding of
    /// multiply-add) may give different results on x86_64 and aarch64, and on x86_64 with
    /// and without the `fma` feature.
    #[default]
    Fast,
    /// The spec's deterministic profile: every operator gives its first allowed result
    /// (the non-relaxed equivalent; multiply-add unfused), the same on every target.
    Deterministic,
}

impl RelaxedSimd {
    /// The name the CLI uses.
    pub fn name(self) -> &'static str {
        match self {
            RelaxedSimd::Fast => "fast",
            RelaxedSimd::Deterministic => "deterministic",
        }
    }
}

/// A progress callback: `(functions compiled, total)`.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            target: Triple::host(),
            opt_level: OptLevel::Speed,
            symbol_prefix: String::new(),
            memory: DEFAULT_MEMORY_SETTINGS,
            features: DEFAULT_FEATURES,
            parallel: true,
            target_features: Vec::new(),
            relaxed_simd: RelaxedSimd::Fast,
            progress: None,
            fuel: false,
            interruptible: false,
            inline: false,
            nothrow_wasi_imports: true,
            devirtualize: true,
            drop_unused_functions: true,
            fold_identical_functions: true,
            fixed_memory_address: false,
            profile_generate: false,
            profile_file: None,
            profile_use: None,
            builtins_used: None,
        }
    }
}

/// Validates a whole module with wasmparser.
pub fn validate(wasm: &[u8], features: WasmFeatures) -> Result<()> {
    wasmparser::Validator::new_with_features(features)
        .validate_all(wasm)
        .map_err(|error| {
            // A component's header (version 0x0d, layer 1) is looked at only once
            // validation has failed, so core modules pay nothing for it.
            if wasm.get(4..8) == Some(&[0x0d, 0x00, 0x01, 0x00]) {
                return error::unsupported(
                    "a WebAssembly component where a core module is expected (the kiln \
                     command takes components; this compiler API compiles core modules)",
                    0,
                );
            }
            error.into()
        })?;
    Ok(())
}

/// Validates and parses a module, without generating code (for `kiln inspect`).
pub fn inspect(wasm: &[u8], features: WasmFeatures) -> Result<module_info::ModuleInfo<'_>> {
    validate(wasm, features)?;
    module_info::parse(wasm, DEFAULT_MEMORY_SETTINGS)
}
