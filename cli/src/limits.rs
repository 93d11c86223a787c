//! The limit flags of `kiln run` and `kiln build` (baked into the executable with the
//! grants): `--max-memory`, `--max-table-elements`, `--max-stack`. Values are parsed here
//! rather than by clap (which also takes values that start with `-`), so that a malformed
//! one is a kiln error (exit 1) naming its flag.

use anyhow::{bail, Result};
use clap::Args;
use kiln_runtime::{ResourceLimits, RunLimits};

/// Limits for the guest.
#[derive(Args, Debug, Default)]
pub struct LimitArgs {
    /// The most bytes any one memory may have (units: B, KiB, MiB, GiB, TiB, kB, MB, GB,
    /// TB; e.g. 64MiB). `memory.grow` past it returns -1; a memory that starts larger fails
    /// instantiation.
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub max_memory: Option<String>,
    /// The most elements any one table may have. `table.grow` past it returns -1; a table
    /// that starts larger fails instantiation.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_table_elements: Option<String>,
    /// How much stack wasm may use (units as for --max-memory; default 1MiB): a deeper
    /// recursion traps with "call stack exhausted". Capped by the thread's own stack.
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub max_stack: Option<String>,
}

impl LimitArgs {
    /// The limits these flags ask for.
    pub fn limits(&self) -> Result<RunLimits> {
        let max_stack = self
            .max_stack
            .as_deref()
            .map(|text| parse_bytes("--max-stack", text))
            .transpose()?;
        Ok(RunLimits {
            resources: ResourceLimits {
                max_memory_bytes: self
                    .max_memory
                    .as_deref()
                    .map(|text| parse_bytes("--max-memory", text))
                    .transpose()?,
                max_table_elements: self
                    .max_table_elements
                    .as_deref()
                    .map(|text| parse_count("--max-table-elements", text))
                    .transpose()?,
            },
            max_wasm_stack: max_stack
                .map(|bytes| {
                    usize::try_from(bytes).or_else(|_| bail!("--max-stack {bytes}: too large"))
                })
                .transpose()?,
        })
    }
}

/// A count: decimal digits.
fn parse_count(flag: &str, text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(value) => Ok(value),
        Err(_) => bail!("{flag} {text:?}: expected a number of elements"),
    }
}

/// A size: decimal digits and an optional unit (binary KiB..TiB, decimal kB..TB, or B).
fn parse_bytes(flag: &str, text: &str) -> Result<u64> {
    const UNITS: [(&str, u64); 10] = [
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("TiB", 1 << 40),
        ("kB", 1_000),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("TB", 1_000_000_000_000),
        ("B", 1),
    ];
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let unit = unit.trim();
    let multiplier = if unit.is_empty() {
        Some(1)
    } else {
        UNITS.iter().find(|(name, _)| *name == unit).map(|u| u.1)
    };
    match (digits.parse::<u64>(), multiplier) {
        (Ok(value), Some(multiplier)) => match value.checked_mul(multiplier) {
            Some(bytes) => Ok(bytes),
            None => bail!("{flag} {text:?}: more bytes than fit in 64 bits"),
        },
        _ => bail!(
            "{flag} {text:?}: expected a number of bytes with an optional unit \
             (B, KiB, MiB, GiB, TiB, kB, MB, GB, TB), e.g. 64MiB"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_bytes("--f", "4096").unwrap(), 4096);
        assert_eq!(parse_bytes("--f", "64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("--f", "64 MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("--f", "2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_bytes("--f", "10B").unwrap(), 10);
        assert_eq!(parse_bytes("--f", "0").unwrap(), 0);
        for bad in [
            "",
            "MiB",
            "-1",
            "1.5MiB",
            "64mib",
            "64 XB",
            "18446744073709551616",
            "99999999TiB",
        ] {
            let error = parse_bytes("--max-memory", bad).unwrap_err().to_string();
            assert!(error.starts_with("--max-memory"), "{bad}: {error}");
        }
    }

    #[test]
    fn counts_are_plain_numbers() {
        assert_eq!(parse_count("--n", "1000").unwrap(), 1000);
        assert!(parse_count("--n", "1k").is_err());
        assert!(parse_count("--n", "-5").is_err());
    }
}
