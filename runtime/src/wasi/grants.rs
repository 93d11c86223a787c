//! What `kiln build` bakes into an executable: the WASI grants given on its command
//! line (`--dir`, `--dir-read-only`, `--env`, `--inherit-env`, `--deterministic`, the
//! network grants, `--argv0`, `--cwd`), encoded as bytes behind the symbol [`GRANTS_SYMBOL`], which the
//! executable's `main` reads (see `exe_main.rs`).
//!
//! ```text
//!   kiln_wasi_grants:  u64 length (LE) | records...
//!   record:            kind u8 | u32 length (LE) | bytes
//!     kind 1  env          NAME=VALUE
//!     kind 2  dir          HOST \0 GUEST
//!     kind 3  inherit-env  (empty)
//!     kind 4  deterministic (empty): virtual clocks and a fixed random stream
//!     kind 5  max-memory   bytes, decimal
//!     kind 6  max-table-elements  elements, decimal
//!     kind 7  max-stack    bytes, decimal
//!     kind 8  fuel         units, decimal
//!     kind 9  timeout      nanoseconds, decimal
//!     kind 10 tcp-listen   address pattern: 4 or 6 (u8) | prefix length (u8) | port
//!                          (u16 LE) | address (4 or 16 bytes), see `network.rs`
//!     kind 11 tcp-connect  address pattern
//!     kind 12 udp          address pattern
//!     kind 13 ip-name-lookup  (empty)
//!     kind 14 inherit-network (empty)
//!     kind 15 dir-read-only  HOST \0 GUEST
//!     kind 16 argv0        the guest's first argument, instead of the executable's
//!     kind 17 cwd          the guest's initial working directory (WASI 0.2)
//!     kind 18 max-resources  resources, decimal (WASI 0.2)
//!     kind 19 hostcall-fuel  bytes, decimal (WASI 0.2)
//! ```
//!
//! The guest gets the `dir` preopens first, then the `dir-read-only` ones, each in the
//! order of their records.
//!
//! Besides the grants, the records carry the limits (`RunLimits`) the guest runs under.
//!
//! The runtime archive defines the symbol weakly with length 0 (no grants); the object
//! `kiln build` links beside the module defines it strongly. At run time an executable
//! passes its own argv to the guest and takes no other overrides: it can never reach
//! more than was baked in.

use super::{AddressPattern, NetworkGrants, WasiCtx};
use crate::limits::RunLimits;

/// The symbol of the encoded grants.
pub const GRANTS_SYMBOL: &str = "kiln_wasi_grants";

/// WASI grants for a built executable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// `NAME=VALUE` pairs.
    pub env: Vec<(String, String)>,
    pub inherit_env: bool,
    /// `(host path, guest path)` pairs.
    pub dirs: Vec<(String, String)>,
    /// `(host path, guest path)` pairs the guest may only read beneath
    /// ([`WasiCtx::preopen_dir_read_only`]); preopened after [`Grants::dirs`].
    pub read_only_dirs: Vec<(String, String)>,
    /// Virtual clocks and a fixed random stream ([`WasiCtx::deterministic`]).
    pub deterministic: bool,
    /// The limits the guest runs under.
    pub limits: RunLimits,
    /// What WASI 0.2's sockets may reach.
    pub network: NetworkGrants,
    /// The guest's first argument (`--argv0`); without it, the program's name.
    pub argv0: Option<String>,
    /// The guest's initial working directory ([`WasiCtx::initial_cwd`]).
    pub cwd: Option<String>,
}

const KIND_ENV: u8 = 1;
const KIND_DIR: u8 = 2;
const KIND_INHERIT_ENV: u8 = 3;
const KIND_DETERMINISTIC: u8 = 4;
const KIND_MAX_MEMORY: u8 = 5;
const KIND_MAX_TABLE_ELEMENTS: u8 = 6;
const KIND_MAX_STACK: u8 = 7;
const KIND_FUEL: u8 = 8;
const KIND_TIMEOUT: u8 = 9;
const KIND_TCP_LISTEN: u8 = 10;
const KIND_TCP_CONNECT: u8 = 11;
const KIND_UDP: u8 = 12;
const KIND_IP_NAME_LOOKUP: u8 = 13;
const KIND_INHERIT_NETWORK: u8 = 14;
const KIND_DIR_READ_ONLY: u8 = 15;
const KIND_ARGV0: u8 = 16;
const KIND_CWD: u8 = 17;
const KIND_MAX_RESOURCES: u8 = 18;
const KIND_HOSTCALL_FUEL: u8 = 19;

