//! Real programs run end to end through kiln, three times each, the way a user would:
//!
//! - `run`: `kiln run --dir HOST::GUEST... PROGRAM.wasm ARGS...`;
//! - `build`: `kiln build PROGRAM.wasm -o EXE --dir HOST::GUEST...`, then `EXE ARGS...`
//!   (the grants baked into the executable);
//! - `run-inline`: `kiln run --inline ...`, calls inlined across the module: the same
//!   expectations, so a differential test of inlining on real programs;
//! - and for sightglass, a fourth: `build-native`, `kiln build --target-features native`:
//!   the host's every instruction set extension (AVX-512's EVEX-encoded instructions on
//!   such a machine, which branch shortening must decode whole: benches/README.md,
//!   "Session 24").
//!
//! Two corpora from `../shared/corpora`, each with its own contract:
//!
//! - `wasm3-wasi` (CoreMark, brotli, c-ray, smallpt, mandelbrot, STREAM, mal, wasm3
//!   itself): every entry of `test/EXPECTATIONS.json`, both lists (`commands_full` and
//!   `commands_fast`, minus entries marked `skip`). Working directory `test/`, stdin from
//!   the entry's `stdin` file (else empty), and `test/` preopened as `/` and as `./`, which
//!   is what wasm3 itself grants (its `m3_api_wasi.c` preopens `/` and `./`, both mapped to
//!   `.`): `mal` strips a matching preopen name off its path, so `./wasi/mal/...` needs the
//!   `./` preopen, and the full "simple" entry opens `/wasi/simple/0.txt`. The exit code
//!   must be 0 and stdout must have the entry's SHA-1 (`expect_sha1`) or match its glob
//!   (`expect_pattern`, Python `fnmatch` over the whole of stdout).
//! - `sightglass`: every benchmark of `BENCHMARKS.tsv` that is a core module needing only
//!   Wasm 2.0 features (SIMD included; no GC, threads or wasi-nn). Its folder is the working
//!   directory and is preopened as `.`; stdin is empty; it imports `bench.start` and
//!   `bench.end` besides WASI. The exit code must be 0 and stdout and stderr must equal
//!   `<name>.stdout.expected` / `<name>.stderr.expected`, else `default.*.expected`,
//!   compared line by line as sightglass's own runner does; a benchmark without such files
//!   (sightglass then only warns) is checked by its exit code alone, and says so. kiln
//!   reports each `bench.start`..`bench.end` region as a line of `$KILN_BENCH_TIMES`: there
//!   must be exactly one (none for the two benchmarks that import only `bench.start`).
//!
//! CoreMark (the full entry) calibrates itself to run for at least 10 s; it runs through
//! `kiln build` only unless `$KILN_CORPORA_ALL_MODES` is set, to keep the suite's time down.
//!
//! The corpora are only read: executables and kiln's cache go to `target/corpora`.
//! The `kiln` binary is the one `cargo test --workspace` builds beside this test
//! (`target/<profile>/kiln`); `$KILN` overrides it. An argument filters cases by
//! substring of their id (`<corpus>/<name>@<mode>`).
//!
//! Known failures are listed in `expected-failures/corpora.txt` as `<id>@<mode>  # reason`;
//! a listed case that passes fails the run. Without `../shared` the test says it was
//! skipped and why, and claims no pass.

