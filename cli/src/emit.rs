//! `kiln compile` (a relocatable object) and `kiln build` (a standalone executable: the
//! object linked with the runtime archive by the system C compiler driver).

use crate::input::{compile_file, read_module};
use crate::options::CodegenArgs;
use crate::runtime_archive::{runtime_archive, system_libraries};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `kiln compile`.
#[derive(Args)]
pub struct CompileArgs {
    /// The module (.wasm or .wat).
    pub input: PathBuf,
    /// Where to write the object.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub codegen: CodegenArgs,
    /// Prefix for every symbol of the module, to link several modules into one binary.
    #[arg(long, default_value = "")]
    pub symbol_prefix: String,
}

/// Arguments of `kiln build`.
#[derive(Args)]
pub struct BuildArgs {
    /// The module (.wasm or .wat).
    pub input: PathBuf,
    /// Where to write the executable.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub codegen: CodegenArgs,
    /// The C compiler driver that links (default: $CC, then `cc`).
    #[arg(long)]
    pub linker: Option<String>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Runs `kiln compile`.
pub fn compile(args: &CompileArgs) -> Result<()> {
    let wasm = read_module(&args.input)?;
    let mut options = args.codegen.compile_options()?;
    options.symbol_prefix = args.symbol_prefix.clone();
    let object = compile_file(&args.input, &wasm, &options)?;
    write(&args.output, &object)
}

/// A directory that is removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<ScratchDir> {
        let unique = format!(
            "kiln-build-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The linker for `target`: `--linker`, then `$CC`, then a cross compiler for foreign
/// architectures, then `cc`.
fn linker(args: &BuildArgs, target: &str) -> String {
    if let Some(linker) = &args.linker {
        return linker.clone();
    }
    if let Ok(cc) = std::env::var("CC") {
        return cc;
    }
    let host_arch = crate::runtime_archive::HOST_TARGET
        .split('-')
        .next()
        .unwrap_or("");
    let arch = target.split('-').next().unwrap_or("");
    match (arch == host_arch, arch, target.ends_with("musl")) {
        (true, _, true) => "musl-gcc".into(),
        (false, "aarch64", _) => "aarch64-linux-gnu-gcc".into(),
        _ => "cc".into(),
    }
}

/// Runs `kiln build`.
pub fn build(args: &BuildArgs) -> Result<()> {
    let wasm = read_module(&args.input)?;
    let options = args.codegen.compile_options()?;
    let target = options.target.to_string();
    let object = compile_file(&args.input, &wasm, &options)?;
    let scratch = ScratchDir::new()?;
    let object_path = scratch.0.join("module.o");
    write(&object_path, &object)?;
    let archive = runtime_archive(&target, &scratch.0)?;
    let linker = linker(args, &target);
    let output = Command::new(&linker)
        .arg("-o")
        .arg(&args.output)
        .arg(&object_path)
        .arg(&archive)
        .arg("-Wl,--gc-sections")
        // The runtime's (and Rust's standard library's) DWARF; wasm functions have none, and
        // their symbols stay for perf and gdb.
        .arg("-Wl,--strip-debug")
        .args(system_libraries(&target))
        .output()
        .with_context(|| format!("cannot run the linker `{linker}` (set --linker or CC)"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        bail!(
            "{}: linking with `{linker}` failed ({}): {first}",
            args.input.display(),
            output.status
        );
    }
    Ok(())
}
