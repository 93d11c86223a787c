//! `kiln compile --emit staticlib --header NAME.h -o libNAME.a`: for C and C++ hosts, a
//! static library holding the compiled module (symbols prefixed `NAME_`) and the kiln
//! runtime built with its C interface (feature `c-api`), and a header declaring the
//! module's typed C functions (`NAME_new`, `NAME_<export>`, ...; see kiln-build's
//! `generate_c_header`). A host links it with `cc main.c libNAME.a -lpthread -ldl -lm
//! -lrt -lutil -lgcc_s -lc`; no compiler or wasm file is needed at run time. A component
//! gives `NAME_new(wasi, &error)`, `NAME_run(component, &exit_code)` and `NAME_free`.
//!
//! The runtime with the C interface comes from `$KILN_RUNTIME_DIR/<triple>/`
//! (`libkiln_runtime_capi.a`), else from the copy embedded in kiln for the host target.

use anyhow::{bail, Context, Result};
use kiln_compiler::CompileOptions;
use std::path::{Path, PathBuf};

/// File name of the runtime archive with the C interface.
pub const C_API_RUNTIME: &str = "libkiln_runtime_capi.a";

/// The module's name in C: the header's file name without `.h`, which must be a C
/// identifier.
fn module_name(header: &Path) -> Result<String> {
    let name = header
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        bail!(
            "{}: the header's name must be a C identifier (it names the module's functions)",
            header.display()
        );
    }
    Ok(name)
}

/// The runtime archive with the C interface for `triple`: `$KILN_RUNTIME_DIR/<triple>/`,
/// else `embedded` (the file kiln carries for its own target, if any), written to `scratch`.
pub fn c_api_runtime(triple: &str, embedded: Option<&[u8]>, scratch: &Path) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("KILN_RUNTIME_DIR") {
        let path = PathBuf::from(dir).join(triple).join(C_API_RUNTIME);
        if path.exists() {
            return Ok(path);
        }
    }
    let Some(bytes) = embedded else {
        bail!(
            "no kiln runtime with the C interface for {triple}: put one in \
             $KILN_RUNTIME_DIR/{triple}/{C_API_RUNTIME} (cargo rustc -p kiln-runtime --lib \
             --crate-type staticlib --features c-api --release --target {triple})"
        );
    };
    let path = scratch.join(C_API_RUNTIME);
    std::fs::write(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(path)
}

/// Writes the static library `output` and the header `header` for the module `input`.
pub fn emit_staticlib(
    input: &Path,
    options: &CompileOptions,
    runtime: &Path,
    output: &Path,
    header: &Path,
) -> Result<()> {
    let name = module_name(header)?;
    let target = options.target.to_string();
    let module = kiln_build::compile_module(
        input,
        &name,
        Some(&target),
        options.opt_level,
        options.relaxed_simd,
        kiln_build::Checks {
            fuel: options.fuel,
            interruptible: options.interruptible,
        },
    )?;
    kiln_build::write_static_library(output, &name, &module.object, &[runtime])?;
    let source = input.file_name().map_or_else(
        || input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let text = kiln_build::generate_c_header(&module, &name, &source)?;
    std::fs::write(header, text).with_context(|| format!("{}: cannot write", header.display()))
}

/// [`emit_staticlib`] for the component `wasm` (read from `input`): its one object (symbols
/// under `NAME_`) with the runtime, and a header with `NAME_new`, `NAME_run` and
/// `NAME_free` (see `kiln_build::compile_component_for_c`).
pub fn emit_component_staticlib(
    input: &Path,
    wasm: &[u8],
    options: &CompileOptions,
    runtime: &Path,
    output: &Path,
    header: &Path,
) -> Result<()> {
    let name = module_name(header)?;
    let (object, text) = kiln_build::compile_component_for_c(input, wasm, &name, options)?;
    kiln_build::write_static_library(output, &name, &object, &[runtime])?;
    std::fs::write(header, text).with_context(|| format!("{}: cannot write", header.display()))
}