use kiln_tests::{expected, process};
use rayon::prelude::*;
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long one program may run (wasm3's own runner allows 120 s too).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Programs whose `kiln run` is left out unless `$KILN_CORPORA_ALL_MODES` is set: CoreMark
/// calibrates itself to run for at least 10 s (its pattern requires the valid-result line),
/// which is 25-50 s of wall time on a loaded 2-core machine, in each mode.
const BUILD_ONLY: &[&str] = &["wasm3/full/coremark"];

/// The environment variable that puts [`BUILD_ONLY`] programs back in both modes.
const ALL_MODES_VAR: &str = "KILN_CORPORA_ALL_MODES";

/// Programs that take several seconds or more; they are started first.
const SLOW: &[&str] = &[
    "wasm3/full/coremark",
    "sightglass/gcc-loops",
    "sightglass/shootout/shootout-ed25519",
    "sightglass/shootout/shootout-seqhash",
    "sightglass/sqlite3/sqlite3",
];

/// The features of Wasm 2.0, as `wasm-tools validate` names them in `BENCHMARKS.tsv`.
const WASM2_FEATURES: &[&str] = &[
    "mutable-global",
    "saturating-float-to-int",
    "sign-extension",
    "multi-value",
    "bulk-memory",
    "reference-types",
    "simd",
];

/// What a correct run prints.
enum Expect {
    /// The SHA-1 of stdout, in hex.
    Sha1(String),
    /// A glob (`*`, `?`, `[...]`) over the whole of stdout.
    Pattern(glob::Pattern),
    /// Files holding stdout and stderr; `None` when the corpus has none.
    Files {
        stdout: Option<PathBuf>,
        stderr: Option<PathBuf>,
    },
}

/// One program run with its inputs and its expected output.
struct Case {
    /// `<corpus>/<name>`, without the mode.
    name: String,
    wasm: PathBuf,
    args: Vec<String>,
    stdin: Option<PathBuf>,
    workdir: PathBuf,
    /// `(host, guest)` preopens.
    dirs: Vec<(PathBuf, String)>,
    expect: Expect,
    /// For sightglass: how many measured regions (`bench.start` then `bench.end`) the run
    /// must report through `$KILN_BENCH_TIMES`, one line per `bench.end`.
    bench_regions: Option<usize>,
}

impl Case {
    fn id(&self, mode: &str) -> String {
        format!("{}@{mode}", self.name)
    }

    fn corpus(&self) -> &str {
        self.name.split('/').next().unwrap_or_default()
    }
}

/// `Simple WASI test (wasm-opt -O3)` → `simple-wasi-test-wasm-opt-o3`.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// The entries of wasm3-wasi's `test/EXPECTATIONS.json`; skipped entries are printed.
fn wasm3_cases(corpus: &Path) -> Result<Vec<Case>, String> {
    let test = corpus.join("test");
    let json = test.join("EXPECTATIONS.json");
    let text = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
    let spec: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    let mut cases: Vec<Case> = Vec::new();
    for list in ["commands_full", "commands_fast"] {
        let entries = spec
            .get(list)
            .and_then(|v| v.as_array())
            .ok_or_else(|| format!("{}: no `{list}` list", json.display()))?;
        let short = list.trim_start_matches("commands_");
        for entry in entries {
            let field = |key: &str| entry.get(key).and_then(|v| v.as_str());
            let title = field("name").unwrap_or("unnamed");
            let mut name = format!("wasm3/{short}/{}", slug(title));
            let mut n = 2;
            while cases.iter().any(|case| case.name == name) {
                name = format!("wasm3/{short}/{}-{n}", slug(title));
                n += 1;
            }
            if entry.get("skip").and_then(|v| v.as_bool()) == Some(true) {
                println!("skip {name}: marked `skip` in EXPECTATIONS.json");
                continue;
            }
            let wasm = field("wasm").ok_or_else(|| format!("{name}: no `wasm`"))?;
            let expect = match (field("expect_sha1"), field("expect_pattern")) {
                (Some(sha1), _) => Expect::Sha1(sha1.to_ascii_lowercase()),
                (None, Some(pattern)) => Expect::Pattern(
                    fnmatch_pattern(pattern)
                        .map_err(|e| format!("{name}: pattern {pattern:?}: {e}"))?,
                ),
                (None, None) => return Err(format!("{name}: no expectation")),
            };
            let args = entry
                .get("args")
                .and_then(|v| v.as_array())
                .map(|args| {
                    args.iter()
                        .filter_map(|a| a.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            cases.push(Case {
                name,
                wasm: test.join(wasm),
                args,
                stdin: field("stdin").map(|stdin| test.join(stdin)),
                workdir: test.clone(),
                dirs: vec![(test.clone(), "/".into()), (test.clone(), "./".into())],
                expect,
                bench_regions: None,
            });
        }
    }
    Ok(cases)
}

/// The benchmarks of sightglass's `BENCHMARKS.tsv` that need only Wasm 2.0; the others
/// are printed with the reason they are left out.
fn sightglass_cases(corpus: &Path) -> Result<Vec<Case>, String> {
    let tsv = corpus.join("BENCHMARKS.tsv");
    let text = std::fs::read_to_string(&tsv).map_err(|e| format!("{}: {e}", tsv.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = |prefix: &str| {
        header
            .iter()
            .position(|name| name.starts_with(prefix))
            .ok_or_else(|| format!("{}: no `{prefix}` column", tsv.display()))
    };
    let (wasm_col, kind_col) = (column("wasm")?, column("kind")?);
    let (features_col, imports_col) = (column("features_required")?, column("imports")?);
    let mut cases = Vec::new();
    for line in lines.filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let get = |col: usize| fields.get(col).copied().unwrap_or_default();
        let relative = get(wasm_col);
        let wasm = corpus.join("benchmarks").join(relative);
        let folder = wasm
            .parent()
            .expect("a benchmark is in a folder")
            .to_path_buf();
        let stem = wasm
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let bench = relative.split('/').next().unwrap_or_default();
        let name = if stem == "benchmark" {
            format!("sightglass/{bench}")
        } else {
            format!("sightglass/{bench}/{stem}")
        };
        let beyond: Vec<&str> = get(features_col)
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty() && !WASM2_FEATURES.contains(f))
            .collect();
        if get(kind_col) != "core" {
            println!("skip {name}: a {} module, not a core module", get(kind_col));
            continue;
        }
        if !beyond.is_empty() {
            println!("skip {name}: needs {} (beyond Wasm 2.0)", beyond.join(", "));
            continue;
        }
        if get(imports_col).contains("wasi_nn") || get(imports_col).contains("wasi-nn") {
            println!("skip {name}: imports wasi-nn");
            continue;
        }
        if !wasm.is_file() {
            return Err(format!("{}: listed but missing", wasm.display()));
        }
        // sightglass's rule: `<name>.<stream>.expected`, else `default.<stream>.expected`.
        let expected_file = |stream: &str| {
            [
                format!("{stem}.{stream}.expected"),
                format!("default.{stream}.expected"),
            ]
            .into_iter()
            .map(|file| folder.join(file))
            .find(|path| path.is_file())
        };
        cases.push(Case {
            name,
            args: Vec::new(),
            stdin: None,
            dirs: vec![(folder.clone(), ".".into())],
            expect: Expect::Files {
                stdout: expected_file("stdout"),
                stderr: expected_file("stderr"),
            },
            workdir: folder,
            wasm,
            // Two benchmarks import only `bench.start`: they measure no region.
            bench_regions: Some(usize::from(get(imports_col).contains("bench.end"))),
        });
    }
    Ok(cases)
}

/// The `--dir` flags of `case`, the same for `kiln run` and `kiln build`.
fn grant_flags(case: &Case) -> Vec<String> {
    process::grant_flags(&[], &case.dirs)
}

/// Checks what a run printed against what `case` expects.
fn verify(case: &Case, code: i32, stdout: &[u8], stderr: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    if code != 0 {
        problems.push(format!("exit code {code}, expected 0"));
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let excerpt = |bytes: &[u8]| {
        let text = text(bytes);
        let chars: Vec<char> = text.chars().collect();
        if chars.len() > 160 {
            format!("{:?}...", chars[..160].iter().collect::<String>())
        } else {
            format!("{text:?}")
        }
    };
    match &case.expect {
        Expect::Sha1(expected) => {
            let actual = sha1_hex(stdout);
            if &actual != expected {
                problems.push(format!(
                    "stdout sha1 {actual}, expected {expected} (stdout {} bytes: {})",
                    stdout.len(),
                    excerpt(stdout)
                ));
            }
        }
        Expect::Pattern(pattern) => {
            if !pattern.matches(&text(stdout)) {
                problems.push(format!(
                    "stdout {} does not match {:?}",
                    excerpt(stdout),
                    pattern.as_str()
                ));
            }
        }
        Expect::Files {
            stdout: stdout_file,
            stderr: stderr_file,
        } => {
            for (stream, actual, file) in [
                ("stdout", stdout, stdout_file),
                ("stderr", stderr, stderr_file),
            ] {
                let Some(file) = file else { continue };
                let expected = std::fs::read_to_string(file).unwrap_or_default();
                let actual_text = text(actual);
                if !expected.lines().eq(actual_text.lines()) {
                    problems.push(format!(
                        "{stream} {} differs from {} ({:?})",
                        excerpt(actual),
                        file.file_name().unwrap_or_default().to_string_lossy(),
                        expected.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
    }
    problems
}

/// Runs `case` in `mode` and checks it.
fn check(kiln: &Path, scratch: &Path, case: &Case, mode: &str) -> Result<(), String> {
    let exe = scratch.join(mode).join(case.name.replace('/', "__"));
    let mut command = process::kiln_command(
        kiln,
        mode,
        &case.wasm,
        &grant_flags(case),
        &case.args,
        &exe,
        &scratch.join("cache"),
        TIMEOUT,
    )?;
    command.current_dir(&case.workdir);
    let times = scratch
        .join("bench-times")
        .join(case.id(mode).replace('/', "__"));
    if case.bench_regions.is_some() {
        std::fs::create_dir_all(times.parent().unwrap()).map_err(|e| e.to_string())?;
        if times.exists() {
            std::fs::remove_file(&times).map_err(|e| format!("{}: {e}", times.display()))?;
        }
        command.env("KILN_BENCH_TIMES", &times);
    }
    let (code, stdout, stderr) = process::run(command, case.stdin.as_deref(), TIMEOUT)?;
    let mut problems = verify(case, code, &stdout, &stderr);
    if let Some(expected) = case.bench_regions {
        let regions = std::fs::read_to_string(&times)
            .unwrap_or_default()
            .lines()
            .count();
        if regions != expected {
            problems.push(format!(
                "{regions} bench.start/bench.end regions reported, expected {expected}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&stderr);
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        Err(format!("{} [stderr: {tail}]", problems.join("; ")))
    }
}

/// `pattern`, a Python `fnmatch` glob (wasm3's runner matches with it, without case
/// folding), as a `glob::Pattern`: `*` any run of characters, newlines and `/` included (the
/// default options of `matches` give `/` no special meaning), `?` one character, `[seq]` /
/// `[!seq]` one character in / not in the set. Where the two part (`fnmatch` takes an
/// unclosed `[` literally and `**` as `*`; `glob` rejects both, or makes `**` between `/`s
/// a recursive wildcard), the pattern is an error, never a silent mismatch.
fn fnmatch_pattern(pattern: &str) -> Result<glob::Pattern, String> {
    if pattern.contains("**") {
        return Err("`**` means more than `*` to glob::Pattern".into());
    }
    glob::Pattern::new(pattern).map_err(|e| e.to_string())
}

/// The SHA-1 of `bytes`, in lowercase hex: wasm3's expectations are SHA-1 digests.
fn sha1_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha1::digest(bytes))
}

/// Checks the helpers against known answers before trusting them with the corpora.
fn self_check() -> Result<(), String> {
    let sha1_cases = [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
        ),
    ];
    for (input, digest) in sha1_cases {
        if sha1_hex(input.as_bytes()) != digest {
            return Err(format!("sha1({input:?}) is wrong"));
        }
    }
    let glob_cases = [
        ("987\n", "987\n", true),
        ("987\n", "987", false),
        ("*a?c*", "xx\nabc\n", true),
        ("a*b*c", "a--b--b--c", true),
        ("a*b*c", "a--b--b--", false),
        ("[!x]y[a-c]", "zyb", true),
        ("[!x]y[a-c]", "xyb", false),
        ("a*; cat; /x/0.txt;*", "a\n; cat; /x/0.txt;\n", true),
        ("a?c", "a/c", true),
    ];
    for (pattern, text, matches) in glob_cases {
        let compiled = fnmatch_pattern(pattern).map_err(|e| format!("glob {pattern:?}: {e}"))?;
        if compiled.matches(text) != matches {
            return Err(format!("glob({pattern:?}, {text:?}) is not {matches}"));
        }
    }
    for pattern in ["[", "a**b", "**", "x/**/y"] {
        if fnmatch_pattern(pattern).is_ok() {
            return Err(format!(
                "glob {pattern:?} is accepted, though fnmatch reads it otherwise"
            ));
        }
    }
    Ok(())
}

fn main() {
    let started = Instant::now();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let shared = workspace.join("../shared");
    let shared = shared.canonicalize().unwrap_or(shared);
    let wasm3 = shared.join("corpora/wasm3-wasi");
    let sightglass = shared.join("corpora/sightglass");
    if !shared.is_dir() {
        println!(
            "corpora: skipped: {} does not exist (the corpora come with the ../shared folder \
             beside the repository); no test was run",
            shared.display()
        );
        return;
    }
    if let Err(error) = self_check() {
        eprintln!("corpora: helper self-check failed: {error}");
        std::process::exit(1);
    }
    let mut cases = Vec::new();
    let mut loaded_corpora = Vec::new();
    for (name, corpus, marker, load) in [
        (
            "wasm3",
            &wasm3,
            "test/EXPECTATIONS.json",
            wasm3_cases as fn(&Path) -> _,
        ),
        (
            "sightglass",
            &sightglass,
            "BENCHMARKS.tsv",
            sightglass_cases,
        ),
    ] {
        if !corpus.join(marker).is_file() {
            println!(
                "corpora: {name} skipped: {} does not exist; none of its programs was run",
                corpus.join(marker).display(),
            );
            continue;
        }
        match load(corpus) {
            Ok(loaded) => {
                cases.extend(loaded);
                loaded_corpora.push(name);
            }
            Err(error) => {
                eprintln!("corpora: {error}");
                std::process::exit(1);
            }
        }
    }
    if loaded_corpora.is_empty() {
        println!(
            "corpora: skipped: no corpus under {}; no test was run",
            shared.display()
        );
        return;
    }
    let kiln = match process::kiln_binary() {
        Ok(kiln) => kiln,
        Err(error) => {
            eprintln!("corpora: {error}");
            std::process::exit(1);
        }
    };
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let scratch = workspace.join("target").join("corpora");
    let all_modes = std::env::var_os(ALL_MODES_VAR).is_some();
    let mut runs: Vec<(&Case, &str)> = Vec::new();
    for case in &cases {
        for mode in ["run", "build", "run-inline", "build-native"] {
            if mode == "build-native" && !case.name.starts_with("sightglass/") {
                continue;
            }
            let id = case.id(mode);
            if filter
                .as_ref()
                .is_some_and(|filter| !id.contains(filter.as_str()))
            {
                continue;
            }
            if mode != "build" && BUILD_ONLY.contains(&case.name.as_str()) && !all_modes {
                println!(
                    "skip {id}: runs for 10 s or more by design; checked through kiln build \
                     only (set {ALL_MODES_VAR}=1 to run it through kiln run too)"
                );
                continue;
            }
            runs.push((case, mode));
        }
    }
    for case in cases
        .iter()
        .filter(|case| runs.iter().any(|(run, _)| run.name == case.name))
    {
        if let Expect::Files {
            stdout: None,
            stderr: None,
        } = case.expect
        {
            println!(
                "note {}: the corpus has no *.expected files; only the exit code is checked",
                case.name
            );
        }
    }
    // The longest programs first, so that they do not run alone at the end.
    runs.sort_by_key(|(case, _)| !SLOW.contains(&case.name.as_str()));
    let results: Vec<(&Case, &str, Result<(), String>, Duration)> = runs
        .par_iter()
        .map(|&(case, mode)| {
            let started = Instant::now();
            let result = check(&kiln, &scratch, case, mode);
            (case, mode, result, started.elapsed())
        })
        .collect();
    let mut failures = BTreeMap::new();
    // (corpus, mode) → (passed, failed)
    let mut tally: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for (case, mode, result, elapsed) in &results {
        let id = case.id(mode);
        let counts = tally.entry((case.corpus(), mode)).or_default();
        let seconds = elapsed.as_secs_f64();
        match result {
            Ok(()) => {
                counts.0 += 1;
                println!("ok   {id} ({seconds:.1}s)");
            }
            Err(message) => {
                counts.1 += 1;
                println!("FAIL {id} ({seconds:.1}s): {message}");
                failures.insert(id, message.clone());
            }
        }
    }
    let mut expected = expected::load("corpora");
    // A missing corpus or a filter leaves the cases they exclude unknown, not stale.
    expected.retain(|id, _| {
        let corpus = id.split('/').next().unwrap_or_default();
        loaded_corpora.contains(&corpus)
            && (filter.is_none() || runs.iter().any(|(case, mode)| &case.id(mode) == id))
    });
    let verdict = expected::report("corpora", &expected, &failures);
    for ((corpus, mode), (passed, failed)) in &tally {
        println!("corpora: {corpus} via kiln {mode}: {passed} passed, {failed} failed");
    }
    let passed = results
        .iter()
        .filter(|(_, _, result, _)| result.is_ok())
        .count();
    let programs = cases
        .iter()
        .filter(|case| runs.iter().any(|(run, _)| run.name == case.name))
        .count();
    println!(
        "corpora: {programs} programs, {} runs (kiln run, kiln build, kiln run --inline; sightglass also kiln build --target-features native); {} known failures; {:.0}s",
        runs.len(),
        expected.len(),
        started.elapsed().as_secs_f64()
    );
    println!("corpora: {passed} passed, {} failed", failures.len());
    if !verdict.ok() {
        std::process::exit(1);
    }
}
