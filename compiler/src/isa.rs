//! Target selection: a target-lexicon triple and an optimisation level become a Cranelift
//! ISA with kiln's settings (position-independent code, frame pointers for backtraces,
//! no probestack because prologues check the stack limit, x86-64-v2 as the x86 baseline)
//! plus any CPU features the caller opts into (`CompileOptions::target_features`).

use crate::error::{CompileError, Result};
use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::{Architecture, OperatingSystem, Triple};

/// How hard Cranelift optimises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimisation: fastest compile.
    None,
    /// Optimise for speed.
    #[default]
    Speed,
    /// Optimise for speed and size.
    SpeedAndSize,
}

impl OptLevel {
    /// The name Cranelift's setting and kiln's CLI use.
    pub fn name(self) -> &'static str {
        match self {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        }
    }
}

/// The triples kiln can compile for.
pub const SUPPORTED_TARGETS: [&str; 4] = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-gnu",
    "aarch64-unknown-linux-musl",
];

fn set(builder: &mut dyn Configurable, name: &str, value: &str) -> Result<()> {
    builder
        .set(name, value)
        .map_err(|e| CompileError::Target(format!("setting {name}={value}: {e}")))
}

/// The Cranelift ISA flag that target feature `feature` enables, and the features it
/// implies: Cranelift only uses AVX2 instructions when AVX is enabled too, and every CPU
/// with AVX2 has AVX.
fn feature_flags(feature: &str) -> Vec<String> {
    let name = feature.strip_prefix("has_").unwrap_or(feature);
    match name {
        "avx2" => vec!["has_avx".to_string(), "has_avx2".to_string()],
        _ => vec![format!("has_{name}")],
    }
}

/// The target feature that stands for every feature of the compiling machine's CPU.
pub const NATIVE: &str = "native";

fn is_host_architecture(triple: &Triple) -> bool {
    triple.architecture == Triple::host().architecture
}

/// The CPU features `isa` generates code for (its enabled `has_*` flags, without the
/// prefix), as the runtime checks them before running the code.
pub fn enabled_cpu_features(isa: &dyn isa::TargetIsa) -> Vec<&'static str> {
    isa.isa_flags()
        .iter()
        .filter(|value| value.as_bool() == Some(true))
        .filter_map(|value| value.name.strip_prefix("has_"))
        .collect()
}

/// `target_features` with `native` replaced by the explicit features of this machine's
/// CPU, so that what the code needs is spelled out (for cache keys and reports).
pub fn expand_native_features(triple: &Triple, target_features: &[String]) -> Result<Vec<String>> {
    if !target_features.iter().any(|feature| feature == NATIVE) {
        return Ok(target_features.to_vec());
    }
    let isa = build_isa(triple, OptLevel::None, &[NATIVE.to_string()])?;
    let mut expanded: Vec<String> = target_features
        .iter()
        .filter(|feature| *feature != NATIVE)
        .cloned()
        .collect();
    expanded.extend(enabled_cpu_features(&*isa).into_iter().map(str::to_string));
    expanded.sort();
    expanded.dedup();
    Ok(expanded)
}

/// The Cranelift ISA for `triple` at `opt_level`, allowed to use the CPU features named in
/// `target_features` (see `CompileOptions::target_features`).
pub fn build_isa(
    triple: &Triple,
    opt_level: OptLevel,
    target_features: &[String],
) -> Result<OwnedTargetIsa> {
    build_isa_with(triple, opt_level, target_features, true)
}

/// The ISA [`build_isa`] makes, without the machine-code CFG information that loop
/// alignment and branch shortening read: for functions with so many blocks that recording
/// it would cost time quadratic in their number (see
/// `pipeline::MAX_BLOCKS_FOR_LOOP_ALIGNMENT`; their branches stay long where they have a
/// jump table, whose end the pass finds by the next block).
pub fn build_isa_without_cfg_info(
    triple: &Triple,
    opt_level: OptLevel,
    target_features: &[String],
) -> Result<OwnedTargetIsa> {
    build_isa_with(triple, opt_level, target_features, false)
}

fn build_isa_with(
    triple: &Triple,
    opt_level: OptLevel,
    target_features: &[String],
    cfg_info: bool,
) -> Result<OwnedTargetIsa> {
    let supported_arch = matches!(
        triple.architecture,
        Architecture::X86_64 | Architecture::Aarch64(_)
    );
    if !supported_arch || triple.operating_system != OperatingSystem::Linux {
        return Err(CompileError::Target(format!(
            "{triple} is not supported; supported targets: {}",
            SUPPORTED_TARGETS.join(", ")
        )));
    }
    let mut flags = settings::builder();
    set(&mut flags, "opt_level", opt_level.name())?;
    set(&mut flags, "is_pic", "true")?;
    set(&mut flags, "preserve_frame_pointers", "true")?;
    set(&mut flags, "enable_probestack", "false")?;
    set(&mut flags, "unwind_info", "false")?;
    // Functions with more results than return registers return the rest through memory.
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    // Block offsets and edges of the final code: where jump tables end, for branch
    // shortening (`relax.rs`), and loops, for placement at `speed` (`placement::loop_header`).
    if cfg_info && triple.architecture == Architecture::X86_64 {
        set(&mut flags, "machine_code_cfg_info", "true")?;
    }
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let mut isa_builder =
        isa::lookup(triple.clone()).map_err(|e| CompileError::Target(format!("{triple}: {e}")))?;
    if triple.architecture == Architecture::X86_64 {
        for feature in kiln_abi::X86_64_BASELINE_FEATURES {
            set(&mut isa_builder, &format!("has_{feature}"), "true")?;
        }
    }
    for feature in target_features {
        if feature == NATIVE {
            if !is_host_architecture(triple) {
                return Err(CompileError::Target(format!(
                    "{triple}: cpu feature `native` needs the target's architecture to be the \
                     host's ({})",
                    Triple::host().architecture
                )));
            }
            cranelift_native::infer_native_flags(&mut isa_builder)
                .map_err(|e| CompileError::Target(format!("{triple}: native cpu features: {e}")))?;
            continue;
        }
        for flag in feature_flags(feature) {
            isa_builder.enable(&flag).map_err(|e| {
                CompileError::Target(format!("{triple}: cpu feature {feature} ({flag}): {e}"))
            })?;
        }
    }
    isa_builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| CompileError::Target(format!("{triple}: {e}")))
}
