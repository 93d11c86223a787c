//! Expected-failure lists: `tests/expected-failures/<suite>.txt`, one case per line as
//! `<file>:<line>` followed by an optional `# reason`. A listed case that passes is an
//! error too, so the lists never go stale.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The list for `suite`: case → reason.
pub fn load(suite: &str) -> BTreeMap<String, String> {
    let path = path(suite);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once('#') {
            Some((case, reason)) => (case.trim().to_string(), reason.trim().to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect()
}

/// Where the list for `suite` lives.
pub fn path(suite: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("expected-failures")
        .join(format!("{suite}.txt"))
}

/// How a suite's run compares with its list.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Failures that are not listed.
    pub unexpected: Vec<String>,
    /// Listed cases that did not fail.
    pub stale: Vec<String>,
}

impl Verdict {
    /// Whether the run matches the list exactly.
    pub fn ok(&self) -> bool {
        self.unexpected.is_empty() && self.stale.is_empty()
    }
}

/// Compares `failures` (case → message) with the list. A listed case that did not fail
/// (it passed, or no longer exists) is stale.
pub fn compare(
    expected: &BTreeMap<String, String>,
    failures: &BTreeMap<String, String>,
) -> Verdict {
    let mut verdict = Verdict::default();
    for (case, message) in failures {
        if !expected.contains_key(case) {
            verdict.unexpected.push(format!("{case}: {message}"));
        }
    }
    for case in expected.keys() {
        if !failures.contains_key(case) {
            verdict.stale.push(case.clone());
        }
    }
    verdict
}

/// Prints `ok   <id>` or `FAIL <id>: <message>` for each result of a program suite;
/// returns how many passed and the failures (id → message).
pub fn tally<'a>(
    results: impl IntoIterator<Item = (&'a str, &'a Result<(), String>)>,
) -> (usize, BTreeMap<String, String>) {
    let mut failures = BTreeMap::new();
    let mut passed = 0;
    for (id, result) in results {
        match result {
            Ok(()) => {
                passed += 1;
                println!("ok   {id}");
            }
            Err(message) => {
                println!("FAIL {id}: {message}");
                failures.insert(id.to_string(), message.clone());
            }
        }
    }
    (passed, failures)
}

/// Compares `failures` with `suite`'s list `expected` and prints the unexpected failures
/// and the listed cases that passed; returns the verdict.
pub fn report(
    suite: &str,
    expected: &BTreeMap<String, String>,
    failures: &BTreeMap<String, String>,
) -> Verdict {
    let verdict = compare(expected, failures);
    for case in &verdict.unexpected {
        println!("unexpected failure: {case}");
    }
    for case in &verdict.stale {
        println!(
            "listed as failing but passed: {case} (remove it from {})",
            path(suite).display()
        );
    }
    verdict
}
