//! `wasi:random`: random (`get-random-bytes`, `get-random-u64`), insecure
//! (`get-insecure-random-bytes`, `get-insecure-random-u64`) and insecure-seed, all from
//! preview 1's source: the host's `getrandom(2)`, or in deterministic mode one fixed
//! SplitMix64 stream shared by all of them. The insecure seed is drawn once per host and
//! then the same at every call (the WIT means it for seeding hash maps once; Wasmtime's
//! test program `p2_random` checks that two calls agree).

use super::values::one;
use super::{host_fn, Args, HostFunction, HostResult, WasiP2};
use crate::component::{ComponentVal, HostCallError};

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!("wasi:random/random", "get-random-bytes", get_random_bytes),
    host_fn!("wasi:random/random", "get-random-u64", get_random_u64),
    host_fn!(
        "wasi:random/insecure",
        "get-insecure-random-bytes",
        get_insecure_random_bytes
    ),
    host_fn!(
        "wasi:random/insecure",
        "get-insecure-random-u64",
        get_insecure_random_u64
    ),
    host_fn!("wasi:random/insecure-seed", "insecure-seed", insecure_seed),
];

/// The most bytes one call gives: a guest asking for more traps rather than making the
/// host allocate whatever a `u64` says.
const MAX_BYTES: u64 = 1 << 26;

fn bytes(host: &mut WasiP2, mut args: Args, function: &str) -> HostResult {
    let len = args.u64()?;
    args.end()?;
    if len > MAX_BYTES {
        return Err(HostCallError::Trap(format!(
            "wasi: {function} of {len} bytes, more than the {MAX_BYTES} the host gives at once"
        )));
    }
    let mut buffer = vec![0u8; len as usize];
    fill(host, &mut buffer)?;
    Ok(one(ComponentVal::Bytes(buffer)))
}

fn fill(host: &WasiP2, buffer: &mut [u8]) -> Result<(), HostCallError> {
    host.state
        .random
        .fill(buffer)
        .map_err(|_| HostCallError::Failed("wasi: getrandom(2) failed".into()))
}

fn u64(host: &WasiP2) -> Result<u64, HostCallError> {
    let mut buffer = [0u8; 8];
    fill(host, &mut buffer)?;
    Ok(u64::from_le_bytes(buffer))
}

fn get_random_bytes(host: &mut WasiP2, args: Args) -> HostResult {
    bytes(host, args, "get-random-bytes")
}

fn get_random_u64(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    Ok(one(ComponentVal::U64(u64(host)?)))
}

fn get_insecure_random_bytes(host: &mut WasiP2, args: Args) -> HostResult {
    bytes(host, args, "get-insecure-random-bytes")
}

fn get_insecure_random_u64(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    Ok(one(ComponentVal::U64(u64(host)?)))
}

fn insecure_seed(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let (first, second) = match host.insecure_seed {
        Some(seed) => seed,
        None => {
            let seed = (u64(host)?, u64(host)?);
            host.insecure_seed = Some(seed);
            seed
        }
    };
    Ok(one(ComponentVal::Tuple(vec![
        ComponentVal::U64(first),
        ComponentVal::U64(second),
    ])))
}
