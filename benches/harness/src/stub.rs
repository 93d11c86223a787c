//! Module rewriting with walrus: the list of a module's imports, and a copy of a module
//! whose sightglass `bench.start` / `bench.end` imports are replaced by empty local
//! functions, for an engine that cannot provide them (kiln executables today). Such an
//! engine is then measured by whole-process time only.

use anyhow::{Context, Result};
use std::path::Path;

/// `(module, name)` of every imported item.
pub fn imports(wasm: &Path) -> Result<Vec<(String, String)>> {
    let module =
        walrus::Module::from_file(wasm).with_context(|| format!("parsing {}", wasm.display()))?;
    Ok(module
        .imports
        .iter()
        .map(|import| (import.module.clone(), import.name.clone()))
        .collect())
}

/// Writes `output`: `wasm` without its `bench` imports. Returns false (and writes
/// nothing) when it has none.
pub fn stub_bench_imports(wasm: &Path, output: &Path) -> Result<bool> {
    let mut module =
        walrus::Module::from_file(wasm).with_context(|| format!("parsing {}", wasm.display()))?;
    let functions: Vec<_> = module
        .imports
        .iter()
        .filter(|import| import.module == "bench")
        .filter_map(|import| match import.kind {
            walrus::ImportKind::Function(function) => Some(function),
            _ => None,
        })
        .collect();
    if functions.is_empty() {
        return Ok(false);
    }
    for function in functions {
        module.replace_imported_func(function, |_| {})?;
    }
    module
        .emit_wasm_file(output)
        .with_context(|| format!("writing {}", output.display()))?;
    Ok(true)
}
