//! Finding the runtime archive that executables are linked against.
//!
//! The archive for the target kiln was built for is embedded in kiln (see build.rs). For
//! any other target, kiln looks in `$KILN_RUNTIME_DIR/<triple>/libkiln_runtime.a`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The target kiln itself was built for.
pub const HOST_TARGET: &str = env!("KILN_HOST_TARGET");

static HOST_ARCHIVE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libkiln_runtime.a"));

/// Writes or finds the runtime archive for `target`; `scratch` is a directory the caller
/// removes afterwards.
pub fn runtime_archive(target: &str, scratch: &Path) -> Result<PathBuf> {
    if target == HOST_TARGET {
        let path = scratch.join("libkiln_runtime.a");
        std::fs::write(&path, HOST_ARCHIVE)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        return Ok(path);
    }
    if let Some(dir) = std::env::var_os("KILN_RUNTIME_DIR") {
        let path = PathBuf::from(dir).join(target).join("libkiln_runtime.a");
        if path.exists() {
            return Ok(path);
        }
    }
    bail!(
        "no kiln runtime for target {target}: this kiln embeds the runtime for {HOST_TARGET} only; \
         put one in $KILN_RUNTIME_DIR/{target}/libkiln_runtime.a"
    )
}

/// The system libraries a Rust static library needs on `target`.
pub fn system_libraries(target: &str) -> &'static [&'static str] {
    if target.ends_with("musl") {
        &["-static", "-lc"]
    } else {
        &[
            "-lpthread",
            "-ldl",
            "-lm",
            "-lrt",
            "-lutil",
            "-lgcc_s",
            "-lc",
        ]
    }
}
