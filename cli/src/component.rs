//! Components (WASI 0.2, issue 19) in the CLI: `kiln inspect` prints a component's world
//! and plan; `kiln run` compiles its core modules and runs it; `kiln build` links them
//! with the plan into an executable; `kiln compile` validates and translates a component
//! (so a bad one gets its byte-offset error) and then stops, until objects carry a plan.

use crate::emit::{BuildArgs, ScratchDir};
use crate::input::compile_file;
use anyhow::{bail, Context, Result};
use kiln_abi::component::{ComponentPlan, CoreModule, ModuleOrigin};
use kiln_abi::symbols;
use std::fmt::Write;
use std::path::Path;

/// Whether `wasm` is a component rather than a core module (the header's layer field).
pub fn is_component(wasm: &[u8]) -> bool {
    kiln_component::is_component(wasm)
}

/// For `kiln compile`: validates and translates the component at `path`, then refuses it,
/// since an object cannot carry its plan yet.
pub fn refuse_to_run(path: &Path, wasm: &[u8]) -> Result<()> {
    let translation =
        kiln_component::translate(wasm).with_context(|| path.display().to_string())?;
    let plan = &translation.plan;
    bail!(
        "components cannot be compiled to objects yet: {} is a valid WebAssembly \
         component ({} core modules, {} host imports); `kiln run` runs it, `kiln build` \
         makes an executable of it and `kiln inspect` shows its world (WASI 0.2, issue 19)",
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

/// `kiln build` of a component: compiles each core module with its symbol prefix and links
/// them with the component's image (the plan and the modules' descriptors, see
/// [`image_object`]), the WASI grants and the runtime into the executable `output`.
pub fn build_executable(
    args: &BuildArgs,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
    output: &Path,
) -> Result<()> {
    let path = &args.input;
    let grants = args.grants.grants()?;
    let options = crate::limits::instrumented(options, &grants.limits);
    let translation =
        kiln_component::translate(wasm).with_context(|| path.display().to_string())?;
    let plan = &translation.plan;
    let scratch = ScratchDir::new()?;
    let mut objects = Vec::new();
    let mut paths = Vec::new();
    for (index, (module, bytes)) in plan.modules.iter().zip(&translation.modules).enumerate() {
        let mut options = options.clone();
        options.symbol_prefix = module.symbol_prefix.clone();
        let object = compile_file(path, bytes, &options)
            .with_context(|| format!("{} ({})", path.display(), describe(module)))?;
        let object_path = scratch.0.join(format!("module{index}.o"));
        std::fs::write(&object_path, &object)
            .with_context(|| format!("{}: cannot write", object_path.display()))?;
        objects.push(object);
        paths.push(object_path);
    }
    let image_path = scratch.0.join("component.o");
    let image = image_object(plan, &options.target.to_string())?;
    std::fs::write(&image_path, &image)
        .with_context(|| format!("{}: cannot write", image_path.display()))?;
    paths.push(image_path);
    let parts = crate::emit::granted_runtime_parts(&grants, &options)?;
    crate::emit::link_executable(
        args,
        &grants,
        &paths,
        &[],
        &parts,
        &options,
        &scratch,
        output,
    )?;
    if args.size_report {
        let objects: Vec<&[u8]> = objects.iter().map(Vec::as_slice).collect();
        print!("{}", crate::emit::size_report(&objects, output)?);
    }
    Ok(())
}

/// The encoded plan's local symbol in the image object.
const PLAN_SYMBOL: &str = "kiln_component_plan";

/// The object that defines a component executable's image, `kiln_component` (layout in
/// kiln-abi's `symbols::COMPONENT_IMAGE`): the encoded plan, the runtime's component entry,
/// each core module's descriptor and each WASI 0.2 function the plan imports, by
/// relocation.
fn image_object(plan: &ComponentPlan, triple: &str) -> Result<Vec<u8>> {
    use object::write::{StandardSection, Symbol, SymbolSection};
    use object::{SymbolFlags, SymbolKind, SymbolScope};
    let mut object = crate::grants::elf_object(triple)?;
    let encoded = plan.encode();
    let data = object.section_id(StandardSection::ReadOnlyData);
    let plan_offset = object.append_section_data(data, &encoded, 8);
    object.add_symbol(Symbol {
        name: PLAN_SYMBOL.as_bytes().to_vec(),
        value: plan_offset,
        size: encoded.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Compilation,
        weak: false,
        section: SymbolSection::Section(data),
        flags: SymbolFlags::None,
    });
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
    let table = object.section_id(StandardSection::ReadOnlyDataWithRel);
    let words = symbols::COMPONENT_IMAGE_HEADER_WORDS + plan.modules.len() + functions.len();
    let mut bytes = vec![0u8; 8 * words];
    bytes[..8].copy_from_slice(&(plan.modules.len() as u64).to_le_bytes());
    bytes[8..16].copy_from_slice(&(encoded.len() as u64).to_le_bytes());
    bytes[32..40].copy_from_slice(&(functions.len() as u64).to_le_bytes());
    let image_offset = object.append_section_data(table, &bytes, 8);
    object.add_symbol(Symbol {
        name: symbols::COMPONENT_IMAGE.as_bytes().to_vec(),
        value: image_offset,
        size: bytes.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(table),
        flags: SymbolFlags::None,
    });
    crate::grants::pointer_to(&mut object, table, image_offset + 16, PLAN_SYMBOL)?;
    crate::grants::pointer_to(
        &mut object,
        table,
        image_offset + 24,
        symbols::COMPONENT_MAIN,
    )?;
    for (index, module) in plan.modules.iter().enumerate() {
        let descriptor = symbols::prefixed(&module.symbol_prefix, symbols::MODULE_DESCRIPTOR);
        let offset = image_offset + 8 * (symbols::COMPONENT_IMAGE_HEADER_WORDS + index) as u64;
        crate::grants::pointer_to(&mut object, table, offset, &descriptor)?;
    }
    let first_function = symbols::COMPONENT_IMAGE_HEADER_WORDS + plan.modules.len();
    for (index, symbol) in functions.iter().enumerate() {
        let offset = image_offset + 8 * (first_function + index) as u64;
        crate::grants::pointer_to(&mut object, table, offset, symbol)?;
    }
    Ok(object.write()?)
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
