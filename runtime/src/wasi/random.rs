//! WASI randomness: `random_get` fills guest memory from the host's `getrandom(2)`, or
//! from a fixed pseudo-random stream (see [`Random::Stream`]).

use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};
use std::cell::Cell;

pub(super) const DEFINITIONS: &[&Definition] = &[errno_fn!(random_get)];

/// Where `random_get`'s bytes come from.
pub(crate) enum Random {
    /// The host's `getrandom(2)`.
    Host,
    /// SplitMix64 from state 0, the same on every run: each `random_get` fills its buffer
    /// with the little-endian bytes of successive outputs, in order, and drops what is
    /// left of the last one. Not for secrets: anyone can predict it.
    Stream(Cell<u64>),
}

impl Random {
    /// The next output of the SplitMix64 generator whose state is `state`.
    fn splitmix64(state: &Cell<u64>) -> u64 {
        state.set(state.get().wrapping_add(0x9e37_79b9_7f4a_7c15));
        let mut z = state.get();
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn random_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    pointer: u32,
    len: u32,
) -> Result<(), Errno> {
    state.random.fill(memory.slice_mut(pointer, len)?)
}

impl Random {
    /// Fills `buffer` from this source (preview 1's `random_get`, WASI 0.2's
    /// `get-random-bytes`).
    pub(crate) fn fill(&self, mut buffer: &mut [u8]) -> Result<(), Errno> {
        if let Random::Stream(generator) = self {
            for chunk in buffer.chunks_mut(8) {
                let bytes = Random::splitmix64(generator).to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
            return Ok(());
        }
        while !buffer.is_empty() {
            // SAFETY: filling a valid buffer of `buffer.len()` bytes.
            let filled = unsafe { libc::getrandom(buffer.as_mut_ptr().cast(), buffer.len(), 0) };
            if filled < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(Errno::IO);
            }
            buffer = &mut buffer[filled as usize..];
        }
        Ok(())
    }
}
