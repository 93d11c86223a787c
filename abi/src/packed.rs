//! Byte strings that the compiler may store compressed: of the metadata, the active data
//! segments, which instantiation unpacks straight into linear memory, and the function
//! names, which the runtime unpacks the first time a backtrace or perf map names a
//! function; on their own, the code tables (trap and call-site tables), which the runtime
//! unpacks when it registers the module ([`Packed::write_standalone`]).
//!
//! The compression is LZ4's block format (`lz4_flex`, safe Rust in both directions): its
//! decoder is about a kilobyte of code, and it unpacks at memory speed. The writer
//! compresses a string only when that saves at least [`MIN_SAVING`] bytes, so modules with
//! little data (a hello) keep it as it is, and their executables link no decoder at all
//! (the runtime's unpacking is a part linked on demand, `kiln_runtime::linked::UNPACK`).
//! Compression is deterministic: the same bytes always pack the same way.
//!
//! ```text
//!   unpacked_len   u32: 0, the bytes as they are; n, an LZ4 block that unpacks into n bytes
//!   bytes          &[u8], the stored bytes
//!
//! (A length of 0 for plain bytes, not an `Option`: every executable decodes the field,
//! and the `Option` cost a static hello 150 bytes more of decoder. An empty string is
//! never compressed.)
//! ```
//!
//! A hostile `unpacked_len` cannot size a large allocation: unpacking refuses one above
//! what LZ4 can reach from the stored bytes ([`max_unpacked_len`]) before anything is
//! allocated, and a stream that does not unpack into exactly `unpacked_len` bytes is an
//! error. (The metadata's decoder reads the fields only, as it must in every executable;
//! the checks are in the unpacking, which only executables that need it link.) A passive
//! data segment is never compressed: `memory.init` finds a compressed one empty.

use serde::{Deserialize, Serialize};

/// The least a string's compression must save for the writer to store it compressed:
/// about the code an executable then links to unpack it (x86_64: the LZ4 decoder 1,432
/// bytes, the names' unpacking 233; the Rust WASI `files` program's data segment saves
/// 7 KB, its function names 3.6 KB).
pub const MIN_SAVING: usize = 1536;

/// A byte string as the metadata stores it, borrowed from the encoded metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packed<'a> {
    /// 0: [`Packed::bytes`] are the string; `n`: they are an LZ4 block that unpacks into
    /// the string's `n` bytes.
    pub unpacked_len: u32,
    /// The stored bytes.
    pub bytes: &'a [u8],
}

/// A compressed string that did not unpack into its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnpackError;

impl core::fmt::Display for UnpackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("corrupt compressed bytes")
    }
}

impl std::error::Error for UnpackError {}

impl<'a> Packed<'a> {
    /// `bytes` stored as they are.
    pub const fn plain(bytes: &'a [u8]) -> Packed<'a> {
        Packed {
            unpacked_len: 0,
            bytes,
        }
    }

    /// The bytes, when they are stored as they are.
    pub fn as_plain(&self) -> Option<&'a [u8]> {
        (self.unpacked_len == 0).then_some(self.bytes)
    }

