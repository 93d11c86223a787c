//! kiln's ahead-of-time compiler: a validated WebAssembly module becomes a relocatable
//! native object (see ARCHITECTURE.md for the pipeline and the object's contents).
//!
//! ```no_run
//! let wasm = std::fs::read("module.wasm").unwrap();
//! let object = kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default()).unwrap();
//! std::fs::write("module.o", object).unwrap();
//! ```

mod abi;
mod code_layout;
mod error;
mod isa;
mod memory_image;
pub mod module_info;
mod object;
mod trampolines;
mod translate;
mod traps;

pub use error::CompileError;
pub use isa::{expand_native_features, OptLevel, SUPPORTED_TARGETS};
pub use kiln_abi::metadata::MemorySettings;
pub use target_lexicon::Triple;
pub use wasmparser::WasmFeatures;

use abi::{wasm_signature, ModuleEnv};
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use error::Result;
use kiln_abi::metadata::ExternKind;
use kiln_abi::symbols;
use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Default memory layout: a 4 GiB reservation plus a 2 GiB guard, no explicit checks.
pub const DEFAULT_MEMORY_SETTINGS: MemorySettings = MemorySettings {
    reservation: 1 << 32,
    guard_size: 1 << 31,
    bounds_checks: false,
};

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
    /// Called from the compiling threads after each function, with the number of functions
    /// compiled so far and the total (for progress bars on long compiles).
    pub progress: Option<Progress>,
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
            features: WasmFeatures::WASM2,
            parallel: true,
            target_features: Vec::new(),
            progress: None,
        }
    }
}

/// Validates a whole module with wasmparser.
pub fn validate(wasm: &[u8], features: WasmFeatures) -> Result<()> {
    wasmparser::Validator::new_with_features(features).validate_all(wasm)?;
    Ok(())
}

/// Validates and parses a module, without generating code (for `kiln inspect`).
pub fn inspect(wasm: &[u8], features: WasmFeatures) -> Result<module_info::ModuleInfo<'_>> {
    validate(wasm, features)?;
    module_info::parse(wasm, DEFAULT_MEMORY_SETTINGS)
}

/// Symbols of the defined functions: name-section names where unique, otherwise
/// `wasm_function_<index>`.
fn function_symbols(info: &module_info::ModuleInfo<'_>, prefix: &str) -> Vec<String> {
    let n_imported = info.n_imported_funcs();
    let mut taken: HashSet<String> = HashSet::new();
    taken.insert(symbols::prefixed(prefix, symbols::MODULE_DESCRIPTOR));
    for name in [symbols::METADATA, symbols::FUNCTIONS, symbols::TRAPS] {
        taken.insert(symbols::prefixed(prefix, name));
    }
    // The C library routines compiled code calls (`memmove`, `memset`, ...): a module's own
    // `memset` (wasi-libc has one) must not become the symbol those calls bind to.
    let libcall_name = default_libcall_names();
    for libcall in cranelift_codegen::ir::LibCall::all_libcalls() {
        taken.insert(libcall_name(*libcall));
    }
    (0..info.bodies.len() as u32)
        .map(|defined| {
            let index = n_imported + defined;
            let symbol = symbols::function_symbol(prefix, index, info.func_name(index));
            if taken.insert(symbol.clone()) {
                symbol
            } else {
                let symbol = symbols::function_symbol(prefix, index, "");
                taken.insert(symbol.clone());
                format!("{symbol}.{}", info.func_name(index))
            }
        })
        .collect()
}

