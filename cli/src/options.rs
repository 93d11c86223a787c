//! Command-line options shared by the commands that compile.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use kiln_compiler::{CompileOptions, MemorySettings, OptLevel, Profile, RelaxedSimd, Triple};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Cranelift optimisation level.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum OptLevelArg {
    /// No optimisation.
    None,
    /// Optimise for speed.
    #[default]
    Speed,
    /// Optimise for speed and size.
    #[value(name = "speed_and_size")]
    SpeedAndSize,
}

/// How relaxed SIMD operators are lowered (`kiln_compiler::RelaxedSimd`).
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum RelaxedSimdArg {
    /// The target's native forms: edge cases may differ between x86_64 and aarch64.
    #[default]
    Fast,
    /// The spec's deterministic profile: the same results on every target.
    Deterministic,
}

/// Options that decide what code is generated.
#[derive(Args, Clone, Debug)]
pub struct CodegenArgs {
    /// Target triple (default: the host), e.g. aarch64-unknown-linux-gnu. `kiln build
    /// --oci` takes it several times, one image per target.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Vec<String>,
    /// Optimisation level.
    #[arg(long, value_enum, default_value_t = OptLevelArg::Speed)]
    pub opt_level: OptLevelArg,
    /// CPU features the code may use beyond the target's baseline, comma-separated
    /// (x86_64: avx, avx2, fma, bmi1, bmi2, lzcnt, avx512f, ...; aarch64: lse, ...), or
    /// `native` for every feature of this machine's CPU. The output refuses to run on a
    /// CPU that lacks one.
    #[arg(long, value_delimiter = ',', value_name = "FEATURES")]
    pub target_features: Vec<String>,
    /// Check every memory access explicitly instead of relying on a 4 GiB reservation and
    /// guard pages: for devices with little virtual address space. Memories then reserve
    /// only what they use and move when they grow.
    #[arg(long)]
    pub bounds_checks: bool,
    /// Bytes of inaccessible guard region after each memory's reservation (default 2 GiB,
    /// or 0 with --bounds-checks). Accesses whose static offset fits in it need no check.
    #[arg(long, value_name = "BYTES")]
    pub guard_size: Option<u64>,
    /// How relaxed SIMD operators (Wasm 3.0) are compiled: `fast`, each as the target
    /// does it natively (results of edge cases such as out-of-range lanes, NaNs or the
    /// rounding of multiply-add may differ between x86_64 and aarch64), or `deterministic`,
    /// the spec's deterministic profile, with the same results on every target.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = RelaxedSimdArg::Fast)]
    pub relaxed_simd: RelaxedSimdArg,
    /// Compile fuel metering in, for embedders that set the fuel themselves (`kiln run`
    /// and `kiln build` do with `--fuel N`).
    #[arg(long)]
    pub fuel_metering: bool,
    /// Compile interruption checks in (one load and compare at every function entry and
    /// loop header), for embedders that interrupt or set time limits themselves (`kiln
    /// run` and `kiln build` do with `--timeout`).
    #[arg(long)]
    pub interruptible: bool,
    /// Inline direct calls to small functions and to functions called from one place
    /// (a trap in inlined code is reported in the caller's frame, at the call).
    #[arg(long, overrides_with = "no_inline")]
    pub inline: bool,
    /// Do not inline (the default).
    #[arg(long, overrides_with = "inline")]
    pub no_inline: bool,
    /// Do not devirtualize `call_indirect` through tables whose contents are fixed after
    /// instantiation (devirtualized by default: direct calls for constant indices, a code
    /// table in read-only data instead of the null and signature checks otherwise).
    #[arg(long)]
    pub no_devirt: bool,
    /// Compile every function, also those nothing can run (left out by default: no export,
    /// start function, table element or `ref.func` reaches them through direct calls).
    #[arg(long)]
    pub keep_unused_functions: bool,
    /// Compile every function on its own, also those whose type and body equal an earlier
    /// function's (folded by default: they share its code, and a backtrace names the
    /// first function of the group).
    #[arg(long)]
    pub keep_identical_functions: bool,
}

impl CodegenArgs {
    /// The triple to compile for.
    pub fn triple(&self) -> Result<Triple> {
        match self.targets()?.as_slice() {
            [] => Ok(Triple::host()),
            [one] => Ok(one.clone()),
            many => Err(anyhow!(
                "--target is given {} times: only `kiln build --oci` builds for several targets",
                many.len()
            )),
        }
    }

    /// Every `--target` given, parsed.
    pub fn targets(&self) -> Result<Vec<Triple>> {
        self.target
            .iter()
            .map(|name| Triple::from_str(name).map_err(|e| anyhow!("unknown target {name}: {e}")))
            .collect()
    }

    /// The compiler options these arguments stand for.
    pub fn compile_options(&self) -> Result<CompileOptions> {
        self.compile_options_for(self.triple()?)
    }

