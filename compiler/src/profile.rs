//! Profile-guided optimization's compiler side (issue 18): reading a profile
//! (`CompileOptions::profile_use`, the format is `kiln_abi::profile`) and checking that it
//! was recorded for the module being compiled, and the module hash that code compiled to
//! count (`CompileOptions::profile_generate`) writes into its profiles.
//!
//! What a profile changes: where code goes (`placement.rs`: functions entered at least
//! once first, the rest packed at the end) and, with `--inline`, which calls are inlined
//! (`inline.rs`). Neither changes what the code computes.

use kiln_abi::profile::{ProfileData, ProfileError};
use sha2::{Digest, Sha256};

/// A function is hot when it was entered at least 1/`HOT_FRACTION` as many times as the
/// module's most entered function (placement puts hot functions first, and inlining gives
/// hot callees a larger budget).
pub const HOT_FRACTION: u64 = 1_000;

/// SHA-256 of a module's wasm bytes: what ties a profile to its module.
pub fn module_sha256(wasm: &[u8]) -> [u8; 32] {
    Sha256::digest(wasm).into()
}

/// A decoded profile: how many times each defined function was entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    data: ProfileData,
}

/// Why a profile cannot be used for a module.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileMismatch {
    /// It was recorded for other wasm bytes.
    #[error(
        "the profile is of another module (module SHA-256 {}, this module's is {}): \
         record it again with --profile-generate",
        hex(.profile),
        hex(.module)
    )]
    OtherModule {
        /// The hash in the profile.
        profile: [u8; 32],
        /// The module's hash.
        module: [u8; 32],
    },
    /// It counts another number of functions.
    #[error("the profile counts {profile} functions, the module defines {module}")]
    FunctionCount {
        /// Functions the profile counts.
        profile: usize,
        /// Functions the module defines.
        module: usize,
    },
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Profile {
    /// Decodes a profile file's bytes (every length checked: bytes that are not a profile
    /// give an error).
    pub fn decode(bytes: &[u8]) -> Result<Profile, ProfileError> {
        ProfileData::decode(bytes).map(|data| Profile { data })
    }

    /// A profile of the module whose hash is `module_sha256` with these counts (for tests
    /// and tools).
    pub fn new(module_sha256: [u8; 32], counts: Vec<u64>) -> Profile {
        Profile {
            data: ProfileData {
                module_sha256,
                counts,
            },
        }
    }

    /// The same profile (module hash) with other counts.
    pub(crate) fn with_counts(&self, counts: Vec<u64>) -> Profile {
        Profile::new(self.data.module_sha256, counts)
    }

    /// Entry count of each defined function, by defined index.
    pub fn counts(&self) -> &[u64] {
        &self.data.counts
    }

    /// Checks that the profile was recorded for `wasm`, a valid module: the same bytes,
    /// and as many defined functions.
    pub fn check(&self, wasm: &[u8]) -> Result<(), ProfileMismatch> {
        let module = module_sha256(wasm);
        if module != self.data.module_sha256 {
            return Err(ProfileMismatch::OtherModule {
                profile: self.data.module_sha256,
                module,
            });
        }
        let n_defined = defined_functions(wasm);
        if self.data.counts.len() != n_defined {
            return Err(ProfileMismatch::FunctionCount {
                profile: self.data.counts.len(),
                module: n_defined,
            });
        }
        Ok(())
    }

    /// The entry count from which a function is hot: 1/[`HOT_FRACTION`] of the most
    /// entered function's, and at least 2.
    pub(crate) fn hot_count(&self) -> u64 {
        let most = self.data.counts.iter().copied().max().unwrap_or(0);
        (most / HOT_FRACTION).max(2)
    }

    /// Whether defined function `defined` was entered at all.
    pub(crate) fn entered(&self, defined: usize) -> bool {
        self.count(defined) > 0
    }

    /// How many times defined function `defined` was entered (0 past the end).
    pub(crate) fn count(&self, defined: usize) -> u64 {
        self.data.counts.get(defined).copied().unwrap_or(0)
    }
}

/// Number of functions a module defines (its code section's bodies); 0 for bytes that do
/// not parse, which no profile of a real module matches unless it is empty too.
pub fn defined_functions(wasm: &[u8]) -> usize {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CodeSectionStart { count, .. }) => return count as usize,
            Ok(_) => {}
            Err(_) => return 0,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_of_other_modules_are_refused() {
        let wasm = wat::parse_str("(module (func) (func))").unwrap();
        let hash = module_sha256(&wasm);
        assert_eq!(Profile::new(hash, vec![1, 0]).check(&wasm), Ok(()));
        let error = Profile::new([0; 32], vec![1, 0]).check(&wasm).unwrap_err();
        assert!(matches!(error, ProfileMismatch::OtherModule { .. }));
        assert!(error.to_string().contains(&hex(&hash)), "{error}");
        assert_eq!(
            Profile::new(hash, vec![1]).check(&wasm),
            Err(ProfileMismatch::FunctionCount {
                profile: 1,
                module: 2
            })
        );
        let empty = wat::parse_str("(module)").unwrap();
        let empty_hash = module_sha256(&empty);
        assert_eq!(Profile::new(empty_hash, vec![]).check(&empty), Ok(()));
    }
}