impl Grants {
    /// The symbol's contents: the length, then the records.
    pub fn encode(&self) -> Vec<u8> {
        let mut records = Vec::new();
        let mut record = |kind: u8, bytes: &[u8]| {
            records.push(kind);
            records.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            records.extend_from_slice(bytes);
        };
        for (name, value) in &self.env {
            record(KIND_ENV, format!("{name}={value}").as_bytes());
        }
        for (host, guest) in &self.dirs {
            record(KIND_DIR, format!("{host}\0{guest}").as_bytes());
        }
        for (host, guest) in &self.read_only_dirs {
            record(KIND_DIR_READ_ONLY, format!("{host}\0{guest}").as_bytes());
        }
        if self.inherit_env {
            record(KIND_INHERIT_ENV, &[]);
        }
        if self.deterministic {
            record(KIND_DETERMINISTIC, &[]);
        }
        let network = &self.network;
        for (kind, patterns) in [
            (KIND_TCP_LISTEN, &network.tcp_listen),
            (KIND_TCP_CONNECT, &network.tcp_connect),
            (KIND_UDP, &network.udp),
        ] {
            for pattern in patterns {
                record(kind, &pattern.to_bytes());
            }
        }
        if network.ip_name_lookup {
            record(KIND_IP_NAME_LOOKUP, &[]);
        }
        if network.inherit {
            record(KIND_INHERIT_NETWORK, &[]);
        }
        if let Some(argv0) = &self.argv0 {
            record(KIND_ARGV0, argv0.as_bytes());
        }
        if let Some(cwd) = &self.cwd {
            record(KIND_CWD, cwd.as_bytes());
        }
        let limits = &self.limits;
        for (kind, value) in [
            (KIND_MAX_MEMORY, limits.resources.max_memory_bytes),
            (KIND_MAX_TABLE_ELEMENTS, limits.resources.max_table_elements),
            (KIND_MAX_STACK, limits.max_wasm_stack.map(|b| b as u64)),
            (KIND_FUEL, limits.fuel),
            (
                KIND_TIMEOUT,
                limits
                    .timeout
                    .map(|t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)),
            ),
            (KIND_MAX_RESOURCES, limits.max_resources.map(u64::from)),
            (KIND_HOSTCALL_FUEL, limits.hostcall_fuel),
        ] {
            if let Some(value) = value {
                record(kind, value.to_string().as_bytes());
            }
        }
        let mut bytes = (records.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&records);
        bytes
    }

    /// Decodes the records (without the length prefix); `None` if malformed.
    pub fn decode(mut records: &[u8]) -> Option<Grants> {
        let mut grants = Grants::default();
        while let [kind, rest @ ..] = records {
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let bytes = rest.get(4..4 + len)?;
            // Text but for the address patterns.
            let text = std::str::from_utf8(bytes).ok();
            match *kind {
                KIND_ENV => {
                    let (name, value) = text?.split_once('=')?;
                    grants.env.push((name.into(), value.into()));
                }
                KIND_DIR => {
                    let (host, guest) = text?.split_once('\0')?;
                    grants.dirs.push((host.into(), guest.into()));
                }
                KIND_DIR_READ_ONLY => {
                    let (host, guest) = text?.split_once('\0')?;
                    grants.read_only_dirs.push((host.into(), guest.into()));
                }
                KIND_INHERIT_ENV => grants.inherit_env = true,
                KIND_DETERMINISTIC => grants.deterministic = true,
                KIND_MAX_MEMORY => grants.limits.resources.max_memory_bytes = Some(decimal(text?)?),
                KIND_MAX_TABLE_ELEMENTS => {
                    grants.limits.resources.max_table_elements = Some(decimal(text?)?)
                }
                KIND_MAX_STACK => grants.limits.max_wasm_stack = Some(decimal(text?)?),
                KIND_FUEL => grants.limits.fuel = Some(decimal(text?)?),
                KIND_TIMEOUT => {
                    let nanos = decimal(text?)?;
                    grants.limits.timeout = Some(std::time::Duration::from_nanos(nanos))
                }
                // Binary, so that decoding them needs no text parsing: the code of every
                // executable carries this function, most never granted a socket.
                KIND_TCP_LISTEN => grants
                    .network
                    .tcp_listen
                    .push(AddressPattern::from_bytes(bytes)?),
                KIND_TCP_CONNECT => grants
                    .network
                    .tcp_connect
                    .push(AddressPattern::from_bytes(bytes)?),
                KIND_UDP => grants.network.udp.push(AddressPattern::from_bytes(bytes)?),
                KIND_IP_NAME_LOOKUP => grants.network.ip_name_lookup = true,
                KIND_INHERIT_NETWORK => grants.network.inherit = true,
                KIND_ARGV0 => grants.argv0 = Some(text?.into()),
                KIND_CWD => grants.cwd = Some(text?.into()),
                KIND_MAX_RESOURCES => grants.limits.max_resources = Some(decimal(text?)?),
                KIND_HOSTCALL_FUEL => grants.limits.hostcall_fuel = Some(decimal(text?)?),
                _ => return None,
            }
            records = &rest[4 + len..];
        }
        Some(grants)
    }

    /// The WASI context these grants give a guest run with `args`; the first is replaced
    /// by [`Grants::argv0`] when it is set.
    pub fn ctx(&self, mut args: Vec<String>) -> Result<WasiCtx, PreopenError> {
        if let Some(argv0) = &self.argv0 {
            match args.first_mut() {
                Some(first) => first.clone_from(argv0),
                None => args.push(argv0.clone()),
            }
        }
        let mut ctx = WasiCtx::new()
            .args(args)
            .env(self.env.clone())
            .network(self.network.clone());
        if self.inherit_env {
            ctx = ctx.inherit_env();
        }
        if self.deterministic {
            ctx = ctx.deterministic();
        }
        if let Some(cwd) = &self.cwd {
            ctx = ctx.initial_cwd(cwd.clone());
        }
        for (host, guest) in &self.dirs {
            ctx = ctx.preopen_dir(host, guest).map_err(|error| PreopenError {
                host: host.clone(),
                error,
            })?;
        }
        for (host, guest) in &self.read_only_dirs {
            ctx = ctx
                .preopen_dir_read_only(host, guest)
                .map_err(|error| PreopenError {
                    host: host.clone(),
                    error,
                })?;
        }
        Ok(ctx)
    }
}

