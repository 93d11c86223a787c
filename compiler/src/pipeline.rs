//! The compile pipeline, in the order it runs (see ARCHITECTURE.md's bird's-eye view):
//! validate the whole module, read it into a `ModuleInfo`, declare every function's
//! symbol, translate and compile the functions and trampolines (in parallel, one task
//! each), place the code (`placement.rs`), and write the object (`object.rs`).

use crate::abi::{defined_signature, ModuleEnv};
use crate::error::{CompileError, Result};
use crate::module_info::{self, ModuleInfo};
use crate::{
    devirt, fold, inline, isa, memory_image, names, object, placement, reachability, relax, throws,
    trampolines, translate,
};
use crate::{BuiltinsUsed, CompileOptions, Profile, Progress};
use cranelift_codegen::ir;
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::Context;
use cranelift_codegen::{Final, FinalizedMachExceptionHandler, MachSrcLoc};
use cranelift_control::ControlPlane;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{
    default_libcall_names, DataDescription, DataId, FuncId, Linkage, Module, ModuleReloc,
};
use cranelift_object::ObjectModule;
use kiln_abi::descriptor::memory_image_granule;
use kiln_abi::function_names::FunctionNames;
use kiln_abi::metadata::{DataMode, ExternKind, ProfileSettings};
use kiln_abi::packed::{self, Packed};
use kiln_abi::symbols;
use kiln_abi::trap::{CallSiteEntry, TrapEntry, NO_HANDLER, NO_WASM_OFFSET};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Compiles a module to a relocatable object file for `options.target`.
pub fn compile(wasm: &[u8], options: &CompileOptions) -> Result<Vec<u8>> {
    crate::validate(wasm, options.features)?;
    // The layout, rounded as the runtime maps it: bounds checks are left out by its sizes.
    let memory = options
        .memory
        .checked()
        .map_err(CompileError::InvalidOption)?;
    let mut info = module_info::parse(wasm, memory)?;
    if let Some(profile) = &options.profile_use {
        profile.check(wasm)?;
    }
    let isa = isa::build_isa(&options.target, options.opt_level, &options.target_features)?;
    info.metadata.cpu_features = isa::enabled_cpu_features(&*isa);
    info.metadata.fuel = options.fuel;
    info.metadata.interruptible = options.interruptible;
    info.metadata.fixed_memory_address = has_fixed_memory_address(&info, options)
        .then_some(kiln_abi::metadata::FIXED_MEMORY_ADDRESS);
    let throws = throws::analyse(&info, options.nothrow_wasi_imports)?;
    info.metadata.may_throw = throws.functions.clone();
    let reachable = reachability::analyse(&info, !options.drop_unused_functions, options.parallel)?;
    let mut module = object::new_module(isa.clone(), info.metadata.name.unwrap_or("wasm"))?;
    let folded = if options.fold_identical_functions && !options.profile_generate {
        fold::identical_functions(&info, &reachable)
    } else {
        vec![None; info.bodies.len()]
    };
    // Placement and inlining count a folded function's entries for the code that runs them.
    let profile = options
        .profile_use
        .as_ref()
        .map(|profile| fold::merged_profile(profile, &folded));
    let (func_ids, folded_symbols) = declare_functions(
        &mut module,
        &info,
        &reachable,
        &folded,
        &options.symbol_prefix,
    )?;
    let trampolines = declare_trampolines(&mut module, &info, &*isa, &options.symbol_prefix)?;
    let devirt = if options.devirtualize {
        let mut devirt = devirt::Devirt::analyze(&info, options.parallel)?;
        devirt.declare_code_tables(&mut module, &func_ids, &options.symbol_prefix)?;
        devirt
    } else {
        devirt::Devirt::default()
    };
    let profile_counters = if options.profile_generate {
        Some(declare_profile_counters(
            &mut module,
            info.bodies.len(),
            &options.symbol_prefix,
        )?)
    } else {
        None
    };
    let mut env = ModuleEnv::new(&info, func_ids, &*isa, memory);
    env.relaxed_simd = translate::RelaxedLowering::new(&*isa, options.relaxed_simd);
    env.profile_counters = profile_counters;
    env.throws = throws;
    env.devirt = devirt;
    let isas = Isas {
        main: &*isa,
        options,
        plain: OnceLock::new(),
    };
    let mut code = compile_code(
        &env,
        &isas,
        &trampolines,
        &folded,
        profile.as_ref(),
        options,
    )?;
    if let Some(BuiltinsUsed(used)) = &options.builtins_used {
        used.store(
            env.builtins_used.load(std::sync::atomic::Ordering::Relaxed),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    let text_order = placement::place(
        &info,
        &mut code,
        options.opt_level,
        isa.triple().architecture,
        profile.as_ref(),
    );
    let image_granule =
        memory_image_granule(isa.triple().architecture == target_lexicon::Architecture::X86_64)
            as u64;
    let memory_image = memory_image::build(&info.metadata, image_granule).map(|(offset, image)| {
        info.metadata.memory_image_offset = Some(offset);
        memory_image::leave_out_imaged_segments(&mut info.metadata);
        (image, image_granule)
    });
    debug_assert_eq!(
        info.metadata.imported_count(ExternKind::Func),
        info.n_imported_funcs()
    );
    object::write(
        module,
        object::ObjectContents {
            prefix: &options.symbol_prefix,
            n_functions: info.bodies.len() as u32,
            n_types: info.metadata.types.len() as u32,
            metadata: encode_metadata(&info, profile_settings(wasm, options)),
            code,
            folded: folded_symbols,
            text_order,
            memory_image,
            profile_counters: profile_counters.map(|id| (id, info.bodies.len())),
        },
    )
}

/// Whether the code gets its first memory at a fixed address
/// ([`CompileOptions::fixed_memory_address`]): asked for, on x86_64 (whose addressing modes
/// take the address as a displacement), and a memory the module defines, 32-bit, that
/// never moves (no explicit bounds checks).
fn has_fixed_memory_address(info: &ModuleInfo<'_>, options: &CompileOptions) -> bool {
    let metadata = &info.metadata;
    options.fixed_memory_address
        && options.target.architecture == target_lexicon::Architecture::X86_64
        && !metadata.memory_settings.bounds_checks
        && metadata.imported_count(ExternKind::Memory) == 0
        && metadata
            .memories
            .first()
            .is_some_and(|memory| !memory.memory64)
}

/// The metadata's bytes, with the function names demangled for backtraces and perf maps
/// (`names.rs`) in their compact encoding (`kiln_abi::function_names`); the function
/// symbols keep the raw names; and `profile`, how code that counts writes its profile.
///
/// Imported functions are left unnamed: backtraces and perf maps name only code of the
/// module's own functions (an imported function's frames are the host's), and the names
/// toolchains give imports are long (the Rust `files` program's 27 are
/// `__imported_wasi_snapshot_preview1_<function>`, about 1 KB).
///
/// The names and the active data segments are stored compressed where that saves enough
/// (`kiln_abi::packed`): the runtime unpacks a segment straight into linear memory at
/// instantiation, and the names the first time it names a function. Passive segments stay
/// as they are, for `memory.init` to copy from.
fn encode_metadata(info: &ModuleInfo<'_>, profile: Option<ProfileSettings<'_>>) -> Vec<u8> {
    let n_imported = info.metadata.imported_count(ExternKind::Func) as usize;
    let demangled: Vec<Cow<'_, str>> = info
        .function_names
        .iter()
        .enumerate()
        .map(|(func_index, name)| {
            if func_index < n_imported {
                Cow::Borrowed("")
            } else {
                names::demangle(name)
            }
        })
        .collect();
    let demangled: Vec<&str> = demangled.iter().map(|name| name.as_ref()).collect();
    let names = FunctionNames::encode(&demangled);
    let packed_names = packed::compress(&names);
    let packed_data: Vec<Option<Vec<u8>>> = info
        .metadata
        .data
        .iter()
        .map(|segment| match (&segment.mode, segment.bytes.as_plain()) {
            (DataMode::Active { .. }, Some(bytes)) => packed::compress(bytes),
            _ => None,
        })
        .collect();
    let mut metadata = info.metadata.clone();
    metadata.function_names = pack(&names, &packed_names);
    for (segment, packed) in metadata.data.iter_mut().zip(&packed_data) {
        if let Some(plain) = segment.bytes.as_plain() {
            segment.bytes = pack(plain, packed);
        }
    }
    let profile = profile.map(|settings| settings.encode());
    metadata.profile = profile.as_deref();
    metadata.encode()
}

/// `plain` as the metadata stores it: `packed`, its compression, when there is one.
fn pack<'a>(plain: &'a [u8], packed: &'a Option<Vec<u8>>) -> Packed<'a> {
    match (packed, u32::try_from(plain.len())) {
        (Some(bytes), Ok(len)) => Packed {
            unpacked_len: len,
            bytes,
        },
        _ => Packed::plain(plain),
    }
}

/// What the metadata of code compiled with `options` says about writing profiles: with
/// `profile_generate`, the hash of `wasm` and the file.
fn profile_settings<'a>(wasm: &[u8], options: &'a CompileOptions) -> Option<ProfileSettings<'a>> {
    options.profile_generate.then(|| ProfileSettings {
        module_sha256: crate::profile::module_sha256(wasm),
        file: options.profile_file.as_deref(),
    })
}

