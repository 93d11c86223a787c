//! Profiles for profile-guided optimization: how many times each defined function of a
//! module was entered, as `kiln build --profile-generate` executables write them and
//! `--profile-use` reads them.
//!
//! ```text
//!  offset  size        field
//!  0       8           magic "KILNPROF"
//!  8       4           version (1), little endian
//!  12      4           number of defined functions n, little endian
//!  16      32          SHA-256 of the module's wasm bytes
//!  48      8 * n       entry count of each defined function by defined index (imports
//!                      excluded), little-endian u64s
//! ```
//!
//! The compiler writes the module's hash into the metadata of code that counts
//! ([`crate::metadata::ProfileSettings`]), and the runtime copies it into the file, so a
//! profile of another module (or of another version of it) is refused by its hash. At run
//! time the counts live in a zeroed, writable data object of the kiln object, one `u64`
//! per defined function ([`counter_offset`]), which the descriptor points to
//! (`ModuleDescriptor::profile`); each function increments its own on entry.

/// Value of a profile's first 8 bytes.
pub const PROFILE_MAGIC: [u8; 8] = *b"KILNPROF";

/// The format version this crate reads and writes.
pub const PROFILE_VERSION: u32 = 1;

/// Bytes before the counts.
pub const PROFILE_HEADER_SIZE: usize = 48;

/// Size of one counter, in the file and in the object's counter array.
pub const COUNTER_SIZE: usize = 8;

/// Byte offset of defined function `defined_index`'s counter in the counter array.
pub fn counter_offset(defined_index: u32) -> usize {
    defined_index as usize * COUNTER_SIZE
}

/// A decoded profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileData {
    /// SHA-256 of the wasm bytes of the module it was recorded for.
    pub module_sha256: [u8; 32],
    /// Entry count of each defined function, by defined index.
    pub counts: Vec<u64>,
}

/// Why bytes are not a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileError {
    /// Shorter than the header.
    Truncated {
        /// The number of bytes.
        len: usize,
    },
    /// The first 8 bytes are not [`PROFILE_MAGIC`].
    BadMagic,
    /// A version other than [`PROFILE_VERSION`].
    UnsupportedVersion(u32),
    /// The counts are not as long as the header says.
    WrongLength {
        /// Functions the header announces.
        n_functions: u32,
        /// Bytes of counts that makes.
        expected: Option<usize>,
        /// Bytes of counts the file has.
        actual: usize,
    },
}

impl core::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ProfileError::Truncated { len } => write!(
                f,
                "not a kiln profile: {len} bytes, shorter than the {PROFILE_HEADER_SIZE}-byte header"
            ),
            ProfileError::BadMagic => f.write_str("not a kiln profile: bad magic"),
            ProfileError::UnsupportedVersion(version) => write!(
                f,
                "kiln profile version {version}, this kiln reads version {PROFILE_VERSION}"
            ),
            ProfileError::WrongLength {
                n_functions,
                expected,
                actual,
            } => match expected {
                Some(expected) => write!(
                    f,
                    "corrupt kiln profile: {n_functions} functions need {expected} bytes of \
                     counts, the file has {actual}"
                ),
                None => write!(
                    f,
                    "corrupt kiln profile: {n_functions} functions are more than the file can hold"
                ),
            },
        }
    }
}

impl std::error::Error for ProfileError {}

impl ProfileData {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(&self.module_sha256, &self.counts)
    }

    /// Decodes a profile, checking every length first: bytes that are not one written by
    /// [`ProfileData::encode`] give an error, and nothing is allocated for counts the bytes
    /// do not hold.
    pub fn decode(bytes: &[u8]) -> Result<ProfileData, ProfileError> {
        let Some((header, counts)) = bytes.split_first_chunk::<PROFILE_HEADER_SIZE>() else {
            return Err(ProfileError::Truncated { len: bytes.len() });
        };
        if header[..8] != PROFILE_MAGIC {
            return Err(ProfileError::BadMagic);
        }
        let word = |offset: usize| {
            u32::from_le_bytes(header[offset..offset + 4].try_into().expect("4 bytes"))
        };
        let version = word(8);
        if version != PROFILE_VERSION {
            return Err(ProfileError::UnsupportedVersion(version));
        }
        let n_functions = word(12);
        let expected = (n_functions as usize).checked_mul(COUNTER_SIZE);
        if expected != Some(counts.len()) {
            return Err(ProfileError::WrongLength {
                n_functions,
                expected,
                actual: counts.len(),
            });
        }
        let mut module_sha256 = [0u8; 32];
        module_sha256.copy_from_slice(&header[16..48]);
        let counts = counts
            .chunks_exact(COUNTER_SIZE)
            .map(|count| u64::from_le_bytes(count.try_into().expect("8 bytes")))
            .collect();
        Ok(ProfileData {
            module_sha256,
            counts,
        })
    }

    /// Adds `other`'s counts to these (saturating), when both are of the same module and
    /// have as many functions; returns whether it did.
    pub fn merge(&mut self, other: &ProfileData) -> bool {
        if self.module_sha256 != other.module_sha256 || self.counts.len() != other.counts.len() {
            return false;
        }
        for (count, more) in self.counts.iter_mut().zip(&other.counts) {
            *count = count.saturating_add(*more);
        }
        true
    }
}

