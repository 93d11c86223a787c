//! Linking executables: the runtime archives embedded in kiln (see build.rs), and how an
//! object becomes an executable for each target.
//!
//! - `*-linux-gnu`: the C compiler driver for the target's architecture (`--linker`, else
//!   `$CC` for the host architecture, else `cc` or `aarch64-linux-gnu-gcc` /
//!   `x86_64-linux-gnu-gcc`) links the object, the runtime archive and glibc dynamically.
//! - `*-linux-musl`: `ld.lld` (or `--linker`) links a fully static executable from the
//!   object, the runtime archive and Rust's self-contained musl (crt objects, `libc.a`, and
//!   `libunwind.a` for a runtime that can unwind), all embedded in kiln: no C toolchain
//!   for the target is needed.
//!
//! A runtime missing from this kiln can be supplied as `$KILN_RUNTIME_DIR/<triple>/` holding
//! the same files (`libkiln_runtime.a`, and for musl the crt objects and libraries).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A supported target and the files kiln carries for it.
pub struct EmbeddedTarget {
    /// The target triple.
    pub triple: &'static str,
    /// Why the runtime is missing, or empty when `files` holds it.
    pub missing: &'static str,
    /// File name and contents of each file.
    pub files: &'static [(&'static str, &'static [u8])],
}

include!(concat!(env!("OUT_DIR"), "/embedded_targets.rs"));

/// The target kiln itself was built for.
pub const HOST_TARGET: &str = env!("KILN_HOST_TARGET");

fn architecture(triple: &str) -> &str {
    triple.split('-').next().unwrap_or("")
}

/// Whether `triple` links statically against musl.
fn is_musl(triple: &str) -> bool {
    triple.ends_with("-musl")
}

/// The linker kiln uses for `triple` unless told otherwise.
pub fn default_linker(triple: &str) -> String {
    if is_musl(triple) {
        return "ld.lld".into();
    }
    if architecture(triple) == architecture(HOST_TARGET) {
        return std::env::var("CC").unwrap_or_else(|_| "cc".into());
    }
    format!("{}-linux-gnu-gcc", architecture(triple))
}

/// The Debian packages that provide what linking for `triple` with `linker` needs, when
/// the linker could not run (`stderr` is `None`) or its complaint (`stderr`) says a C
/// library or start file is missing; `None` when kiln cannot tell.
pub fn missing_packages(triple: &str, linker: &str, stderr: Option<&str>) -> Option<&'static str> {
    let default = linker == default_linker(triple);
    let arch = architecture(triple);
    let host = arch == architecture(HOST_TARGET);
    if is_musl(triple) {
        // Everything but the linker is embedded in kiln.
        return (stderr.is_none() && default).then_some("lld");
    }
    let missing_libc = stderr.is_some_and(|stderr| {
        stderr.contains("cannot find")
            && [
                "crt1.o",
                "crti.o",
                "-lc",
                "libc.so",
                "-lpthread",
                "-lm",
                "-ldl",
            ]
            .iter()
            .any(|file| stderr.contains(file))
    });
    match (arch, host, stderr.is_none() && default, missing_libc) {
        (_, true, true, _) | (_, true, _, true) => Some("gcc libc6-dev"),
        ("aarch64", false, true, _) => Some("gcc-aarch64-linux-gnu libc6-dev-arm64-cross"),
        ("aarch64", false, _, true) => Some("libc6-dev-arm64-cross"),
        ("x86_64", false, true, _) => Some("gcc-x86-64-linux-gnu libc6-dev-amd64-cross"),
        ("x86_64", false, _, true) => Some("libc6-dev-amd64-cross"),
        _ => None,
    }
}

/// Whether `program` can be found on `PATH` (or is a path that exists).
pub fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// The embedded file `name` for `triple`, if kiln carries it.
pub fn embedded_file(triple: &str, name: &str) -> Option<&'static [u8]> {
    let target = EMBEDDED.iter().find(|t| t.triple == triple)?;
    target
        .files
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, bytes)| *bytes)
}