/// Declares and defines the entry counters of `n_defined` functions (`--profile-generate`):
/// zeroed, writable, local data that each function's prologue increments its word of
/// (`ModuleEnv::count_entry`) and the descriptor points to.
fn declare_profile_counters(
    module: &mut ObjectModule,
    n_defined: usize,
    prefix: &str,
) -> Result<DataId> {
    let id = module
        .declare_data(
            &symbols::prefixed(prefix, symbols::PROFILE_COUNTERS),
            Linkage::Local,
            true,
            false,
        )
        .map_err(object::emit_error)?;
    let size = n_defined
        .checked_mul(kiln_abi::profile::COUNTER_SIZE)
        .ok_or_else(|| CompileError::Limit("too many functions to count".into()))?;
    let mut description = DataDescription::new();
    // Never empty: an object needs the symbol even for a module without functions.
    description.define_zeroinit(size.max(kiln_abi::profile::COUNTER_SIZE));
    description.set_align(kiln_abi::profile::COUNTER_SIZE as u64);
    module
        .define_data(id, &description)
        .map_err(object::emit_error)?;
    Ok(id)
}

/// One function's machine code, from Cranelift to the object.
pub struct CompiledCode {
    /// Padding (never executed, see `placement.rs`), then the machine code from `entry` on.
    pub bytes: Vec<u8>,
    /// Offset of the function's first instruction in `bytes`.
    pub entry: u32,
    /// Required alignment of `bytes`: the code's own, raised to a cache line by placement.
    pub alignment: u64,
    /// Relocations, relative to the start of `bytes`.
    pub relocs: Vec<ModuleReloc>,
    /// Trap sites, relative to the entry, sorted by offset.
    pub traps: Vec<TrapEntry>,
    /// Call sites (return addresses), relative to the entry, sorted by offset.
    pub call_sites: Vec<CallSiteEntry>,
    /// Offsets of the machine code's blocks, when Cranelift records them (for placement).
    pub block_starts: Vec<u32>,
    /// Branches between those blocks, `(from, to)` (for placement).
    pub block_edges: Vec<(u32, u32)>,
}

