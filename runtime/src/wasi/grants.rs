//! What `kiln build` bakes into an executable: the WASI grants given on its command
//! line (`--dir`, `--env`, `--inherit-env`, `--deterministic`), encoded as bytes behind the symbol
//! [`GRANTS_SYMBOL`], which the executable's `main` reads (see `exe_main.rs`).
//!
//! ```text
//!   kiln_wasi_grants:  u64 length (LE) | records...
//!   record:            kind u8 | u32 length (LE) | bytes
//!     kind 1  env          NAME=VALUE
//!     kind 2  dir          HOST \0 GUEST
//!     kind 3  inherit-env  (empty)
//!     kind 4  deterministic (empty): virtual clocks and a fixed random stream
//! ```
//!
//! The runtime archive defines the symbol weakly with length 0 (no grants); the object
//! `kiln build` links beside the module defines it strongly. At run time an executable
//! passes its own argv to the guest and takes no other overrides: it can never reach
//! more than was baked in.

use super::WasiCtx;

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
    /// Virtual clocks and a fixed random stream ([`WasiCtx::deterministic`]).
    pub deterministic: bool,
}

const KIND_ENV: u8 = 1;
const KIND_DIR: u8 = 2;
const KIND_INHERIT_ENV: u8 = 3;
const KIND_DETERMINISTIC: u8 = 4;

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
        if self.inherit_env {
            record(KIND_INHERIT_ENV, &[]);
        }
        if self.deterministic {
            record(KIND_DETERMINISTIC, &[]);
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
            let text = std::str::from_utf8(bytes).ok()?;
            match *kind {
                KIND_ENV => {
                    let (name, value) = text.split_once('=')?;
                    grants.env.push((name.into(), value.into()));
                }
                KIND_DIR => {
                    let (host, guest) = text.split_once('\0')?;
                    grants.dirs.push((host.into(), guest.into()));
                }
                KIND_INHERIT_ENV => grants.inherit_env = true,
                KIND_DETERMINISTIC => grants.deterministic = true,
                _ => return None,
            }
            records = &rest[4 + len..];
        }
        Some(grants)
    }

    /// The WASI context these grants give a guest run with `args`.
    pub fn ctx(&self, args: Vec<String>) -> std::io::Result<WasiCtx> {
        let mut ctx = WasiCtx::new().args(args).env(self.env.clone());
        if self.inherit_env {
            ctx = ctx.inherit_env();
        }
        if self.deterministic {
            ctx = ctx.deterministic();
        }
        for (host, guest) in &self.dirs {
            ctx = ctx.preopen_dir(host, guest).map_err(|error| {
                std::io::Error::new(error.kind(), format!("preopening {host}: {error}"))
            })?;
        }
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_round_trip() {
        let grants = Grants {
            env: vec![("A".into(), "x=y\nz".into())],
            inherit_env: true,
            dirs: vec![("fs".into(), "/".into())],
            deterministic: true,
        };
        let bytes = grants.encode();
        assert_eq!(
            u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize,
            bytes.len() - 8
        );
        assert_eq!(Grants::decode(&bytes[8..]), Some(grants));
        assert_eq!(Grants::decode(&[]), Some(Grants::default()));
        assert_eq!(Grants::decode(&[9, 0, 0, 0, 0]), None);
        assert_eq!(Grants::decode(&[1, 9, 0, 0, 0]), None);
    }
}
