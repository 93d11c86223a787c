//! Components (WASI 0.2, issue 19) in the CLI: `kiln inspect` prints a component's world
//! and plan; `kiln run` compiles its core modules and runs it; `kiln compile | build`
//! validate and translate a component (so a bad one gets its byte-offset error) and then
//! stop, until executables can carry a plan.

use anyhow::{bail, Context, Result};
use kiln_abi::component::{ComponentPlan, CoreModule, ModuleOrigin};
use std::fmt::Write;
use std::path::Path;

/// Whether `wasm` is a component rather than a core module (the header's layer field).
pub fn is_component(wasm: &[u8]) -> bool {
    kiln_component::is_component(wasm)
}

/// For `kiln compile | build`: validates and translates the component at `path`, then
/// refuses it, since objects and executables cannot carry its plan yet.
pub fn refuse_to_run(path: &Path, wasm: &[u8]) -> Result<()> {
    let translation =
        kiln_component::translate(wasm).with_context(|| path.display().to_string())?;
    let plan = &translation.plan;
    bail!(
        "components cannot be compiled to objects or executables yet: {} is a valid \
         WebAssembly component ({} core modules, {} host imports); `kiln run` runs it and \
         `kiln inspect` shows its world (WASI 0.2, issue 19)",
        path.display(),
        plan.modules.len(),
        plan.imports.len()
    )
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
            let mut options = options.clone();
            options.symbol_prefix = module.symbol_prefix.clone();
            crate::invoke::load_cached(&what, path, bytes, &options, no_cache)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((translation.plan, modules))
}

/// A core module of a component, for messages: `core module kiln_m0_ at offset 0xca3`.
fn describe(module: &CoreModule) -> String {
    match module.origin {
        ModuleOrigin::Component { offset } => {
            format!("core module {} at offset {offset:#x}", module.symbol_prefix)
        }
        ModuleOrigin::Adapter => format!("fused adapter module {}", module.symbol_prefix),
    }
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