/// Declares the `reachable` defined functions in `module`, in index order, and returns
/// their ids by defined index (`None` for a function left out: it has no symbol; a folded
/// function has the id of the function it is folded into, `fold.rs`) and the folded
/// functions with their symbols.
fn declare_functions(
    module: &mut ObjectModule,
    info: &ModuleInfo<'_>,
    reachable: &[bool],
    folded: &[Option<u32>],
    prefix: &str,
) -> Result<(Vec<Option<FuncId>>, Vec<object::Folded>)> {
    let n_imported = info.n_imported_funcs();
    let mut func_ids: Vec<Option<FuncId>> = Vec::new();
    let mut folded_symbols = Vec::new();
    for (defined, symbol) in function_symbols(info, prefix).into_iter().enumerate() {
        if !reachable[defined] {
            func_ids.push(None);
            continue;
        }
        if let Some(into) = folded[defined] {
            // Folded into an earlier function, declared by now.
            func_ids.push(func_ids[into as usize]);
            folded_symbols.push(object::Folded {
                entry: defined,
                into: into as usize,
                symbol,
            });
            continue;
        }
        let signature = defined_signature(info.func_type(n_imported + defined as u32));
        func_ids.push(Some(
            module
                .declare_function(&symbol, Linkage::Local, &signature)
                .map_err(object::emit_error)?,
        ));
    }
    Ok((func_ids, folded_symbols))
}

/// Symbols of the defined functions: name-section names where unique, otherwise
/// `wasm_function_<index>`.
fn function_symbols(info: &ModuleInfo<'_>, prefix: &str) -> Vec<String> {
    let n_imported = info.n_imported_funcs();
    let mut taken: HashSet<String> = HashSet::new();
    taken.insert(symbols::prefixed(prefix, symbols::MODULE_DESCRIPTOR));
    for name in [symbols::METADATA, symbols::FUNCTIONS, symbols::CODE_TABLES] {
        taken.insert(symbols::prefixed(prefix, name));
    }
    // The code tables of `devirt.rs`.
    for table in 0..info.metadata.tables.len() as u32 {
        taken.insert(devirt::code_table_symbol(prefix, table));
    }
    // The C library routines compiled code calls (`memmove`, `memset`, ...): a module's own
    // `memset` (wasi-libc has one) must not become the symbol those calls bind to.
    let libcall_name = default_libcall_names();
    for libcall in ir::LibCall::all_libcalls() {
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

/// Builds and declares the trampolines of every type: the entry trampolines in type order,
/// then the exit trampolines.
fn declare_trampolines(
    module: &mut ObjectModule,
    info: &ModuleInfo<'_>,
    isa: &dyn TargetIsa,
    prefix: &str,
) -> Result<Vec<(FuncId, ir::Function)>> {
    let mut trampolines = Vec::new();
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
            let name = symbol(prefix, type_index as u32);
            let id = module
                .declare_function(&name, Linkage::Local, &func.signature)
                .map_err(object::emit_error)?;
            trampolines.push((id, func));
        }
    }
    Ok(trampolines)
}

/// Functions whose blocks and jump-table entries (each entry may become an edge block of
/// the machine code) number more than this are compiled without the machine-code CFG
/// information that loop alignment needs (`placement.rs`): Cranelift records it in time
/// quadratic in the number of machine blocks (removing each empty edge block rescans the
/// earlier ones), so a `br_table` of a million targets took minutes. Such functions are
/// not the hot loops alignment is for; they only lose the padding.
const MAX_BLOCKS_FOR_LOOP_ALIGNMENT: usize = 4096;

/// The ISA functions compile for, and, when it records CFG information, the same without
/// it for very large functions: built the first time such a function comes, so that other
/// modules do not pay for it.
struct Isas<'a> {
    main: &'a dyn TargetIsa,
    options: &'a CompileOptions,
    plain: OnceLock<OwnedTargetIsa>,
}

impl Isas<'_> {
    /// The ISA to compile `func` for.
    fn for_function(&self, func: &ir::Function) -> Result<&dyn TargetIsa> {
        if !self.main.flags().machine_code_cfg_info() {
            return Ok(self.main);
        }
        let jump_table_entries: usize = func
            .dfg
            .jump_tables
            .values()
            .map(|table| table.all_branches().len())
            .sum();
        let blocks = func.layout.blocks().count();
        if blocks.saturating_add(jump_table_entries) <= MAX_BLOCKS_FOR_LOOP_ALIGNMENT {
            return Ok(self.main);
        }
        let plain = match self.plain.get() {
            Some(plain) => plain,
            None => {
                // Two threads may both build it; the first one stored is kept.
                let options = self.options;
                let built = isa::build_isa_without_cfg_info(
                    &options.target,
                    options.opt_level,
                    &options.target_features,
                )?;
                self.plain.get_or_init(|| built)
            }
        };
        Ok(&**plain)
    }
}

