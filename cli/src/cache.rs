//! The compile cache of `kiln run`: objects keyed by a SHA-256 of everything that decides
//! their contents (the module's bytes, kiln's version, the ABI version, a hash of the
//! compiler's sources taken when kiln was built, the target and the options), under `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`.
//!
//! An entry is `<key>.kiln`: [`MAGIC`], the SHA-256 of the object, then the object. It is
//! verified before use: an entry whose digest does not match (a damaged disk, a truncated
//! or concurrent write, stray edits) counts as absent and is recompiled, because mapping a
//! damaged object and running its code can crash `kiln run`. The digest guards against
//! damage, not against someone who can write to the cache directory (they can write a
//! matching digest); the cache lives in the user's own directories.

use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KILN_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("kiln"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("kiln"))
}

/// The cache key of a module compiled with `options`.
pub fn key(wasm: &[u8], options: &kiln_compiler::CompileOptions) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(kiln_abi::ABI_VERSION.to_le_bytes());
    hasher.update(env!("KILN_COMPILER_SOURCE_HASH").as_bytes());
    hasher.update(format!("{:?}", options).as_bytes());
    hasher.update(wasm);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first bytes of an entry (the format's version is its last digit).
const MAGIC: &[u8; 8] = b"kilnobj1";

/// Length of the digest after [`MAGIC`].
const DIGEST_LEN: usize = 32;

fn entry_path(dir: &std::path::Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.kiln"))
}

/// A cached object, if present and intact.
pub fn get(key: &str) -> Option<Vec<u8>> {
    let entry = std::fs::read(entry_path(&cache_dir()?, key)).ok()?;
    verified_object(entry)
}

/// The object in `entry` if its magic and digest are right.
fn verified_object(mut entry: Vec<u8>) -> Option<Vec<u8>> {
    let header = MAGIC.len() + DIGEST_LEN;
    if entry.len() < header || &entry[..MAGIC.len()] != MAGIC {
        return None;
    }
    let digest = Sha256::digest(&entry[header..]);
    if digest.as_slice() != &entry[MAGIC.len()..header] {
        return None;
    }
    entry.drain(..header);
    Some(entry)
}

/// The entry that stores `object`.
fn entry_bytes(object: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(MAGIC.len() + DIGEST_LEN + object.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&Sha256::digest(object));
    entry.extend_from_slice(object);
    entry
}

/// Stores an object (replacing a damaged entry); failures only cost a recompile next
/// time, so they are ignored. The entry appears whole or not at all (written aside, then
/// renamed).
pub fn put(key: &str, object: &[u8]) {
    let Some(dir) = cache_dir() else { return };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let temporary = dir.join(format!("{key}.{}.tmp", std::process::id()));
    if std::fs::write(&temporary, entry_bytes(object)).is_ok()
        && std::fs::rename(&temporary, entry_path(&dir, key)).is_err()
    {
        let _ = std::fs::remove_file(&temporary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damage_is_caught() {
        let object = b"\x7fELF not really an object".to_vec();
        let entry = entry_bytes(&object);
        assert_eq!(verified_object(entry.clone()), Some(object.clone()));
        for at in 0..entry.len() {
            let mut damaged = entry.clone();
            damaged[at] ^= 1;
            assert_eq!(verified_object(damaged), None, "byte {at}");
        }
        assert_eq!(verified_object(entry[..entry.len() - 1].to_vec()), None);
        assert_eq!(verified_object(entry[..10].to_vec()), None);
        assert_eq!(verified_object(Vec::new()), None);
    }
}
