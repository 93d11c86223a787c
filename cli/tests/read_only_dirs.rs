//! `--dir-read-only`: a directory the guest may read but not change, under `kiln run` and
//! baked into a `kiln build` executable. `tests/programs/c/read_only.c` reads beneath a
//! read-only preopen and tries every change there through the C library (open for
//! writing, truncation, creation, mkdir, rmdir, unlink, symlink, renames and hard links
//! within, out of and into it, utimensat, truncate, and write, ftruncate and futimens
//! through a descriptor opened for reading); its output must be [`EXPECTED`] both ways, and
//! neither the read-only directory nor the read-write one beside it may change.
//! `tests/programs/rust/src/bin/read_only.rs` does the same through `std::fs`, built for
//! wasm32-wasip2: a WASI 0.2 component, whose output must be [`EXPECTED_COMPONENT`].
//!
//! Needs clang, lld and wasi-libc as `cli/tests/e2e.rs` does, and the wasm32-wasip2 Rust
//! target as `cli/tests/components.rs` does; a missing tool fails the test and says what
//! to install.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{
    build_c_programs, build_rust_components, path_str, run, run_kiln, scratch_dir, target_dir,
    Output, Program,
};

/// What the program prints: every read works, every change is EPERM but the write through
/// a descriptor opened for reading, which the host refuses with EBADF (as Wasmtime does).
const EXPECTED: &str = "\
read data: 10 [read only
]
read sub/inner: 5 [inner]
stat data: OK, size 10
list: data empty sub
list sub: inner
open data O_WRONLY: EPERM
open data O_RDWR: EPERM
open data O_TRUNC: EPERM
open data O_APPEND: EPERM
create new: EPERM
create sub/new: EPERM
mkdir made: EPERM
mkdir sub/made: EPERM
rmdir empty: EPERM
unlink data: EPERM
unlink sub/inner: EPERM
symlink soft: EPERM
rename within: EPERM
rename out: EPERM
rename in: EPERM
link out: EPERM
link in: EPERM
utimensat data: EPERM
truncate data: EPERM
open data O_RDONLY: OK
write: EBADF
ftruncate: EPERM
futimens: EPERM
read mine: 5 [mine
]
done
";

/// What the Rust program prints as a component: every change is `not-permitted`
/// (`PermissionDenied`), writing through a file opened for reading included.
const EXPECTED_COMPONENT: &str = "\
read data: Ok(\"read only\\n\")
read sub/inner: Ok(\"inner\")
stat data: Ok(10)
list: data empty sub
open data write: PermissionDenied
open data append: PermissionDenied
open data truncate: PermissionDenied
create new: PermissionDenied
create sub/new: PermissionDenied
create_dir made: PermissionDenied
remove_dir empty: PermissionDenied
remove_file data: PermissionDenied
symlink soft: PermissionDenied
rename within: PermissionDenied
rename out: PermissionDenied
rename in: PermissionDenied
hard_link out: PermissionDenied
hard_link in: PermissionDenied
write: PermissionDenied
set_len: PermissionDenied
set_times: PermissionDenied
read mine: Ok(\"mine\\n\")
done
";

/// The grants of all runs, relative to the directory the guest is started in.
const GRANTS: [&str; 4] = ["--dir-read-only", "ro::/ro", "--dir", "rw::/rw"];

/// The Rust program built as a WASI 0.2 component, once.
fn component() -> &'static Path {
    static COMPONENT: OnceLock<PathBuf> = OnceLock::new();
    COMPONENT.get_or_init(|| {
        build_rust_components(&target_dir().join("e2e-programs"), &["read_only"])
            .unwrap_or_else(|error| panic!("{error}"))
            .remove("read_only")
            .unwrap()
    })
}

fn program() -> &'static Program {
    static PROGRAM: OnceLock<Program> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        build_c_programs(&[("read_only", false)])
            .unwrap_or_else(|error| panic!("{error}"))
            .remove("read_only")
            .unwrap()
    })
}

