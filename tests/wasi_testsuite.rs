//! The official WASI preview 1 testsuite (`../shared/corpora/wasi-testsuite`: 72
//! programs in Rust, C and AssemblyScript) run through kiln twice, the way a user would:
//!
//! - `run`: `kiln run [--env NAME=VALUE]... [--dir ROOT::/] NAME.wasm ARGS...`;
//! - `build`: `kiln build NAME.wasm -o EXE [--env ...] [--dir ROOT::/]`, then `EXE ARGS...`
//!   (the grants baked into the executable).
//!
//! The `kiln` binary is the one `cargo test --workspace` builds beside this test
//! (`target/<profile>/kiln`, built for `cli/tests`); `$KILN` overrides it.
//!
//! Per the corpus contract (`doc/specification.md`): each `NAME.wasm` is a test and
//! `NAME.json` its specification (`args`, `env` — the whole environment, nothing
//! inherited —, `root` preopened as `/`, `exit_code`, `stdout`, `stderr`, or the same
//! fields as `run`/`wait`/`read` operations). Each run gets its own copy of the test's
//! folder fixtures (so the two modes and parallel runs cannot see each other's files, and
//! the corpus is never written to), with `*.cleanup` files removed, as its working
//! directory. Stdin is empty.
//!
//! Known failures are listed in `expected-failures/wasi-testsuite.txt` as
//! `<lang>/<name>@<mode>  # reason`; a listed case that passes fails the run. Without the
//! corpus the test says it was skipped and why, and claims no pass.

use kiln_tests::{expected, process};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long one program may run.
const TIMEOUT: Duration = Duration::from_secs(120);

/// One test program and its specification.
struct Case {
    lang: String,
    name: String,
    wasm: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    root: Option<String>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

impl Case {
    fn id(&self, mode: &str) -> String {
        format!("{}/{}@{mode}", self.lang, self.name)
    }

    fn folder(&self) -> &Path {
        self.wasm.parent().expect("a test is in a folder")
    }
}

/// Reads the specification fields of a legacy object or a `run`/`wait`/`read` operation.
fn apply(case: &mut Case, spec: &serde_json::Value) {
    if let Some(args) = spec.get("args").and_then(|v| v.as_array()) {
        case.args = args
            .iter()
            .filter_map(|a| a.as_str().map(String::from))
            .collect();
    }
    if let Some(env) = spec.get("env").and_then(|v| v.as_object()) {
        case.env = env
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
    }
    if let Some(root) = spec.get("root").and_then(|v| v.as_str()) {
        case.root = Some(root.to_string());
    }
    if let Some(code) = spec.get("exit_code").and_then(|v| v.as_i64()) {
        case.exit_code = code as i32;
    }
    if let Some(stdout) = spec.get("stdout").and_then(|v| v.as_str()) {
        case.stdout = Some(stdout.to_string());
    }
    if let Some(stderr) = spec.get("stderr").and_then(|v| v.as_str()) {
        case.stderr = Some(stderr.to_string());
    }
}

fn load_case(lang: &str, wasm: PathBuf) -> Result<Case, String> {
    let mut case = Case {
        lang: lang.to_string(),
        name: wasm.file_stem().unwrap().to_string_lossy().into_owned(),
        wasm: wasm.clone(),
        args: Vec::new(),
        env: Vec::new(),
        root: None,
        exit_code: 0,
        stdout: None,
        stderr: None,
    };
    let json = wasm.with_extension("json");
    if json.exists() {
        let text = std::fs::read_to_string(&json).map_err(|e| e.to_string())?;
        let spec: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
        match spec.get("operations").and_then(|v| v.as_array()) {
            Some(operations) => {
                for operation in operations {
                    match operation.get("type").and_then(|v| v.as_str()) {
                        Some("run") | Some("wait") => apply(&mut case, operation),
                        Some("read") => {
                            let payload = operation
                                .get("payload")
                                .and_then(|v| v.as_str())
                                .unwrap_or_default()
                                .to_string();
                            match operation.get("id").and_then(|v| v.as_str()) {
                                Some("stderr") => case.stderr = Some(payload),
                                _ => case.stdout = Some(payload),
                            }
                        }
                        other => return Err(format!("unsupported operation {other:?}")),
                    }
                }
            }
            None => apply(&mut case, &spec),
        }
    }
    Ok(case)
}

/// Every test of the corpus, sorted.
fn cases(corpus: &Path) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for lang in ["assemblyscript", "c", "rust"] {
        let folder = corpus
            .join("tests")
            .join(lang)
            .join("testsuite")
            .join("wasm32-wasip1");
        let mut wasms: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|e| format!("{}: {e}", folder.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        wasms.sort();
        for wasm in wasms {
            cases.push(load_case(lang, wasm)?);
        }
    }
    Ok(cases)
}

/// Copies `from` to `to` recursively, keeping symlinks as symlinks and leaving out
/// `*.cleanup` files.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.extension().is_some_and(|ext| ext == "cleanup") {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if file_type.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target)?;
            // The corpus may be read-only; the copy is the test's to change.
            let mut permissions = std::fs::metadata(&target)?.permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o644);
            std::fs::set_permissions(&target, permissions)?;
        }
    }
    Ok(())
}

