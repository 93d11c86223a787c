//! Reading a module from disk: binary `.wasm` or the text format.

use anyhow::{Context, Result};
use std::path::Path;

/// The module's binary bytes. Files that start with the wasm magic are binary; files named
/// `.wat`/`.wast`, or that are not named `.wasm` and hold text, are parsed as text. A
/// `.wasm` file holding anything else is passed on as is, so validation reports where it
/// goes wrong.
pub fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let is_text = !bytes.starts_with(b"\0asm")
        && (matches!(extension, "wat" | "wast")
            || (extension != "wasm" && std::str::from_utf8(&bytes).is_ok()));
    if is_text {
        let wasm = wat::Parser::new()
            .parse_bytes(Some(path), &bytes)
            .map_err(|e| {
                // wat's message spans several lines (it quotes the source); keep the first.
                let message = e.to_string();
                let first = message.lines().next().unwrap_or("").to_string();
                anyhow::anyhow!("{}: invalid text format: {first}", path.display())
            })?;
        Ok(wasm.into_owned())
    } else {
        Ok(bytes)
    }
}

/// Compiles the module at `path`, naming the file in any error.
pub fn compile_file(
    path: &Path,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
) -> Result<Vec<u8>> {
    kiln_compiler::compile(wasm, options).with_context(|| path.display().to_string())
}