/// The directory holding the runtime files for `triple`: written from kiln's embedded copy
/// into `scratch`, or `$KILN_RUNTIME_DIR/<triple>`.
pub fn runtime_files(triple: &str, scratch: &Path) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("KILN_RUNTIME_DIR") {
        let dir = PathBuf::from(dir).join(triple);
        if dir.join("libkiln_runtime.a").exists() {
            return Ok(dir);
        }
    }
    let Some(target) = EMBEDDED.iter().find(|t| t.triple == triple) else {
        let names: Vec<&str> = EMBEDDED.iter().map(|t| t.triple).collect();
        bail!(
            "unsupported target {triple}; supported targets: {}",
            names.join(", ")
        );
    };
    if target.files.is_empty() {
        bail!(
            "no kiln runtime for {triple}: {}; or put one in $KILN_RUNTIME_DIR/{triple}/",
            target.missing
        );
    }
    for (name, bytes) in target.files {
        let path = scratch.join(name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(scratch.to_path_buf())
}

/// The linker flag that leaves the symbol table out (`kiln build --strip`), given after
/// [`link_command`]'s: GNU ld takes the last of `--strip-debug` and `--strip-all` (and
/// the C compiler driver puts its own `-s` before the `-Wl,` flags).
pub fn strip_flag(triple: &str) -> &'static str {
    if is_musl(triple) {
        "--strip-all"
    } else {
        "-Wl,--strip-all"
    }
}

/// The linker command that makes `output` from `objects` for `triple`.
pub fn link_command(
    triple: &str,
    linker: &str,
    objects: &[&Path],
    runtime: &Path,
    output: &Path,
) -> Command {
    let mut command = Command::new(linker);
    if is_musl(triple) {
        let file = |name: &str| runtime.join(name);
        // `--icf=all`: sections of identical code or read-only data are kept once: the
        // runtime's generic helpers instantiated for types of one layout (`RawVec`
        // growth, drop glue, `with_capacity`), which LTO leaves apart (about 500 B of a
        // static executable, 700 on aarch64). Safe here: a module's code is one `.text`
        // section, so no two wasm functions fold into one address (code lookup and
        // backtraces need each its own), and the runtime compares no function addresses.
        command
            .args([
                "-static",
                "--gc-sections",
                "--icf=all",
                "--strip-debug",
                "-o",
            ])
            .arg(output)
            .args([file("crt1.o"), file("crti.o"), file("crtbegin.o")])
            .args(objects)
            .arg("--start-group")
            .arg(file("libkiln_runtime.a"));
        // Only a runtime that can unwind comes with it (see build.rs).
        let unwind = file("libunwind.a");
        if unwind.is_file() {
            command.arg(unwind);
        }
        command
            .arg(file("libc.a"))
            .arg("--end-group")
            .args([file("crtend.o"), file("crtn.o")]);
    } else {
        command
            .arg("-o")
            .arg(output)
            .args(objects)
            .arg(runtime.join("libkiln_runtime.a"))
            .arg("-Wl,--gc-sections")
            // The runtime's (and Rust's standard library's) DWARF; wasm functions have
            // none, and their symbols stay for perf and gdb.
            .arg("-Wl,--strip-debug")
            // libgcc's unwinder linked in, not libgcc_s.so: one shared library less to
            // load at start-up (a tenth of a glibc hello-world's time).
            .arg("-static-libgcc")
            .args(kiln_abi::link::glibc_link_flags("gcc_eh"));
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_toolchains_are_named_by_debian_package() {
        let scrt = Some("/usr/bin/ld: cannot find Scrt1.o: No such file or directory");
        let host = format!("{}-unknown-linux-gnu", architecture(HOST_TARGET));
        let other = if architecture(HOST_TARGET) == "x86_64" {
            ("aarch64-unknown-linux-gnu", "libc6-dev-arm64-cross")
        } else {
            ("x86_64-unknown-linux-gnu", "libc6-dev-amd64-cross")
        };
        assert_eq!(
            missing_packages(other.0, "my-ld", scrt),
            Some(other.1),
            "a cross C library"
        );
        let cross_linker = default_linker(other.0);
        assert!(missing_packages(other.0, &cross_linker, None)
            .is_some_and(|packages| packages.contains(other.1) && packages.contains("gcc-")));
        assert_eq!(
            missing_packages(&host, &default_linker(&host), None),
            Some("gcc libc6-dev")
        );
        assert_eq!(missing_packages(&host, "cc", scrt), Some("gcc libc6-dev"));
        assert_eq!(
            missing_packages("x86_64-unknown-linux-musl", "ld.lld", None),
            Some("lld")
        );
        // A linker the user chose that cannot run, or an unrelated failure: no guess.
        assert_eq!(
            missing_packages("x86_64-unknown-linux-musl", "my-ld", None),
            None
        );
        assert_eq!(
            missing_packages(&host, "cc", Some("undefined reference to `foo'")),
            None
        );
    }
}
