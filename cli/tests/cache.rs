//! `kiln run`'s compile cache is verified before use: a cached object whose bytes were
//! damaged is recompiled, never mapped and run (which crashed `kiln run` with SIGSEGV or
//! SIGILL in 8 of 40 bit-flip trials before objects carried a digest), and its key covers
//! every option that changes the code. Here too, since it is about that option: `--inline`
//! is refused where it cannot apply (static libraries).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{run, scratch_dir, wat_program, KILN};

/// The files the cache holds.
fn cached_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn run_cached(cache: &Path, module: &Path) -> support::Output {
    run(
        Command::new(KILN)
            .env("KILN_CACHE_DIR", cache)
            .args(["run", "--invoke", "swap3"])
            .arg(module)
            .args(["1", "-2", "3.5"]),
        b"",
    )
}

#[test]
fn damaged_cache_entries_are_recompiled() {
    let module = wat_program("many_results");
    let cache = scratch_dir("cache-damage");
    let first = run_cached(&cache, &module);
    assert_eq!(first.code, Some(0), "{}", first.describe());
    let files = cached_files(&cache);
    assert_eq!(files.len(), 1, "one cached object: {files:?}");
    let entry = &files[0];
    let pristine = std::fs::read(entry).unwrap();

    // Flip one byte at 40 places spread over the file, header and object alike, and once
    // cut the file short; every run must print the same results.
    let mut damaged: Vec<Vec<u8>> = (0..40)
        .map(|trial| {
            let mut bytes = pristine.clone();
            let at = trial * (bytes.len() - 1) / 39;
            bytes[at] ^= 0x5a;
            bytes
        })
        .collect();
    damaged.push(pristine[..pristine.len() / 2].to_vec());
    for (trial, bytes) in damaged.iter().enumerate() {
        std::fs::write(entry, bytes).unwrap();
        let output = run_cached(&cache, &module);
        assert_eq!(
            (output.code, output.stdout.as_str()),
            (Some(0), first.stdout.as_str()),
            "trial {trial}: {}",
            output.describe()
        );
        assert_eq!(
            std::fs::read(entry).unwrap(),
            pristine,
            "trial {trial}: the damaged entry was replaced"
        );
    }
}

/// `--inline` changes the code, so it is part of the cache key: the same module run with
/// and without it makes two entries, and gives the same results.
#[test]
fn inlined_code_has_a_cache_entry_of_its_own() {
    let module = wat_program("many_results");
    let cache = scratch_dir("cache-inline");
    let plain = run_cached(&cache, &module);
    assert_eq!(plain.code, Some(0), "{}", plain.describe());
    let inlined = run(
        Command::new(KILN)
            .env("KILN_CACHE_DIR", &cache)
            .args(["run", "--inline", "--invoke", "swap3"])
            .arg(&module)
            .args(["1", "-2", "3.5"]),
        b"",
    );
    assert_eq!(
        (inlined.code, inlined.stdout.as_str()),
        (Some(0), plain.stdout.as_str()),
        "{}",
        inlined.describe()
    );
    assert_eq!(cached_files(&cache).len(), 2, "one entry per setting");
}

/// Static libraries are compiled by kiln-build, which cannot inline yet: `--inline` is
/// refused there rather than ignored.
#[test]
fn inline_is_refused_for_static_libraries() {
    let dir = scratch_dir("inline-staticlib");
    let output = run(
        Command::new(KILN)
            .args(["compile", "--emit", "staticlib", "--inline", "--header"])
            .arg(dir.join("m.h"))
            .arg(wat_program("many_results"))
            .arg("-o")
            .arg(dir.join("m.a")),
        b"",
    );
    assert_eq!(output.code, Some(1), "{}", output.describe());
    assert!(
        output
            .stderr
            .contains("--inline is not supported with --emit staticlib yet"),
        "{}",
        output.describe()
    );
}
