//! Command-line options shared by the commands that compile.

use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use kiln_compiler::{CompileOptions, OptLevel, Triple};
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

/// Options that decide what code is generated.
#[derive(Args, Clone, Debug)]
pub struct CodegenArgs {
    /// Target triple (default: the host), e.g. aarch64-unknown-linux-gnu.
    #[arg(long)]
    pub target: Option<String>,
    /// Optimisation level.
    #[arg(long, value_enum, default_value_t = OptLevelArg::Speed)]
    pub opt_level: OptLevelArg,
}

impl CodegenArgs {
    /// The triple to compile for.
    pub fn triple(&self) -> Result<Triple> {
        match &self.target {
            None => Ok(Triple::host()),
            Some(name) => Triple::from_str(name).map_err(|e| anyhow!("unknown target {name}: {e}")),
        }
    }

    /// The compiler options these arguments stand for.
    pub fn compile_options(&self) -> Result<CompileOptions> {
        Ok(CompileOptions {
            target: self.triple()?,
            opt_level: match self.opt_level {
                OptLevelArg::None => OptLevel::None,
                OptLevelArg::Speed => OptLevel::Speed,
                OptLevelArg::SpeedAndSize => OptLevel::SpeedAndSize,
            },
            ..CompileOptions::default()
        })
    }
}