/// Every code entry in descriptor order (the defined functions, then the trampolines),
/// with its id and code; `None` for a function left out (`reachability.rs`).
pub type CodeEntries = Vec<Option<(FuncId, CompiledCode)>>;

/// Translates and compiles every reachable defined function not `folded` into another
/// and every trampoline, on all cores when `options.parallel`; returns every code entry in
/// descriptor order (`None` for a function left out or folded). With
/// `options.inline`, every function is translated before any is compiled, so that callers
/// can take their callees' bodies (`inline.rs`), guided by `profile` when there is one.
fn compile_code(
    env: &ModuleEnv<'_>,
    isas: &Isas<'_>,
    trampolines: &[(FuncId, ir::Function)],
    folded: &[Option<u32>],
    profile: Option<&Profile>,
    options: &CompileOptions,
) -> Result<CodeEntries> {
    let isa = isas.main;
    let info = env.info;
    let n_functions = info.bodies.len();
    let compiled_here =
        |defined: usize| env.func_ids[defined].is_some() && folded[defined].is_none();
    let n_compiled = (0..n_functions)
        .filter(|&defined| compiled_here(defined))
        .count();
    let done = AtomicUsize::new(0);
    let translate_function = |defined: usize| -> Result<ir::Function> {
        let mut func = ir::Function::new();
        if !compiled_here(defined) {
            // Left out or folded: every call names another function's id (or none), so
            // nothing inlines this empty stand-in either.
            return Ok(func);
        }
        let mut builder_context = FunctionBuilderContext::new();
        translate::translate_function(
            env,
            defined as u32,
            &info.bodies[defined],
            &mut func,
            &mut builder_context,
        )?;
        Ok(func)
    };
    let codegen_function = |defined: usize, mut context: Context| -> Result<CompiledCode> {
        let index = env.n_imported_funcs() + defined as u32;
        let compiled = codegen_wasm_function(
            isas.for_function(&context.func)?,
            &mut context,
            env.func_id(defined),
            index,
            info.func_name(index),
        );
        if let Some(Progress(report)) = &options.progress {
            report(done.fetch_add(1, Ordering::Relaxed) + 1, n_compiled);
        }
        compiled
    };
    let compile_trampoline = |(id, func): &(FuncId, ir::Function)| -> Result<CompiledCode> {
        let mut context = Context::for_function(func.clone());
        context.func.name = user_name(*id);
        codegen(isa, &mut context, *id, u32::MAX, "trampoline")
    };
    let compile_functions = || -> Vec<Result<Option<CompiledCode>>> {
        if options.inline {
            let translated: Vec<Result<ir::Function>> =
                map_indices(options.parallel, n_functions, translate_function);
            let mut functions = Vec::with_capacity(n_functions);
            for func in translated {
                match func {
                    Ok(func) => functions.push(func),
                    Err(error) => return vec![Err(error)],
                }
            }
            let n_imported = env.n_imported_funcs() as usize;
            let plan = inline::InlinePlan::new(
                &functions,
                &env.func_ids,
                &env.throws.functions[n_imported..],
                profile,
            );
            map_indices(options.parallel, n_functions, |defined| {
                if !compiled_here(defined) {
                    return Ok(None);
                }
                let mut context = Context::for_function(functions[defined].clone());
                let index = env.n_imported_funcs() + defined as u32;
                // As in `codegen`, a failed assertion of Cranelift's is an error naming the
                // function, never a crash.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    inline::inline_calls(&mut context, defined, &plan, &functions)
                        .map_err(|error| format!("{error:?}"))
                }));
                let message = match outcome {
                    Ok(Ok(_)) => None,
                    Ok(Err(message)) => Some(message),
                    Err(panic) => Some(format!(
                        "internal compiler error: {}",
                        panic_message(panic.as_ref())
                    )),
                };
                if let Some(message) = message {
                    return Err(CompileError::Codegen {
                        func_index: index,
                        name: info.func_name(index).to_string(),
                        message: format!("inlining: {message}"),
                    });
                }
                codegen_function(defined, context).map(Some)
            })
        } else {
            map_indices(options.parallel, n_functions, |defined| {
                if !compiled_here(defined) {
                    return Ok(None);
                }
                let context = Context::for_function(translate_function(defined)?);
                codegen_function(defined, context).map(Some)
            })
        }
    };
    let (functions, trampoline_code): (Vec<_>, Vec<_>) = if options.parallel {
        rayon::join(compile_functions, || {
            trampolines.par_iter().map(compile_trampoline).collect()
        })
    } else {
        (
            compile_functions(),
            trampolines.iter().map(compile_trampoline).collect(),
        )
    };
    let mut code = Vec::new();
    for (id, compiled) in env.func_ids.iter().zip(functions) {
        code.push(id.zip(compiled?));
    }
    for ((id, _), compiled) in trampolines.iter().zip(trampoline_code) {
        code.push(Some((*id, compiled?)));
    }
    Ok(code)
}

