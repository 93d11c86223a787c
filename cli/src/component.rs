//! Components (WASI 0.2, issue 19) in the CLI: `kiln inspect` prints a component's world
//! and plan; `kiln run` compiles its core modules and runs it; `kiln build` links them
//! with the plan into an executable; `kiln compile` writes them and the plan as one
//! relocatable object (`kiln_component::link_object`).

use crate::emit::{BuildArgs, ScratchDir};
use crate::input::compile_file;
use anyhow::{Context, Result};
use kiln_abi::component::{ComponentPlan, ModuleOrigin};
use kiln_abi::symbols;
use kiln_component::describe;
use std::fmt::Write;
use std::path::Path;

/// Whether `wasm` is a component rather than a core module (the header's layer field).
pub fn is_component(wasm: &[u8]) -> bool {
    kiln_component::is_component(wasm)
}

/// For `kiln compile`: translates the component at `path`, compiles each of its core
/// modules with its symbol prefix under `symbol_prefix` and writes them, with the
/// component's image (`<symbol_prefix>kiln_component`), as one relocatable object to
/// `output`. The image refers to nothing outside the object (see
/// `kiln_component::link_object`): an embedding host reads it through
/// `kiln_runtime::component::LinkedComponent`.
pub fn compile_object(
    path: &Path,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
    symbol_prefix: &str,
    output: &Path,
) -> Result<()> {
    let translation =
        kiln_component::translate(wasm).with_context(|| path.display().to_string())?;
    let object = compile_modules(path, &translation, options, symbol_prefix, None)?;
    std::fs::write(output, &object).with_context(|| format!("{}: cannot write", output.display()))
}

/// The one object of `translation`'s modules (each compiled through the CLI's
/// `compile_file`, with its progress bar) and its image (see `kiln_component::link_object`).
/// With `options.fixed_memory_address` (an executable's), the module
/// `kiln_component::fixed_memory_module` chooses is compiled with it, the others without.
fn compile_modules(
    path: &Path,
    translation: &kiln_component::Translation,
    options: &kiln_compiler::CompileOptions,
    symbol_prefix: &str,
    entry: Option<kiln_component::ExecutableEntry<'_>>,
) -> Result<Vec<u8>> {
    let plan = &translation.plan;
    let fixed_memory_module = options
        .fixed_memory_address
        .then(|| kiln_component::fixed_memory_module(plan, &translation.modules))
        .flatten();
    let objects = plan
        .modules
        .iter()
        .zip(&translation.modules)
        .enumerate()
        .map(|(index, (module, bytes))| {
            let mut options = kiln_component::module_options(options, symbol_prefix, module);
            options.fixed_memory_address = fixed_memory_module == Some(index);
            compile_file(path, bytes, &options)
                .with_context(|| format!("{} ({})", path.display(), describe(module)))
        })
        .collect::<Result<Vec<_>>>()?;
    kiln_component::link_object(
        plan,
        &objects,
        symbol_prefix,
        &options.target.to_string(),
        entry,
    )
    .with_context(|| path.display().to_string())
}