/// The number a limit record holds, in decimal as `str::parse` reads it (an optional `+`,
/// then at least one digit), converted to the limit's type; `None` when it is not one or
/// does not fit. Not `str::parse` itself: its instances for each integer type were 380
/// bytes of every executable.
fn decimal<T: TryFrom<u64>>(text: &str) -> Option<T> {
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    let mut value = 0u64;
    for byte in digits.bytes() {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    T::try_from(value).ok()
}

/// A granted directory that cannot be opened.
///
/// A type of its own rather than an `io::Error` with a formatted message: that would bring
/// into every executable the `Debug` formatting of strings, with its Unicode tables.
#[derive(Debug)]
pub struct PreopenError {
    /// The directory's host path.
    pub host: String,
    /// Why it cannot be opened.
    pub error: std::io::Error,
}

impl std::fmt::Display for PreopenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "preopening {}: {}",
            self.host,
            crate::error::IoMessage(&self.error)
        )
    }
}

impl std::error::Error for PreopenError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_round_trip() {
        let grants = Grants {
            env: vec![("A".into(), "x=y\nz".into())],
            inherit_env: true,
            dirs: vec![("fs".into(), "/".into())],
            read_only_dirs: vec![("data".into(), "/data".into()), ("a b".into(), ".".into())],
            deterministic: true,
            limits: RunLimits {
                resources: crate::ResourceLimits {
                    max_memory_bytes: Some(64 << 20),
                    max_table_elements: Some(1000),
                },
                max_wasm_stack: Some(256 << 10),
                fuel: Some(1_000_000),
                timeout: Some(std::time::Duration::from_millis(1500)),
                max_resources: Some(100),
                hostcall_fuel: Some(5000),
            },
            network: NetworkGrants {
                tcp_listen: vec![pattern("127.0.0.1:0"), pattern("[::1]:8080")],
                tcp_connect: vec![pattern("10.0.0.0/8:443")],
                udp: vec![pattern("[fd00::/8]:53")],
                ip_name_lookup: true,
                inherit: true,
            },
            argv0: Some("b c".into()),
            cwd: Some("/sandbox".into()),
        };
        let bytes = grants.encode();
        assert_eq!(
            u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize,
            bytes.len() - 8
        );
        assert_eq!(Grants::decode(&bytes[8..]), Some(grants));
        assert_eq!(Grants::decode(&[]), Some(Grants::default()));
        assert_eq!(Grants::decode(&[99, 0, 0, 0, 0]), None);
        assert_eq!(Grants::decode(&[9, 2, 0, 0, 0, b'1', b's']), None);
        assert_eq!(Grants::decode(&[1, 9, 0, 0, 0]), None);
        // A read-only directory without the NUL between its paths.
        assert_eq!(Grants::decode(&[15, 2, 0, 0, 0, b'a', b'b']), None);
        assert_eq!(Grants::decode(&[5, 2, 0, 0, 0, b'x', b'1']), None);
        // Address patterns that do not decode: too short, a prefix past the address.
        assert_eq!(Grants::decode(&[10, 3, 0, 0, 0, 4, 32, 0]), None);
        assert_eq!(
            Grants::decode(&[12, 8, 0, 0, 0, 4, 33, 0, 0, 127, 0, 0, 1]),
            None
        );
        assert_eq!(
            Grants::decode(&[11, 8, 0, 0, 0, 5, 0, 0, 0, 1, 2, 3, 4]),
            None
        );
    }

    #[test]
    fn argv0_replaces_the_first_argument_and_cwd_reaches_the_context() {
        let grants = Grants {
            argv0: Some("b".into()),
            cwd: Some("/sandbox".into()),
            ..Grants::default()
        };
        let ctx = grants.ctx(vec!["prog".into(), "x".into()]).unwrap();
        let debug = format!("{ctx:?}");
        assert!(debug.contains(r#"args: ["b", "x"]"#), "{debug}");
        assert!(
            debug.contains(r#"initial_cwd: Some("/sandbox")"#),
            "{debug}"
        );
        // No arguments at all (an executable started with an empty argv): argv0 is the one.
        let ctx = grants.ctx(Vec::new()).unwrap();
        assert!(format!("{ctx:?}").contains(r#"args: ["b"]"#));
        let ctx = Grants::default().ctx(vec!["prog".into()]).unwrap();
        let debug = format!("{ctx:?}");
        assert!(debug.contains(r#"args: ["prog"]"#), "{debug}");
        assert!(debug.contains("initial_cwd: None"), "{debug}");
        // A malformed limit record.
        assert_eq!(Grants::decode(&[18, 1, 0, 0, 0, b'x']), None);
    }

    #[test]
    fn limits_decode_as_str_parse_reads_them() {
        for text in [
            "0",
            "+7",
            "007",
            "18446744073709551615",
            "18446744073709551616",
            "4294967295",
            "4294967296",
            "",
            "+",
            "-1",
            "1 ",
            " 1",
            "1_000",
            "١",
            "0x10",
        ] {
            assert_eq!(decimal::<u64>(text), text.parse::<u64>().ok(), "{text:?}");
            assert_eq!(decimal::<u32>(text), text.parse::<u32>().ok(), "{text:?}");
            assert_eq!(
                decimal::<usize>(text),
                text.parse::<usize>().ok(),
                "{text:?}"
            );
        }
    }

    fn pattern(text: &str) -> AddressPattern {
        text.parse().unwrap()
    }
}