/// The bytes of a profile of the module whose hash is `module_sha256` with `counts`. At
/// most `u32::MAX` functions: a module has fewer (wasmparser's limit is 1,000,000).
pub fn encode(module_sha256: &[u8; 32], counts: &[u64]) -> Vec<u8> {
    let n_functions = u32::try_from(counts.len()).expect("fewer than 2^32 functions");
    let mut bytes = Vec::with_capacity(PROFILE_HEADER_SIZE + counts.len() * COUNTER_SIZE);
    bytes.extend_from_slice(&PROFILE_MAGIC);
    bytes.extend_from_slice(&PROFILE_VERSION.to_le_bytes());
    bytes.extend_from_slice(&n_functions.to_le_bytes());
    bytes.extend_from_slice(module_sha256);
    for count in counts {
        bytes.extend_from_slice(&count.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ProfileData {
        ProfileData {
            module_sha256: [7; 32],
            counts: vec![1, 0, u64::MAX, 42],
        }
    }

    fn check(bytes: &[u8], expected: Result<ProfileData, ProfileError>) {
        assert_eq!(ProfileData::decode(bytes), expected);
    }

    #[test]
    fn profiles_round_trip() {
        let profile = sample();
        let bytes = profile.encode();
        assert_eq!(bytes.len(), PROFILE_HEADER_SIZE + 4 * 8);
        assert_eq!(&bytes[..8], b"KILNPROF");
        check(&bytes, Ok(profile));
        let empty = ProfileData {
            module_sha256: [0; 32],
            counts: vec![],
        };
        check(&empty.encode(), Ok(empty));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            let error = ProfileData::decode(&bytes[..len]).unwrap_err();
            if len < PROFILE_HEADER_SIZE {
                assert_eq!(error, ProfileError::Truncated { len });
            } else {
                assert!(matches!(error, ProfileError::WrongLength { .. }), "{error}");
            }
        }
    }

    #[test]
    fn hostile_headers_are_errors() {
        let good = sample().encode();
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        check(&bad_magic, Err(ProfileError::BadMagic));
        let mut version = good.clone();
        version[8..12].copy_from_slice(&2u32.to_le_bytes());
        check(&version, Err(ProfileError::UnsupportedVersion(2)));
        // A count that claims the whole address space, with a handful of bytes behind it.
        let mut huge = good.clone();
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let error = ProfileData::decode(&huge).unwrap_err();
        assert!(matches!(
            error,
            ProfileError::WrongLength {
                n_functions: u32::MAX,
                actual: 32,
                ..
            }
        ));
        assert!(
            error.to_string().contains("corrupt kiln profile"),
            "{error}"
        );
        // Trailing bytes are as wrong as missing ones.
        let mut long = good;
        long.push(0);
        assert!(matches!(
            ProfileData::decode(&long),
            Err(ProfileError::WrongLength { actual: 33, .. })
        ));
    }

    #[test]
    fn merging_adds_counts_of_the_same_module_only() {
        let mut profile = sample();
        assert!(profile.merge(&sample()));
        assert_eq!(profile.counts, [2, 0, u64::MAX, 84]);
        let mut other = sample();
        other.module_sha256[0] = 0;
        assert!(!profile.merge(&other));
        let mut shorter = sample();
        shorter.counts.pop();
        assert!(!profile.merge(&shorter));
        assert_eq!(profile.counts, [2, 0, u64::MAX, 84]);
    }

    #[test]
    fn counters_are_consecutive_words() {
        assert_eq!(counter_offset(0), 0);
        assert_eq!(counter_offset(3), 24);
    }
}
