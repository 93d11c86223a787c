//! The compile cache of `kiln run`: objects keyed by a SHA-256 of everything that decides
//! their contents (the module's bytes, kiln's version, the ABI version, the target and the
//! options), under `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`.

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
    hasher.update(format!("{:?}", options).as_bytes());
    hasher.update(wasm);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A cached object, if present.
pub fn get(key: &str) -> Option<Vec<u8>> {
    std::fs::read(cache_dir()?.join(format!("{key}.o"))).ok()
}

/// Stores an object; failures only cost a recompile next time, so they are ignored.
pub fn put(key: &str, object: &[u8]) {
    let Some(dir) = cache_dir() else { return };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let temporary = dir.join(format!("{key}.{}.tmp", std::process::id()));
    if std::fs::write(&temporary, object).is_ok() {
        let _ = std::fs::rename(&temporary, dir.join(format!("{key}.o")));
    }
}