/// A fresh working directory for `case` in `mode`: the test's root fixture copied in.
fn workdir(scratch: &Path, case: &Case, mode: &str) -> Result<PathBuf, String> {
    let dir = scratch.join(mode).join(&case.lang).join(&case.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(root) = &case.root {
        copy_tree(&case.folder().join(root), &dir.join(root))
            .map_err(|e| format!("copying {root}: {e}"))?;
    }
    Ok(dir)
}

/// Runs `command` with empty stdin to completion or until the timeout; returns (exit code,
/// stdout, stderr), the output as text.
fn run(command: Command) -> Result<(i32, String, String), String> {
    let (code, stdout, stderr) = process::run(command, None, TIMEOUT)?;
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Ok((code, text(stdout), text(stderr)))
}

/// The grant flags of `case`, the same for `kiln run` and `kiln build`.
fn grant_flags(case: &Case) -> Vec<String> {
    let root = case
        .root
        .iter()
        .map(|root| (PathBuf::from(root), "/".into()));
    process::grant_flags(&case.env, &root.collect::<Vec<_>>())
}

/// Runs `case` in `mode` and checks it against its specification.
fn check(kiln: &Path, scratch: &Path, case: &Case, mode: &str) -> Result<(), String> {
    let dir = workdir(scratch, case, mode)?;
    let mut command = process::kiln_command(
        kiln,
        mode,
        &case.wasm,
        &grant_flags(case),
        &case.args,
        &dir.join(format!("{}.exe", case.name)),
        &scratch.join("cache"),
        TIMEOUT,
    )?;
    command.current_dir(&dir);
    let (code, stdout, stderr) = run(command)?;
    let mut problems = Vec::new();
    if code != case.exit_code {
        problems.push(format!("exit code {code}, expected {}", case.exit_code));
    }
    if let Some(expected) = &case.stdout {
        if &stdout != expected {
            problems.push(format!("stdout {stdout:?}, expected {expected:?}"));
        }
    }
    if let Some(expected) = &case.stderr {
        if &stderr != expected {
            problems.push(format!("stderr {stderr:?}, expected {expected:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        Err(format!("{} [stderr: {tail}]", problems.join("; ")))
    }
}

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let corpus = workspace.join("../shared/corpora/wasi-testsuite");
    if !corpus.join("tests").is_dir() {
        println!(
            "wasi-testsuite: skipped: the corpus is not at {} (it comes with the ../shared \
             folder beside the repository); no test was run",
            corpus.display()
        );
        return;
    }
    let kiln = match process::kiln_binary() {
        Ok(kiln) => kiln,
        Err(error) => {
            eprintln!("wasi-testsuite: {error}");
            std::process::exit(1);
        }
    };
    let cases = match cases(&corpus) {
        Ok(cases) => cases,
        Err(error) => {
            eprintln!("wasi-testsuite: {error}");
            std::process::exit(1);
        }
    };
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let scratch = workspace.join("target").join("wasi-testsuite");
    let runs: Vec<(&Case, &str)> = cases
        .iter()
        .flat_map(|case| [(case, "run"), (case, "build")])
        .filter(|(case, mode)| {
            filter
                .as_ref()
                .is_none_or(|filter| case.id(mode).contains(filter.as_str()))
        })
        .collect();
    let results: Vec<(String, Result<(), String>)> = runs
        .par_iter()
        .map(|(case, mode)| (case.id(mode), check(&kiln, &scratch, case, mode)))
        .collect();
    let (passed, failures) =
        expected::tally(results.iter().map(|(id, result)| (id.as_str(), result)));
    let mut expected = expected::load("wasi-testsuite");
    if filter.is_some() {
        expected.retain(|id, _| results.iter().any(|(ran, _)| ran == id));
    }
    let verdict = expected::report("wasi-testsuite", &expected, &failures);
    println!(
        "wasi-testsuite: {} programs x 2 modes (kiln run, kiln build); {} known failures",
        runs.len() / 2,
        expected.len()
    );
    println!("wasi-testsuite: {passed} passed, {} failed", failures.len());
    if !verdict.ok() {
        std::process::exit(1);
    }
}