/// A fresh directory holding `ro/` (`data`, `sub/inner`, the empty `empty/`) and `rw/`
/// (`mine`), as the program expects them.
fn fixture(name: &str) -> std::path::PathBuf {
    let root = scratch_dir(name);
    for dir in ["ro/sub", "ro/empty", "rw"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(root.join("ro/data"), "read only\n").unwrap();
    std::fs::write(root.join("ro/sub/inner"), "inner").unwrap();
    std::fs::write(root.join("rw/mine"), "mine\n").unwrap();
    root
}

/// Every entry beneath `dir` with its contents (files), link count and modification time.
fn tree(dir: &Path) -> Vec<(String, Option<Vec<u8>>, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let mut entries = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        let contents = if metadata.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            None
        } else {
            Some(std::fs::read(&path).unwrap())
        };
        let name = path.strip_prefix(dir).unwrap().display().to_string();
        entries.push((
            name,
            contents,
            metadata.nlink(),
            metadata.modified().unwrap(),
        ));
    }
    entries.sort();
    entries
}

/// Runs a program in a fresh fixture with `start` (given the fixture's root); checks that
/// it prints `expected` and that nothing in the fixture changed.
fn check(name: &str, expected: &str, start: impl FnOnce(&Path) -> Output) {
    let root = fixture(name);
    let before = tree(&root);
    let output = start(&root);
    let context = output.describe();
    assert_eq!(output.code, Some(0), "{context}");
    assert_eq!(output.stderr, "", "{context}");
    assert_eq!(output.stdout, expected, "{context}");
    assert_eq!(tree(&root), before, "the directories changed\n{context}");
}

#[test]
fn kiln_run_reads_and_cannot_change_a_read_only_dir() {
    let wasm = path_str(&program().wasm);
    check("run", EXPECTED, |root| {
        let mut args = vec!["run"];
        args.extend(GRANTS);
        args.extend([wasm, "/ro", "/rw"]);
        run(
            Command::new(support::KILN).args(&args).current_dir(root),
            b"",
        )
    });
}

#[test]
fn a_built_executable_reads_and_cannot_change_a_read_only_dir() {
    let executable = program().executable(&GRANTS);
    check("build", EXPECTED, |root| {
        run(
            Command::new(executable)
                .args(["/ro", "/rw"])
                .env_clear()
                .current_dir(root),
            b"",
        )
    });
}

#[test]
fn a_component_under_kiln_run_reads_and_cannot_change_a_read_only_dir() {
    let wasm = path_str(component());
    check("component-run", EXPECTED_COMPONENT, |root| {
        let mut args = vec!["run"];
        args.extend(GRANTS);
        args.extend([wasm, "/ro", "/rw"]);
        run(
            Command::new(support::KILN).args(&args).current_dir(root),
            b"",
        )
    });
}

#[test]
fn a_built_component_reads_and_cannot_change_a_read_only_dir() {
    let executable = scratch_dir("component-executable").join("read_only");
    let mut args = vec!["build", path_str(component()), "-o", path_str(&executable)];
    args.extend(GRANTS);
    let built = run_kiln(&args, b"");
    assert_eq!(built.code, Some(0), "{}", built.describe());
    check("component-build", EXPECTED_COMPONENT, |root| {
        run(
            Command::new(&executable)
                .args(["/ro", "/rw"])
                .env_clear()
                .current_dir(root),
            b"",
        )
    });
}

#[test]
fn a_read_only_dir_that_cannot_be_opened_is_an_error_naming_it() {
    let root = scratch_dir("missing");
    let missing = root.join("missing");
    let grant = format!("{}::/ro", path_str(&missing));
    let output = run_kiln(
        &["run", "--dir-read-only", &grant, path_str(&program().wasm)],
        b"",
    );
    assert_ne!(output.code, Some(0), "{}", output.describe());
    assert!(
        output.stderr.contains(path_str(&missing)),
        "{}",
        output.describe()
    );
}
