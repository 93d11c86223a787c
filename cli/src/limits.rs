//! The limit flags of `kiln run` and `kiln build` (baked into the executable with the
//! grants): `--max-memory`, `--max-table-elements`, `--max-stack`, `--fuel`, `--timeout`,
//! and for WASI 0.2 components `--max-resources` and `--hostcall-fuel`.
//! The last two also compile their checks into the code. Values are parsed here
//! rather than by clap (which also takes values that start with `-`), so that a malformed
//! one is a kiln error (exit 1) naming its flag.

use anyhow::{bail, Result};
use clap::Args;
use kiln_compiler::CompileOptions;
use kiln_runtime::{ResourceLimits, RunLimits};
use std::time::Duration;

/// The most `--max-resources` may be: the WASI 0.2 host's own limit.
const MAX_RESOURCES: u32 = 1 << 20;

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
    /// Units of fuel the guest may spend (every operator but nop, drop, block, loop, end,
    /// else, return and unreachable costs one; the same count on every target): past
    /// them it traps with "all fuel consumed". Compiles fuel metering in.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub fuel: Option<String>,
    /// Wall-clock time the guest may run, start function and blocking WASI calls
    /// included (units: ns, us, ms, s, m, h; e.g. 500ms, 2s): past it the guest traps with
    /// "interrupted: time limit". Compiles interruption checks in.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub timeout: Option<String>,
    /// WASI 0.2 components: the most resources the guest may hold at once (default and
    /// most 1048576), counted both as the host's streams, pollables, descriptors and
    /// sockets and as the handles in each component instance's table: one more traps with
    /// "the most it may" (Wasmtime: -Smax-resources).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_resources: Option<String>,
    /// WASI 0.2 components: the most bytes one call from the guest may make the host
    /// copy or allocate for its strings and lists (units as for --max-memory; default
    /// 128MiB): each string and list<u8> costs its length, any other list its length times
    /// the host's value size (32 bytes). Past it the guest traps with "hostcall fuel
    /// exhausted" (Wasmtime: -Shostcall-fuel).
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub hostcall_fuel: Option<String>,
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
            fuel: self
                .fuel
                .as_deref()
                .map(|text| parse_count("--fuel", text))
                .transpose()?,
            timeout: self
                .timeout
                .as_deref()
                .map(|text| parse_duration("--timeout", text))
                .transpose()?,
            max_resources: self
                .max_resources
                .as_deref()
                .map(|text| {
                    let count = parse_count("--max-resources", text)?;
                    match u32::try_from(count) {
                        Ok(count) if count <= MAX_RESOURCES => Ok(count),
                        _ => bail!("--max-resources {count}: more than the most, {MAX_RESOURCES}"),
                    }
                })
                .transpose()?,
            hostcall_fuel: self
                .hostcall_fuel
                .as_deref()
                .map(|text| parse_bytes("--hostcall-fuel", text))
                .transpose()?,
        })
    }
}

/// `options` with the checks `limits` need compiled in: fuel metering for a fuel limit,
/// interruption checks for a time limit.
pub fn instrumented(options: &CompileOptions, limits: &RunLimits) -> CompileOptions {
    CompileOptions {
        fuel: options.fuel || limits.fuel.is_some(),
        interruptible: options.interruptible || limits.timeout.is_some(),
        ..options.clone()
    }
}

/// A duration: decimal digits and a unit (ns, us, ms, s, m, h).
fn parse_duration(flag: &str, text: &str) -> Result<Duration> {
    const UNITS: [(&str, u64); 6] = [
        ("ns", 1),
        ("us", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    let (digits, unit) = split_number(text);
    match (digits.parse::<u64>(), unit_multiplier(&UNITS, unit)) {
        (Ok(value), Some(per_unit)) => match value.checked_mul(per_unit) {
            Some(nanos) => Ok(Duration::from_nanos(nanos)),
            None => bail!("{flag} {text:?}: longer than 584 years"),
        },
        _ => {
            bail!("{flag} {text:?}: expected a number and a unit (ns, us, ms, s, m, h), e.g. 500ms")
        }
    }
}

/// A count: decimal digits.
fn parse_count(flag: &str, text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(value) => Ok(value),
        Err(_) => bail!("{flag} {text:?}: expected a whole number"),
    }
}

/// `text` (trimmed) as its leading decimal digits and the rest (trimmed).
fn split_number(text: &str) -> (&str, &str) {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    (digits, unit.trim())
}

/// What `unit` multiplies by, if it is one of `units`.
fn unit_multiplier(units: &[(&str, u64)], unit: &str) -> Option<u64> {
    units.iter().find(|(name, _)| *name == unit).map(|u| u.1)
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
    let (digits, unit) = split_number(text);
    let multiplier = if unit.is_empty() {
        Some(1)
    } else {
        unit_multiplier(&UNITS, unit)
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
    fn durations_need_a_unit() {
        assert_eq!(
            parse_duration("--t", "500ms").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_duration("--t", "2s").unwrap(), Duration::from_secs(2));
        assert_eq!(
            parse_duration("--t", "3m").unwrap(),
            Duration::from_secs(180)
        );
        assert_eq!(
            parse_duration("--t", "1h").unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            parse_duration("--t", "7us").unwrap(),
            Duration::from_micros(7)
        );
        for bad in [
            "",
            "5",
            "ms",
            "-1s",
            "1.5s",
            "2 days",
            "99999999999999999999s",
        ] {
            let error = parse_duration("--timeout", bad).unwrap_err().to_string();
            assert!(error.starts_with("--timeout"), "{bad:?}: {error}");
        }
        assert!(parse_duration("--t", "9999999999h")
            .unwrap_err()
            .to_string()
            .contains("584 years"));
    }

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
    fn component_limits_name_their_flag() {
        let args = LimitArgs {
            max_resources: Some("100".into()),
            hostcall_fuel: Some("5KiB".into()),
            ..LimitArgs::default()
        };
        let limits = args.limits().unwrap();
        assert_eq!(limits.max_resources, Some(100));
        assert_eq!(limits.hostcall_fuel, Some(5 << 10));
        for (max_resources, hostcall_fuel, flag) in [
            ("2000000", "1", "--max-resources"),
            ("x", "1", "--max-resources"),
            ("1", "5 apples", "--hostcall-fuel"),
        ] {
            let args = LimitArgs {
                max_resources: Some(max_resources.into()),
                hostcall_fuel: Some(hostcall_fuel.into()),
                ..LimitArgs::default()
            };
            let error = args.limits().unwrap_err().to_string();
            assert!(error.starts_with(flag), "{error}");
        }
    }

    #[test]
    fn counts_are_plain_numbers() {
        assert_eq!(parse_count("--n", "1000").unwrap(), 1000);
        assert!(parse_count("--n", "1k").is_err());
        assert!(parse_count("--n", "-5").is_err());
    }
}