    /// The compiler options these arguments stand for, for `target`.
    pub fn compile_options_for(&self, target: Triple) -> Result<CompileOptions> {
        // `native` is spelled out here, so cache keys and reports name the real features.
        let target_features =
            kiln_compiler::expand_native_features(&target, &self.target_features)?;
        Ok(CompileOptions {
            target,
            opt_level: match self.opt_level {
                OptLevelArg::None => OptLevel::None,
                OptLevelArg::Speed => OptLevel::Speed,
                OptLevelArg::SpeedAndSize => OptLevel::SpeedAndSize,
            },
            memory: self.memory_settings()?,
            target_features,
            relaxed_simd: match self.relaxed_simd {
                RelaxedSimdArg::Fast => RelaxedSimd::Fast,
                RelaxedSimdArg::Deterministic => RelaxedSimd::Deterministic,
            },
            fuel: self.fuel_metering,
            interruptible: self.interruptible,
            inline: if self.inline {
                true
            } else if self.no_inline {
                false
            } else {
                CompileOptions::default().inline
            },
            devirtualize: !self.no_devirt,
            drop_unused_functions: !self.keep_unused_functions,
            fold_identical_functions: !self.keep_identical_functions,
            ..CompileOptions::default()
        })
    }

    /// The linear-memory layout the options ask for, checked: a guard that does not fit in
    /// the address space with the reservation is an error naming the flag.
    fn memory_settings(&self) -> Result<MemorySettings> {
        let defaults = kiln_compiler::DEFAULT_MEMORY_SETTINGS;
        let settings = if self.bounds_checks {
            MemorySettings {
                reservation: 0,
                guard_size: self.guard_size.unwrap_or(0),
                bounds_checks: true,
            }
        } else {
            MemorySettings {
                guard_size: self.guard_size.unwrap_or(defaults.guard_size),
                ..defaults
            }
        };
        settings.checked().map_err(|reason| match self.guard_size {
            Some(guard_size) => anyhow!("--guard-size {guard_size}: {reason}"),
            None => anyhow!("memory layout: {reason}"),
        })
    }
}

/// Profile-guided optimization (`kiln build` and `kiln compile` of core modules).
#[derive(Args, Clone, Debug, Default)]
pub struct ProfileArgs {
    /// Compile code that counts how many times each function is entered. The executable
    /// writes the counts, a profile for --profile-use, to FILE when it exits (adding them
    /// to FILE's when it holds a profile of the same module, so several training runs make
    /// one profile); $KILN_PROFILE_FILE overrides FILE at run time. FILE defaults to the
    /// output's path with `.kilnprof` appended (`-o app`: app.kilnprof); a relative path
    /// is made absolute when building. Counting slows the code a little: build again with
    /// --profile-use for the optimized executable.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub profile_generate: Option<Option<PathBuf>>,
    /// Optimize with a profile that a --profile-generate build of the same module wrote:
    /// code of functions entered while it was recorded is placed first, in call-graph
    /// order, and the code of the others packed after it; with --inline, hot callees are
    /// inlined more and functions never entered are neither inlined nor grown. What the
    /// program computes does not change. A profile of another module is refused.
    #[arg(long, value_name = "FILE")]
    pub profile_use: Option<PathBuf>,
}

/// The file name suffix of profiles.
pub const PROFILE_EXTENSION: &str = "kilnprof";

impl ProfileArgs {
    /// The flag given, if either is, for messages that refuse them.
    pub fn given(&self) -> Option<&'static str> {
        if self.profile_generate.is_some() {
            Some("--profile-generate")
        } else if self.profile_use.is_some() {
            Some("--profile-use")
        } else {
            None
        }
    }

    /// Refuses the flags for `what` (components, static libraries, images).
    pub fn refuse(&self, what: &str) -> Result<()> {
        match self.given() {
            Some(flag) => bail!("{flag} is not supported for {what} (only for core modules)"),
            None => Ok(()),
        }
    }

    /// Sets `options` for these flags: counting code whose profile goes to the
    /// `--profile-generate` file (default: `output` with `.kilnprof` appended), and the
    /// `--profile-use` profile, read and checked against `wasm`.
    pub fn apply(&self, options: &mut CompileOptions, wasm: &[u8], output: &Path) -> Result<()> {
        if let Some(file) = &self.profile_generate {
            let file = file.clone().unwrap_or_else(|| {
                let mut default = output.as_os_str().to_owned();
                default.push(".");
                default.push(PROFILE_EXTENSION);
                PathBuf::from(default)
            });
            let file = std::path::absolute(&file)
                .with_context(|| format!("{}: cannot make the path absolute", file.display()))?;
            let Some(file) = file.to_str() else {
                bail!("{}: a profile's path must be UTF-8", file.display());
            };
            options.profile_generate = true;
            options.profile_file = Some(file.to_string());
        }
        if let Some(file) = &self.profile_use {
            options.profile_use = Some(read_profile(file, wasm)?);
        }
        Ok(())
    }
}

/// The profile in `file`, checked against the module `wasm`; errors name the file.
pub fn read_profile(file: &Path, wasm: &[u8]) -> Result<Profile> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("{}: cannot read the profile", file.display()))?;
    let profile =
        Profile::decode(&bytes).map_err(|error| anyhow!("{}: {error}", file.display()))?;
    profile
        .check(wasm)
        .map_err(|mismatch| anyhow!("{}: {mismatch}", file.display()))?;
    Ok(profile)
}