    /// Length of the string (unpacked).
    pub fn len(&self) -> usize {
        match self.unpacked_len {
            0 => self.bytes.len(),
            len => len as usize,
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the stored bytes could unpack into the length the string claims (always
    /// for a plain string).
    pub fn is_plausible(&self) -> bool {
        self.len() as u64 <= max_unpacked_len(self.bytes.len()).max(self.bytes.len() as u64)
    }

    /// Writes the string into `out`, which must be exactly [`Packed::len`] bytes long.
    pub fn unpack_into(&self, out: &mut [u8]) -> Result<(), UnpackError> {
        if out.len() != self.len() || !self.is_plausible() {
            return Err(UnpackError);
        }
        match self.unpacked_len {
            0 => out.copy_from_slice(self.bytes),
            _ => match lz4_flex::block::decompress_into(self.bytes, out) {
                Ok(written) if written == out.len() => {}
                _ => return Err(UnpackError),
            },
        }
        Ok(())
    }

    /// The string, unpacked into a new vector (never larger than [`max_unpacked_len`] of
    /// the stored bytes).
    pub fn to_vec(&self) -> Result<Vec<u8>, UnpackError> {
        if !self.is_plausible() {
            return Err(UnpackError);
        }
        let mut out = vec![0; self.len()];
        self.unpack_into(&mut out)?;
        Ok(out)
    }
}

impl<'a> Packed<'a> {
    /// Appends the string as it is stored on its own, outside the metadata (the code
    /// tables, `kiln_code_tables`): [`Packed::unpacked_len`] as 4 bytes, little-endian,
    /// then the stored bytes.
    pub fn write_standalone(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.unpacked_len.to_le_bytes());
        out.extend_from_slice(self.bytes);
    }

    /// A string written by [`Packed::write_standalone`]; `None` without the 4 bytes of
    /// its length.
    pub fn read_standalone(bytes: &'a [u8]) -> Option<Packed<'a>> {
        let (len, bytes) = bytes.split_first_chunk::<4>()?;
        Some(Packed {
            unpacked_len: u32::from_le_bytes(*len),
            bytes,
        })
    }
}

/// `bytes` compressed, when that saves at least [`MIN_SAVING`] bytes (and they fit the
/// format's `u32` length); store the result with `unpacked_len: bytes.len()`.
pub fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    u32::try_from(bytes.len()).ok()?;
    if bytes.len() < MIN_SAVING {
        return None;
    }
    let packed = lz4_flex::block::compress(bytes);
    (packed.len().saturating_add(MIN_SAVING) <= bytes.len()).then_some(packed)
}

/// The longest string an LZ4 block of `stored` bytes can unpack into: a sequence of
/// `1 + k` bytes (token, then `k` bytes of 255 extending a match) and a 2-byte offset
/// copies at most `255 * (k + 1) + 19` bytes, so under 256 bytes per stored byte.
pub fn max_unpacked_len(stored: usize) -> u64 {
    (stored as u64).saturating_mul(256)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(len: usize) -> Vec<u8> {
        let words = [
            "core::",
            "fmt::",
            "Write",
            "<alloc::vec::Vec<u8>>",
            " as ",
            "::",
        ];
        let mut out = Vec::new();
        let mut state = 7u32;
        while out.len() < len {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            out.extend_from_slice(words[(state >> 16) as usize % words.len()].as_bytes());
        }
        out.truncate(len);
        out
    }

    #[test]
    fn standalone_strings_carry_their_length_in_front() {
        let text = b"code tables ".repeat(200);
        let compressed = compress(&text).unwrap();
        for packed in [
            Packed::plain(b"plain"),
            Packed {
                unpacked_len: text.len() as u32,
                bytes: &compressed,
            },
        ] {
            let mut stored = Vec::new();
            packed.write_standalone(&mut stored);
            assert_eq!(stored.len(), 4 + packed.bytes.len());
            assert_eq!(Packed::read_standalone(&stored), Some(packed));
        }
        assert_eq!(Packed::read_standalone(&[1, 0, 0]), None);
    }

    #[test]
    fn compressible_strings_round_trip() {
        let bytes = text(20_000);
        let stored = compress(&bytes).expect("repetitive text compresses");
        assert!(stored.len() + MIN_SAVING <= bytes.len());
        let packed = Packed {
            unpacked_len: bytes.len() as u32,
            bytes: &stored,
        };
        assert_eq!(packed.len(), bytes.len());
        assert_eq!(packed.as_plain(), None);
        assert_eq!(packed.to_vec().unwrap(), bytes);
        assert!((stored.len() as u64) * 256 >= bytes.len() as u64);
        assert!(max_unpacked_len(stored.len()) >= bytes.len() as u64);
        // Deterministic: reproducible builds depend on it.
        assert_eq!(compress(&bytes).unwrap(), stored);
    }

    #[test]
    fn small_or_random_strings_stay_plain() {
        assert_eq!(compress(&text(MIN_SAVING - 1)), None);
        assert_eq!(compress(b""), None);
        let mut state = 1u64;
        let random: Vec<u8> = (0..8192)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert_eq!(compress(&random), None);
        let plain = Packed::plain(b"abc");
        assert_eq!(plain.as_plain(), Some(&b"abc"[..]));
        assert_eq!(plain.to_vec().unwrap(), b"abc");
    }

    #[test]
    fn corrupt_streams_are_errors_not_panics() {
        let bytes = text(4096);
        let stored = compress(&bytes).unwrap();
        let unpack = |stored: &[u8], len: u32| {
            Packed {
                unpacked_len: len,
                bytes: stored,
            }
            .to_vec()
        };
        // A wrong length either way.
        assert_eq!(unpack(&stored, 4095), Err(UnpackError));
        assert_eq!(unpack(&stored, 4097), Err(UnpackError));
        for len in 0..stored.len() {
            assert_eq!(unpack(&stored[..len], 4096), Err(UnpackError));
        }
        for index in 0..stored.len() {
            for value in [0x00, 0x0f, 0xf0, 0xff] {
                let mut altered = stored.clone();
                altered[index] = value;
                let _ = unpack(&altered, 4096);
            }
        }
        // A length LZ4 cannot reach from the stored bytes is refused before allocating.
        let claim = |len| Packed {
            unpacked_len: len,
            bytes: &[0x1f, 0, 1, 2],
        };
        assert!(claim(1024).is_plausible());
        assert!(!claim(1025).is_plausible());
        assert_eq!(claim(u32::MAX).to_vec(), Err(UnpackError));
        // An output of the wrong length for a plain string.
        assert_eq!(
            Packed::plain(b"ab").unpack_into(&mut [0; 3]),
            Err(UnpackError)
        );
    }
}