/// `work` of every index below `n`, in order; on all cores when `parallel`.
fn map_indices<T: Send>(
    parallel: bool,
    n: usize,
    work: impl Fn(usize) -> T + Send + Sync,
) -> Vec<T> {
    if parallel {
        (0..n).into_par_iter().map(work).collect()
    } else {
        (0..n).map(work).collect()
    }
}

/// The frame of a function that calls nothing may take this many bytes and go without
/// the prologue's stack-limit check: with the return address and frame pointer its caller
/// pushed, it stays within the stack the runtime keeps usable below the limit.
const UNCHECKED_FRAME_BYTES: u32 = kiln_abi::vmctx::UNCHECKED_STACK_BYTES as u32 - 16;

/// Compiles wasm function `context.func` (translated with its stack-limit check) to
/// machine code, without the check when it is a leaf whose frame fits in
/// [`UNCHECKED_FRAME_BYTES`]. Cranelift leaves the check out of leaves without a frame
/// only; a leaf that saves callee-saved registers or spills paid two loads, an add, a
/// compare and a branch per call for a frame of a few dozen bytes (benches/README.md,
/// "What stack checks cost"). Whether the machine code calls anything and how large its
/// frame is are known only once compiled, so a function without call instructions is
/// compiled without the check first, and again with it when the code makes a call
/// (a libcall Cranelift chose) or its frame is larger.
fn codegen_wasm_function(
    isa: &dyn TargetIsa,
    context: &mut Context,
    func_id: FuncId,
    func_index: u32,
    name: &str,
) -> Result<CompiledCode> {
    if isa.triple().architecture == target_lexicon::Architecture::X86_64 {
        crate::commute::order_operands(&mut context.func);
    }
    let calls_nothing = || {
        let func = &context.func;
        func.layout
            .blocks()
            .flat_map(|block| func.layout.block_insts(block))
            .all(|inst| !func.dfg.insts[inst].opcode().is_call())
    };
    if context.func.stack_limit.is_some() && calls_nothing() {
        let checked = context.func.clone();
        context.func.stack_limit = None;
        let compiled = codegen(isa, context, func_id, func_index, name)?;
        let buffer = &context
            .compiled_code()
            .expect("the function was just compiled")
            .buffer;
        // Every call Cranelift emits, tail calls and libcalls included, is a call site.
        let leaf = buffer.call_sites().next().is_none();
        let frame = buffer
            .frame_layout()
            .map_or(u32::MAX, |layout| layout.frame_to_fp_offset);
        if leaf && frame <= UNCHECKED_FRAME_BYTES {
            return Ok(compiled);
        }
        *context = Context::for_function(checked);
    }
    codegen(isa, context, func_id, func_index, name)
}

/// Compiles `func` (already translated into `context.func`) to machine code.
fn codegen(
    isa: &dyn TargetIsa,
    context: &mut Context,
    func_id: FuncId,
    func_index: u32,
    name: &str,
) -> Result<CompiledCode> {
    let codegen_error = |message: String| CompileError::Codegen {
        func_index,
        name: name.to_string(),
        message,
    };
    // A Cranelift assertion that fails is a compiler bug too: reported as an error that
    // names the function, never a crash of the process that compiles.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        context
            .compile(isa, &mut ControlPlane::default())
            .map(|_| ())
            .map_err(|e| format!("{:?}", e.inner))
    }));
    match outcome {
        Ok(result) => result.map_err(codegen_error)?,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            return Err(codegen_error(format!("internal compiler error: {message}")));
        }
    }
    let compiled = context
        .compiled_code()
        .expect("the function was just compiled");
    let relocs = compiled
        .buffer
        .relocs()
        .iter()
        .map(|reloc| ModuleReloc::from_mach_reloc(reloc, &context.func, func_id))
        .collect();
    let wasm_offset = wasm_offsets(
        compiled.buffer.get_srclocs_sorted(),
        context.func.params.base_srcloc(),
    );
    let mut traps = Vec::new();
    for trap in compiled.buffer.traps() {
        let code = crate::traps::abi_trap_code(trap.code).ok_or_else(|| CompileError::Codegen {
            func_index,
            name: name.to_string(),
            message: format!("unexpected trap code {}", trap.code),
        })?;
        traps.push(TrapEntry {
            code_offset: trap.offset,
            wasm_offset: wasm_offset(trap.offset),
            trap_code: code as u8,
        });
    }
    traps.sort_by_key(|t| t.code_offset);
    // A return address follows its call: the call's last byte has the call's location.
    // Cranelift records a tail call's jump as a call site too, but nothing returns there:
    // its frame is gone (a backtrace never holds that address), so it gets no entry. The
    // translator marks tail calls with their own source location for this.
    let mut call_sites: Vec<CallSiteEntry> = compiled
        .buffer
        .call_sites()
        .map(|call_site| {
            // kiln's try_calls have one `default` handler (translate/exceptions.rs).
            let handler = call_site
                .exception_handlers
                .iter()
                .find_map(|handler| match handler {
                    FinalizedMachExceptionHandler::Default(offset) => Some(*offset),
                    _ => None,
                });
            CallSiteEntry {
                return_offset: call_site.ret_addr,
                wasm_offset: wasm_offset(call_site.ret_addr.saturating_sub(1)),
                handler_offset: handler.unwrap_or(NO_HANDLER),
                frame_offset: handler.and(call_site.frame_offset).unwrap_or(0),
            }
        })
        .filter(|entry| entry.wasm_offset != translate::TAIL_CALL_LOCATION)
        .collect();
    call_sites.sort_by_key(|c| c.return_offset);
    let mut code = CompiledCode {
        bytes: compiled.code_buffer().to_vec(),
        entry: 0,
        alignment: u64::from(compiled.buffer.alignment),
        relocs,
        traps,
        call_sites,
        block_starts: compiled.bb_starts.clone(),
        block_edges: compiled.bb_edges.clone(),
    };
    if isa.triple().architecture == target_lexicon::Architecture::X86_64 {
        // Loops start cache lines at `speed` only (`placement.rs`).
        let spread_loops = isa.flags().opt_level() == cranelift_codegen::settings::OptLevel::Speed;
        relax::shorten_branches(&mut code, spread_loops);
    }
    Ok(code)
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// The wasm offset of the instruction at a code offset, from Cranelift's source locations
/// (the translator sets each operator's module offset, `translate/mod.rs`); code without
/// one, the prologue's stack-limit check, gets the function's offset (`function_start`,
/// the first location set), and a trampoline, which has none at all, [`NO_WASM_OFFSET`].
fn wasm_offsets<'a>(
    srclocs: &'a [MachSrcLoc<Final>],
    function_start: ir::SourceLoc,
) -> impl Fn(u32) -> u32 + 'a {
    let bits = |loc: ir::SourceLoc| {
        if loc.is_default() {
            NO_WASM_OFFSET
        } else {
            loc.bits()
        }
    };
    let fallback = bits(function_start);
    move |code_offset| {
        // The last range starting at or before the offset, if it covers it.
        let after = srclocs.partition_point(|range| range.start <= code_offset);
        after
            .checked_sub(1)
            .map(|index| &srclocs[index])
            .filter(|range| code_offset < range.end && !range.loc.is_default())
            .map_or(fallback, |range| bits(range.loc))
    }
}

