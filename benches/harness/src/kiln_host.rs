//! kiln's compiler embedded, for its compile time measured the way Wasmtime's is:
//! `kiln-bench kiln-compile MODULE -- FLAGS` reads the module, builds the options from the
//! same flags the harness gives `kiln compile`, calls `kiln_compiler::compile` (the call
//! `kiln compile` makes: functions compiled on rayon's pool, the object's bytes returned in
//! memory, not written), and writes `compile NS` to `$KILN_BENCH_TIMES`. The timed region
//! starts before the file is read and ends when the object is in memory, as
//! `kiln-bench exec` times `Engine::default()` + `Module::from_file`; both run in a fresh
//! child of this binary per run, so neither pays the process start-up nor profits from a
//! thread pool or allocator another compile left warm.

use crate::process::TIMES_ENV;
use anyhow::{bail, Context, Result};
use kiln_compiler::{CompileOptions, OptLevel, Triple};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct KilnCompileOptions {
    module: PathBuf,
    /// `kiln compile`'s code generation flags, as the harness passes them to it
    /// (`--target-features F,..`, `--opt-level L`, `--inline`)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    flags: Vec<String>,
}

/// The compiler options `kiln compile` derives from `flags`. Only the flags the harness
/// passes are understood; any other is an error rather than a silently different compile.
pub fn compile_options(flags: &[String]) -> Result<CompileOptions> {
    let mut options = CompileOptions::default();
    let mut features = Vec::new();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let mut value = || {
            flags
                .next()
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--target-features" => features.extend(value()?.split(',').map(str::to_string)),
            "--opt-level" => {
                options.opt_level = match value()?.as_str() {
                    "none" => OptLevel::None,
                    "speed" => OptLevel::Speed,
                    "speed_and_size" => OptLevel::SpeedAndSize,
                    other => bail!("--opt-level {other}: not none, speed or speed_and_size"),
                }
            }
            "--inline" => options.inline = true,
            other => bail!("kiln-compile does not know the flag {other}"),
        }
    }
    // As `kiln compile` does (`CodegenArgs::compile_options_for`): `native` spelled out.
    options.target_features = kiln_compiler::expand_native_features(&Triple::host(), &features)?;
    Ok(options)
}

/// Compiles the module at `module` with `flags` in this process; returns the time from
/// before reading the file to the object in memory, and the object.
pub fn compile(module: &Path, flags: &[String]) -> Result<(Duration, Vec<u8>)> {
    let started = Instant::now();
    let wasm = std::fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    let options = compile_options(flags)?;
    let object = kiln_compiler::compile(&wasm, &options)
        .with_context(|| format!("compiling {}", module.display()))?;
    Ok((started.elapsed(), object))
}

/// `kiln-bench kiln-compile`: compiles and writes the time to `$KILN_BENCH_TIMES`.
pub fn exec(options: &KilnCompileOptions) -> Result<()> {
    let (elapsed, object) = compile(&options.module, &options.flags)?;
    anyhow::ensure!(!object.is_empty(), "kiln produced an empty object");
    if let Some(path) = std::env::var_os(TIMES_ENV) {
        std::fs::write(&path, format!("compile {}\n", elapsed.as_nanos()))
            .with_context(|| format!("writing {}", Path::new(&path).display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_module_compiles_in_process() {
        let dir = std::env::temp_dir().join(format!("kiln-bench-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let module = dir.join("add.wasm");
        let wasm = wat::parse_str(
            r#"(module (func (export "add") (param i32 i32) (result i32)
                 (i32.add (local.get 0) (local.get 1))))"#,
        )
        .unwrap();
        std::fs::write(&module, wasm).unwrap();
        let flags: Vec<String> = crate::engines::KILN_CODEGEN_ARGS
            .iter()
            .chain(&["--inline"])
            .map(|flag| flag.to_string())
            .collect();
        let (elapsed, object) = compile(&module, &flags).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(elapsed > Duration::ZERO);
        // An ELF relocatable object.
        assert!(object.starts_with(b"\x7fELF"), "not an ELF object");
        assert!(object.len() > 64);
    }

    #[test]
    fn the_harness_flags_become_kiln_compiles_options() {
        let flags = |list: &[&str]| list.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        let options = compile_options(&flags(&[
            "--opt-level",
            "none",
            "--target-features",
            "native",
        ]))
        .unwrap();
        assert!(matches!(options.opt_level, OptLevel::None));
        assert!(!options.inline);
        assert!(!options.target_features.iter().any(|f| f == "native"));
        assert!(compile_options(&flags(&["--inline"])).unwrap().inline);
        let unknown = compile_options(&flags(&["--fuel-metering"])).unwrap_err();
        assert!(unknown.to_string().contains("--fuel-metering"), "{unknown}");
        let missing = compile_options(&flags(&["--opt-level"])).unwrap_err();
        assert!(missing.to_string().contains("needs a value"), "{missing}");
    }
}
