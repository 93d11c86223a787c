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

/// Modules with at least this many functions show a progress bar while they compile
/// (when stderr is a terminal).
const PROGRESS_THRESHOLD: usize = 500;

/// Compiles the module at `path`, naming the file in any error.
pub fn compile_file(
    path: &Path,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
) -> Result<Vec<u8>> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    let mut options = options.clone();
    let bar = ProgressBar::hidden();
    if std::io::stderr().is_terminal() {
        let shown = std::sync::Once::new();
        let progress_bar = bar.clone();
        let report = move |done: usize, total: usize| {
            if total < PROGRESS_THRESHOLD {
                return;
            }
            shown.call_once(|| {
                progress_bar.set_length(total as u64);
                if let Ok(style) =
                    ProgressStyle::with_template("compiling {bar:40} {pos}/{len} functions")
                {
                    progress_bar.set_style(style);
                }
                progress_bar.set_draw_target(ProgressDrawTarget::stderr());
            });
            progress_bar.set_position(done as u64);
        };
        options.progress = Some(kiln_compiler::Progress(std::sync::Arc::new(report)));
    }
    let result = kiln_compiler::compile(wasm, &options);
    bar.finish_and_clear();
    result.with_context(|| path.display().to_string())
}