/// A function's user name for Cranelift, by its id.
fn user_name(func_id: FuncId) -> ir::UserFuncName {
    ir::UserFuncName::user(0, func_id.as_u32())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every defined function of `wat` compiled for the host, in index order.
    fn compiled_functions(wat: &str) -> Vec<CompiledCode> {
        compiled_functions_with(wat, false)
    }

    /// Every defined function of `wat` compiled for the host, in index order, with calls
    /// inlined or not.
    fn compiled_functions_with(wat: &str, inline: bool) -> Vec<CompiledCode> {
        compiled_functions_profiled(wat, inline, None)
    }

    /// As [`compiled_functions_with`], with a profile of these entry counts.
    fn compiled_functions_profiled(
        wat: &str,
        inline: bool,
        counts: Option<Vec<u64>>,
    ) -> Vec<CompiledCode> {
        let wasm = wat::parse_str(wat).unwrap();
        let options = CompileOptions {
            parallel: false,
            inline,
            profile_use: counts
                .map(|counts| crate::Profile::new(crate::profile::module_sha256(&wasm), counts)),
            ..CompileOptions::default()
        };
        let info = module_info::parse(&wasm, options.memory).unwrap();
        let isa = isa::build_isa(&options.target, options.opt_level, &[]).unwrap();
        let mut module = object::new_module(isa.clone(), "test").unwrap();
        // Every function, reachable or not, on its own: the tests look at each one's code.
        let reachable = vec![true; info.bodies.len()];
        let folded = vec![None; info.bodies.len()];
        let (func_ids, _) = declare_functions(&mut module, &info, &reachable, &folded, "").unwrap();
        let mut env = ModuleEnv::new(&info, func_ids, &*isa, options.memory);
        env.throws = throws::analyse(&info, options.nothrow_wasi_imports).unwrap();
        let isas = Isas {
            main: &*isa,
            options: &options,
            plain: OnceLock::new(),
        };
        compile_code(
            &env,
            &isas,
            &[],
            &folded,
            options.profile_use.as_ref(),
            &options,
        )
        .unwrap()
        .into_iter()
        .map(|entry| entry.expect("every function is compiled").1)
        .collect()
    }

    /// In the object, every function's innermost loop starts a cache line, and a function
    /// without one starts a line itself or, small, fills the padding in front of another
    /// within a line (x86_64 at `--opt-level speed`, the default), with less than a line of
    /// padding before each.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn innermost_loops_start_cache_lines_in_the_object() {
        use ::object::{Object as _, ObjectSection as _, ObjectSymbol as _};
        let counting_loop = |name: &str, extra: usize| {
            let work = "(local.set 1 (i32.add (local.get 1) (local.get 0)))".repeat(extra);
            format!(
                r#"(func ${name} (export "{name}") (param i32) (result i32) (local i32)
                     {work}
                     (loop $l
                       (local.set 1 (i32.add (local.get 1) (i32.const 3)))
                       (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                     (local.get 1))"#
            )
        };
        let plain = |name: &str| {
            format!(
                r#"(func ${name} (export "{name}") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 7)))"#
            )
        };
        let names = ["a", "b", "c", "d", "e", "f"];
        let wat = format!(
            "(module {} {} {} {} {} {})",
            counting_loop("a", 0),
            plain("b"),
            counting_loop("c", 3),
            counting_loop("d", 9),
            plain("e"),
            counting_loop("f", 1)
        );
        let headers: Vec<Option<u32>> = compiled_functions(&wat)
            .iter()
            .map(|code| placement::loop_header(&code.block_starts, &code.block_edges))
            .collect();
        let has_loop = [true, false, true, true, false, true];
        assert_eq!(
            headers.iter().map(Option::is_some).collect::<Vec<_>>(),
            has_loop
        );
        let object = compile(&wat::parse_str(&wat).unwrap(), &CompileOptions::default()).unwrap();
        let file = ::object::File::parse(&*object).unwrap();
        let text = file.section_by_name(".text").unwrap();
        assert_eq!(
            text.align(),
            64,
            "offsets in .text fall on lines where addresses do"
        );
        let mut filled = 0;
        for (name, header) in names.iter().zip(&headers) {
            let symbol = file.symbol_by_name(name).unwrap();
            let address = symbol.address();
            match header {
                Some(header) => assert_eq!((address + u64::from(*header)) % 64, 0, "{name}"),
                // A small function in the padding of another starts a 16-byte boundary
                // and stays within its line.
                None if address % 64 != 0 => {
                    filled += 1;
                    assert_eq!(address % 16, 0, "{name}");
                    assert_eq!(address / 64, (address + symbol.size() - 1) / 64, "{name}");
                }
                None => {}
            }
        }
        assert!(filled > 0, "the small functions fill padding");
        // Less than a line of padding before each function and trampoline.
        let code: Vec<u64> = file
            .symbols()
            .filter(|symbol| symbol.kind() == ::object::SymbolKind::Text)
            .map(|symbol| symbol.size())
            .collect();
        let code_bytes: u64 = code.iter().sum();
        assert!(
            text.size() < code_bytes + 64 * code.len() as u64,
            "{} bytes of .text for {code_bytes} bytes of code",
            text.size()
        );
    }

    /// Whether each function of `wat` checks the stack limit in its prologue: the check
    /// is the only `StackOverflow` trap site.
    fn stack_checks(wat: &str) -> Vec<bool> {
        compiled_functions(wat)
            .iter()
            .map(|code| {
                code.traps
                    .iter()
                    .any(|trap| trap.trap_code == kiln_abi::trap::TrapCode::StackOverflow as u8)
            })
            .collect()
    }

    #[test]
    fn leaf_functions_with_small_frames_skip_the_stack_check() {
        // `n` i64 values live at once: a frame of spill slots (and callee-saved
        // registers) of about 8 * n bytes, in a function that calls nothing.
        let live = |name: &str, n: usize| {
            let sets: String = (1..=n)
                .map(|i| {
                    format!(
                        "(local.set {i} (i64.mul (local.get 0) (i64.const {})))",
                        2 * i + 1
                    )
                })
                .collect();
            let xor = (2..=n).fold("(local.get 1)".to_string(), |acc, i| {
                format!("(i64.xor (i64.rotl {acc} (i64.const {i})) (local.get {i}))")
            });
            let sum = (1..n).rev().fold(format!("(local.get {n})"), |acc, i| {
                format!("(i64.add {acc} (local.get {i}))")
            });
            format!(
                "(func ${name} (param i64) (result i64) (local {}) {sets} (i64.mul {xor} {sum}))",
                "i64 ".repeat(n)
            )
        };
        let wat = format!(
            r#"(module
                 (func $no_frame (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
                 {}
                 {}
                 (func $calls (param i32) (result i32) (call $no_frame (local.get 0)))
                 (func $copies (param i32)
                   (memory.copy (local.get 0) (i32.const 0) (i32.const 16)))
                 (memory 1))"#,
            live("small_frame", 24),
            live("large_frame", 700),
        );
        // Cranelift checks no leaf without a frame; kiln none whose frame fits below the
        // limit; a leaf with a larger frame, and every function that calls (a wasm
        // function, or `memmove`), keeps its check.
        assert_eq!(stack_checks(&wat), [false, false, true, true, true]);
    }

    #[test]
    fn tail_calls_leave_no_call_site() {
        let functions = compiled_functions(
            r#"(module
                 (type $t (func (param i32) (result i32)))
                 (import "env" "imported" (func $imported (type $t)))
                 (table 1 funcref)
                 (func $callee (type $t) (local.get 0))
                 (func $calls (type $t)
                   (i32.add (call $callee (local.get 0)) (call $imported (local.get 0))))
                 (func $tail_direct (type $t) (return_call $callee (local.get 0)))
                 (func $tail_import (type $t) (return_call $imported (local.get 0)))
                 (func $tail_indirect (type $t)
                   (return_call_indirect (type $t) (local.get 0) (i32.const 0)))
                 (func $tail_ref (type $t)
                   (return_call_ref $t (local.get 0) (ref.func $callee)))
                 (type $open (sub (func (param i32) (result i32))))
                 (func $tail_open (type $t)
                   (return_call_indirect (type $open) (local.get 0) (local.get 0)))
                 (elem declare func $callee))"#,
        );
        let call_sites: Vec<usize> = functions.iter().map(|f| f.call_sites.len()).collect();
        // callee, calls, the four functions whose only call is a tail call, and one whose
        // tail call to a type that is not final has a real call beside it: the builtin that
        // checks subtypes.
        assert_eq!(call_sites, [0, 2, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn covered_calls_are_try_calls_only_where_the_callee_may_throw() {
        // `$quiet` is long and called twice: never inlined. `$mid` may throw (through
        // `$throws`) and calls only wasm functions: inlined at its covered call, where
        // Cranelift makes both its calls `try_call`s, and the one to `$quiet` is plain again.
        let long_body =
            "(i32.add (local.get 0) (i32.const 1))".repeat(30) + &"(i32.add)".repeat(29);
        let wat = format!(
            r#"(module
                 (tag $e)
                 (type $t (func (param i32) (result i32)))
                 (func $quiet (type $t) {long_body})
                 (func $throws (type $t) (if (local.get 0) (then (throw $e))) (local.get 0))
                 (func $mid (type $t) (call $quiet (call $throws (local.get 0))))
                 (func $caller (type $t)
                   (block $h
                     (try_table (catch $e $h)
                       (drop (call $quiet (local.get 0)))
                       (return (call $mid (local.get 0)))))
                   (call $quiet (i32.const 0))))"#
        );
        // Call sites of `$caller` with a landing pad, and without.
        let caller_sites = |inline: bool| -> (usize, usize) {
            let functions = compiled_functions_with(&wat, inline);
            let sites = &functions[3].call_sites;
            let covered = sites
                .iter()
                .filter(|site| site.handler_offset != NO_HANDLER)
                .count();
            (covered, sites.len() - covered)
        };
        // The call to `$mid` has a landing pad; those to `$quiet` do not, covered or not,
        // nor the handler's two builtin calls (release the exception caught before, throw
        // on what no clause takes).
        assert_eq!(caller_sites(false), (1, 4));
        // Inlined: the call to `$throws` has one, the three to `$quiet` none.
        assert_eq!(caller_sites(true), (1, 5));
    }

    #[test]
    fn a_profile_inlines_hot_callees_more_and_never_touches_cold_code() {
        // `$medium`, about 60 CLIF instructions, is called from two places: past the
        // small-callee size, so never inlined without a profile.
        let body = "(i32.add (local.get 0) (i32.const 1))".repeat(30) + &"(i32.add)".repeat(29);
        let wat = format!(
            r#"(module
                 (type $t (func (param i32) (result i32)))
                 (func $small (type $t) (i32.mul (local.get 0) (i32.const 3)))
                 (func $medium (type $t) {body})
                 (func $hot_caller (type $t)
                   (call $small (call $medium (call $medium (local.get 0)))))
                 (func $cold_caller (type $t) (call $small (local.get 0))))"#
        );
        let call_sites = |counts: Option<Vec<u64>>| -> Vec<usize> {
            compiled_functions_profiled(&wat, true, counts)
                .iter()
                .map(|f| f.call_sites.len())
                .collect()
        };
        // small, medium, hot_caller, cold_caller.
        assert_eq!(call_sites(None), [0, 0, 2, 0]);
        // `$medium` hot: inlined at both calls; `$cold_caller` never entered: not grown.
        assert_eq!(call_sites(Some(vec![5000, 5000, 2500, 0])), [0, 0, 0, 1]);
        // `$small` never entered (a profile of another input, say): never inlined, and
        // `$medium` below the hot share stays a call.
        assert_eq!(call_sites(Some(vec![0, 1, 1_000_000, 1])), [0, 0, 3, 1]);
    }

    #[test]
    fn inlining_replaces_direct_calls_to_small_and_single_site_functions_only() {
        // The body of a function called from one place: 30 additions, about 60 CLIF
        // instructions, past the small-callee size.
        let long_body =
            "(i32.add (local.get 0) (i32.const 1))".repeat(30) + &"(i32.add)".repeat(29);
        let wat = format!(
            r#"(module
                 (type $t (func (param i32) (result i32)))
                 (import "env" "imported" (func $imported (type $t)))
                 (table 1 funcref)
                 (func $small (type $t) (i32.mul (local.get 0) (i32.const 3)))
                 (func $once (type $t) {long_body})
                 (func $twice (type $t) {long_body})
                 (func $tail (type $t) (return_call $small (local.get 0)))
                 (func $recursive (type $t)
                   (if (result i32) (local.get 0)
                     (then (call $recursive (i32.sub (local.get 0) (i32.const 1))))
                     (else (i32.const 0))))
                 (func $caller (type $t)
                   (call $small (local.get 0))
                   (call $once)
                   (call $twice)
                   (call $twice)
                   (call $tail)
                   (call $imported)
                   (call_indirect (type $t) (i32.const 0)))
                 (elem declare func $small))"#
        );
        let call_sites = |inline: bool| -> Vec<usize> {
            compiled_functions_with(&wat, inline)
                .iter()
                .map(|f| f.call_sites.len())
                .collect()
        };
        // small, once, twice, tail, recursive, caller.
        assert_eq!(call_sites(false), [0, 0, 0, 0, 1, 7]);
        // `$caller` keeps the two calls of `$twice` (called twice, not small), the call of
        // `$tail` (it makes a tail call), the import and `call_indirect`; `$recursive`
        // keeps its call to itself.
        assert_eq!(call_sites(true), [0, 0, 0, 0, 1, 5]);
    }
}