/// Compiles a module to a relocatable object file for `options.target`.
pub fn compile(wasm: &[u8], options: &CompileOptions) -> Result<Vec<u8>> {
    validate(wasm, options.features)?;
    let mut info = module_info::parse(wasm, options.memory)?;
    let isa = isa::build_isa(&options.target, options.opt_level, &options.target_features)?;
    info.metadata.cpu_features = isa::enabled_cpu_features(&*isa);
    let builder = ObjectBuilder::new(
        isa.clone(),
        info.metadata.name.unwrap_or("wasm"),
        default_libcall_names(),
    )
    .map_err(|e| CompileError::Target(e.to_string()))?;
    let mut module = ObjectModule::new(builder);
    let declare_error = |e: cranelift_module::ModuleError| CompileError::Emit(e.to_string());

    let n_imported = info.n_imported_funcs();
    let mut func_ids = Vec::new();
    for (defined, symbol) in function_symbols(&info, &options.symbol_prefix)
        .iter()
        .enumerate()
    {
        let signature = wasm_signature(info.func_type(n_imported + defined as u32));
        func_ids.push(
            module
                .declare_function(symbol, Linkage::Local, &signature)
                .map_err(declare_error)?,
        );
    }
    let mut trampoline_ids = Vec::new();
    for (kind, symbol) in [
        (
            0,
            symbols::entry_trampoline_symbol as fn(&str, u32) -> String,
        ),
        (1, symbols::exit_trampoline_symbol),
    ] {
        for (type_index, ty) in info.metadata.types.iter().enumerate() {
            let func = if kind == 0 {
                trampolines::entry_trampoline(ty, isa.frontend_config(), Default::default())
            } else {
                trampolines::exit_trampoline(ty, isa.frontend_config(), Default::default())
            };
            let name = symbol(&options.symbol_prefix, type_index as u32);
            let id = module
                .declare_function(&name, Linkage::Local, &func.signature)
                .map_err(declare_error)?;
            trampoline_ids.push((id, func));
        }
    }

    let env = ModuleEnv::new(&info, func_ids.clone(), &*isa, options.memory);
    let done = AtomicUsize::new(0);
    let compile_function = |defined: usize| -> Result<object::CompiledCode> {
        let mut context = Context::new();
        let mut builder_context = FunctionBuilderContext::new();
        translate::translate_function(
            &env,
            defined as u32,
            &info.bodies[defined],
            &mut context.func,
            &mut builder_context,
        )?;
        let index = n_imported + defined as u32;
        let compiled = object::compile(
            &*isa,
            &mut context,
            func_ids[defined],
            index,
            info.func_name(index),
        );
        if let Some(Progress(report)) = &options.progress {
            report(done.fetch_add(1, Ordering::Relaxed) + 1, info.bodies.len());
        }
        compiled
    };
    let compile_trampoline =
        |(id, func): &(FuncId, cranelift_codegen::ir::Function)| -> Result<object::CompiledCode> {
            let mut context = Context::for_function(func.clone());
            context.func.name = object::user_name(*id);
            object::compile(&*isa, &mut context, *id, u32::MAX, "trampoline")
        };
    let (functions, trampolines): (Vec<_>, Vec<_>) = if options.parallel {
        rayon::join(
            || {
                (0..info.bodies.len())
                    .into_par_iter()
                    .map(compile_function)
                    .collect()
            },
            || trampoline_ids.par_iter().map(compile_trampoline).collect(),
        )
    } else {
        (
            (0..info.bodies.len()).map(compile_function).collect(),
            trampoline_ids.iter().map(compile_trampoline).collect(),
        )
    };
    let mut code = Vec::new();
    for (id, compiled) in func_ids.iter().zip(functions) {
        code.push((*id, compiled?));
    }
    for ((id, _), compiled) in trampoline_ids.iter().zip(trampolines) {
        code.push((*id, compiled?));
    }
    let memory_image = memory_image::build(&info.metadata).map(|(offset, image)| {
        info.metadata.memory_image_offset = Some(offset);
        image
    });
    // Entry points, as indices of `code`: the start function, then the exported functions.
    let layout_roots = info
        .metadata
        .start
        .into_iter()
        .chain(
            info.metadata
                .exports
                .iter()
                .filter(|export| export.kind == ExternKind::Func)
                .map(|export| export.index),
        )
        .filter_map(|index| index.checked_sub(n_imported))
        .map(|defined| defined as usize)
        .collect();
    let contents = object::ObjectContents {
        prefix: &options.symbol_prefix,
        layout_roots,
        n_functions: info.bodies.len() as u32,
        n_types: info.metadata.types.len() as u32,
        metadata: info.metadata.encode(),
        code,
        memory_image,
    };
    debug_assert_eq!(info.metadata.imported_count(ExternKind::Func), n_imported);
    object::finish(module, contents)
}
