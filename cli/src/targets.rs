//! `kiln targets`: the supported target triples and whether each is ready on this machine
//! (runtime embedded or supplied, linker found).

use crate::runtime_archive::{default_linker, on_path, EMBEDDED, HOST_TARGET};
use anyhow::Result;

/// Runs `kiln targets`.
pub fn targets() -> Result<()> {
    for target in EMBEDDED {
        let linker = default_linker(target.triple);
        let supplied = std::env::var_os("KILN_RUNTIME_DIR")
            .map(|dir| {
                std::path::Path::new(&dir)
                    .join(target.triple)
                    .join("libkiln_runtime.a")
                    .exists()
            })
            .unwrap_or(false);
        let runtime_ready = !target.files.is_empty() || supplied;
        let linker_ready = on_path(&linker);
        let status = if runtime_ready && linker_ready {
            "ready"
        } else {
            "not ready"
        };
        let host = if target.triple == HOST_TARGET {
            " (host)"
        } else {
            ""
        };
        println!("{}{host}: {status}", target.triple);
        match (runtime_ready, supplied) {
            (true, true) => println!("    runtime: from $KILN_RUNTIME_DIR"),
            (true, false) => println!("    runtime: embedded"),
            (false, _) => println!("    runtime: missing: {}", target.missing),
        }
        if linker_ready {
            println!("    linker: {linker}");
        } else {
            let hint = if linker == "ld.lld" {
                "apt-get install lld".to_string()
            } else if linker.contains("aarch64") {
                "apt-get install gcc-aarch64-linux-gnu".to_string()
            } else if linker.contains("x86_64") {
                "apt-get install gcc-x86-64-linux-gnu".to_string()
            } else {
                "install a C compiler or pass --linker".to_string()
            };
            println!("    linker: {linker} not found ({hint})");
        }
    }
    Ok(())
}