/// For `kiln run`: translates the component at `path`, compiles each of its core modules
/// with its symbol prefix (through the cache unless `no_cache`) and loads them into this
/// process. Returns the plan and the loaded modules, in the plan's order.
pub fn load(
    path: &Path,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
    no_cache: bool,
) -> Result<(ComponentPlan, Vec<kiln_runtime::Module>)> {
    let translation =
        kiln_component::translate(wasm).with_context(|| path.display().to_string())?;
    let modules = translation
        .plan
        .modules
        .iter()
        .zip(&translation.modules)
        .map(|(module, bytes)| {
            let what = format!("{} ({})", path.display(), describe(module));
            let options = kiln_component::module_options(options, "", module);
            crate::invoke::load_cached(&what, path, bytes, &options, no_cache)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((translation.plan, modules))
}

/// `kiln build` of a component: compiles each core module with its symbol prefix and links
/// them with the component's image (the plan and the modules' descriptors, see
/// [`image_object`]), the WASI grants and the runtime into the executable `output`; with
/// `--size-report`, reports its sizes under `name`.
pub fn build_executable(
    args: &BuildArgs,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
    output: &Path,
    name: &str,
) -> Result<()> {
    let path = &args.input;
    let grants = args.grants.grants()?;
    let mut options = crate::limits::instrumented(options, &grants.limits);
    // The executable instantiates the component once: one of its core modules may find
    // its memory at the fixed address (`compile_modules`).
    options.fixed_memory_address = !args.movable_memory;
    let translation =
        kiln_component::translate(wasm).with_context(|| path.display().to_string())?;
    let plan = &translation.plan;
    // The WASI 0.2 functions the plan imports, each once: the executable links these and
    // no others. An import kiln does not implement is left out (instantiation then names
    // it).
    let mut functions: Vec<&str> = Vec::new();
    for import in &plan.imports {
        if let Some(symbol) = kiln_runtime::wasi::p2::import_symbol(&import.name) {
            if !functions.contains(&symbol) {
                functions.push(symbol);
            }
        }
    }
    let entry = kiln_component::ExecutableEntry {
        main: symbols::COMPONENT_MAIN,
        functions: &functions,
    };
    let object = compile_modules(path, &translation, &options, "", Some(entry))?;
    let scratch = ScratchDir::new()?;
    let object_path = scratch.0.join("component.o");
    std::fs::write(&object_path, &object)
        .with_context(|| format!("{}: cannot write", object_path.display()))?;
    // The core modules instantiate one another's tables, memories and globals: every
    // phase of instantiation is linked.
    let mut parts = crate::emit::granted_runtime_parts(&grants, &options)?;
    parts.extend(kiln_runtime::linked::ALL_INSTANTIATION_PARTS);
    parts.extend(crate::emit::metadata_runtime_parts(&object)?);
    crate::emit::link_executable(
        args,
        &grants,
        &[object_path],
        &[],
        &parts,
        // The core modules are compiled one by one; their builtins are not collected.
        kiln_abi::builtins::Builtin::ALL,
        &options,
        &scratch,
        output,
    )?;
    if args.size_report {
        print!("{}", crate::emit::size_report(&[&object], output, name)?);
    }
    Ok(())
}

/// `kiln inspect` of a component: its world in WIT, then the plan kiln made of it.
pub fn inspect(path: &Path, wasm: &[u8]) -> Result<String> {
    let context = || path.display().to_string();
    let translation = kiln_component::translate(wasm).with_context(context)?;
    let world = kiln_component::world(wasm).with_context(context)?;
    let plan = &translation.plan;
    let mut out = String::new();
    writeln!(out, "component: {}", path.display())?;
    writeln!(out, "size: {} bytes", wasm.len())?;
    writeln!(out, "world:")?;
    for line in world.lines() {
        writeln!(out, "  {line}")?;
    }
    let adapters = plan
        .modules
        .iter()
        .filter(|m| m.origin == ModuleOrigin::Adapter)
        .count();
    writeln!(
        out,
        "core modules: {} ({adapters} generated adapters)",
        plan.modules.len()
    )?;
    for (module, bytes) in plan.modules.iter().zip(&translation.modules) {
        let origin = match module.origin {
            ModuleOrigin::Component { offset } => format!("at offset {offset:#x}"),
            ModuleOrigin::Adapter => "fused adapter".to_string(),
        };
        writeln!(
            out,
            "  {}: {} bytes, {origin}",
            module.symbol_prefix,
            bytes.len()
        )?;
    }
    writeln!(out, "core instances: {}", plan.n_instances)?;
    writeln!(out, "host imports: {}", plan.imports.len())?;
    for import in &plan.imports {
        writeln!(
            out,
            "  {}: {}",
            import.name,
            plan.types.lowered_signature(import.func_type)
        )?;
    }
    writeln!(out, "exports: {}", plan.exports.len())?;
    for export in &plan.exports {
        writeln!(
            out,
            "  {}: {}",
            export.name,
            plan.types.lifted_signature(export.func_type)
        )?;
    }
    Ok(out)
}
