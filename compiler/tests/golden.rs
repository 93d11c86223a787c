//! Golden code-quality tests, one file per case with its expectation inline: every
//! `golden/<name>.wat` is compiled and the disassembly of its wasm functions (not the
//! trampolines) is compared with the `;;` comment lines that end the same file. For
//! x86_64, once for the baseline (x86-64-v2: SSE4.2) and once with AVX2 (or the features
//! `x86_64_features` names); for aarch64, once for the base ISA. Offsets are relative to
//! each function's start, so the expectation changes only when the generated code does.
//!
//! A case starts with directives, one per line, as in Wasmtime's `tests/disas/*.wat`:
//!
//! ```text
//! ;;! target = "x86_64"
//! ;;! test = "compile"
//! ;;! opt_level = "speed"
//! ;; What the case shows, in a sentence or two.
//! (module ...)
//!
//! ;; == x86_64 (baseline: SSE4.2) ==
//! ;; f:
//! ;;      0: pushq %rbp
//! ```
//!
//! `target` (`x86_64` or `aarch64`) and `test` (only `compile`: compile, then
//! disassemble) are required; `opt_level` (`none`, `speed`, `speed_and_size`) defaults to
//! `speed`; `relaxed_simd` (`fast`, `deterministic`) defaults to `fast`; `inline`
//! (`true`, `false`) defaults to `CompileOptions::default()`'s; `bounds_checks` (`true`,
//! `false`, default `false`) compiles as `--bounds-checks` does (no reservation, no guard);
//! `profile_generate` (`true`, `false`: count function entries) defaults to `false`;
//! `fixed_memory_address` (`true`, `false`: the first memory at
//! `kiln_abi::metadata::FIXED_MEMORY_ADDRESS`, as in `kiln build`'s executables) defaults
//! to `false`;
//! `x86_64_features` (comma-separated, e.g. `"avx2,fma"`) replaces AVX2 in the second
//! x86_64 configuration. The expectation is the run of `;;` lines at the end of the file, after the
//! module. To add a case, write the directives and the module and run
//! `BLESS=1 cargo test -p kiln-compiler --test golden`, which rewrites every file's
//! expectation in place; review the diff like code.

use capstone::arch::x86::{ArchMode, ArchSyntax};
use capstone::arch::{arm64, BuildsCapstone, BuildsCapstoneSyntax};
use capstone::Capstone;
use kiln_compiler::{compile, CompileOptions, MemorySettings, OptLevel, RelaxedSimd};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A target the cases can ask for.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    X86_64,
    Aarch64,
}

impl Target {
    fn triple(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64-unknown-linux-gnu",
            Target::Aarch64 => "aarch64-unknown-linux-gnu",
        }
    }
}

/// The configurations a case is compiled in: a heading and the CPU features.
fn configurations(case: &Case) -> Vec<(String, Vec<String>)> {
    match case.target {
        Target::X86_64 => {
            let features = case
                .x86_64_features
                .clone()
                .unwrap_or_else(|| vec!["avx2".to_string()]);
            vec![
                ("x86_64 (baseline: SSE4.2)".to_string(), vec![]),
                (format!("x86_64 + {}", features.join(" + ")), features),
            ]
        }
        Target::Aarch64 => vec![("aarch64".to_string(), vec![])],
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
}

/// A case file split into its parts.
struct Case {
    /// How to compile it, from the `;;!` directives.
    opt_level: OptLevel,
    target: Target,
    relaxed_simd: RelaxedSimd,
    /// Whether calls are inlined across the module.
    inline: bool,
    /// Whether memories are compiled for explicit bounds checks (`--bounds-checks`).
    bounds_checks: bool,
    /// Whether the code counts function entries (`--profile-generate`).
    profile_generate: bool,
    /// Whether the first memory is at a fixed address (`kiln build`'s executables).
    fixed_memory_address: bool,
    /// The features of the second x86_64 configuration, when not AVX2.
    x86_64_features: Option<Vec<String>>,
    /// The file up to its expectation: directives, comments, the module.
    source: String,
    /// The expected output, without the `;;` prefixes.
    expected: String,
}

/// Splits `text` (the file `path`) into directives, source and expectation.
fn parse_case(path: &Path, text: &str) -> Case {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    while end > 0 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && lines[start - 1].starts_with(";;") && !lines[start - 1].starts_with(";;!") {
        start -= 1;
    }
    let expected: String = lines[start..end]
        .iter()
        .map(|line| {
            let line = &line[2..];
            let line = line.strip_prefix(' ').unwrap_or(line);
            format!("{line}\n")
        })
        .collect();
    let mut source_end = start;
    while source_end > 0 && lines[source_end - 1].trim().is_empty() {
        source_end -= 1;
    }
    let source: String = lines[..source_end]
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();

    let (mut target, mut test, mut opt_level) = (None, None, OptLevel::Speed);
    let (mut relaxed_simd, mut x86_64_features) = (RelaxedSimd::Fast, None);
    let mut inline = CompileOptions::default().inline;
    let mut bounds_checks = false;
    let mut profile_generate = false;
    let mut fixed_memory_address = false;
    for (number, line) in lines.iter().enumerate() {
        let Some(directive) = line.strip_prefix(";;!") else {
            continue;
        };
        let at = format!("{}:{}", path.display(), number + 1);
        let (key, value) = directive
            .split_once('=')
            .unwrap_or_else(|| panic!("{at}: a directive is `;;! key = \"value\"`"));
        let value = value.trim().trim_matches('"');
        match key.trim() {
            "target" => target = Some(value.to_string()),
            "test" => test = Some(value.to_string()),
            "opt_level" => {
                opt_level = match value {
                    "none" => OptLevel::None,
                    "speed" => OptLevel::Speed,
                    "speed_and_size" => OptLevel::SpeedAndSize,
                    other => panic!("{at}: unknown opt_level {other:?}"),
                }
            }
            "relaxed_simd" => {
                relaxed_simd = match value {
                    "fast" => RelaxedSimd::Fast,
                    "deterministic" => RelaxedSimd::Deterministic,
                    other => panic!("{at}: unknown relaxed_simd {other:?}"),
                }
            }
            "inline" => inline = boolean(&at, "inline", value),
            "bounds_checks" => bounds_checks = boolean(&at, "bounds_checks", value),
            "profile_generate" => profile_generate = boolean(&at, "profile_generate", value),
            "fixed_memory_address" => {
                fixed_memory_address = boolean(&at, "fixed_memory_address", value)
            }
            "x86_64_features" => {
                x86_64_features = Some(value.split(',').map(|f| f.trim().to_string()).collect())
            }
            other => panic!("{at}: unknown directive {other:?}"),
        }
    }
    let path = path.display();
    let target = match target.as_deref() {
        Some("x86_64") => Target::X86_64,
        Some("aarch64") => Target::Aarch64,
        Some(other) => panic!("{path}: unsupported target {other:?} (x86_64 or aarch64)"),
        None => panic!("{path}: no `;;! target = \"...\"` directive"),
    };
    match test.as_deref() {
        Some("compile") => {}
        Some(other) => panic!("{path}: unknown test {other:?} (only compile)"),
        None => panic!("{path}: no `;;! test = \"compile\"` directive"),
    }
    Case {
        opt_level,
        target,
        relaxed_simd,
        inline,
        bounds_checks,
        profile_generate,
        fixed_memory_address,
        x86_64_features,
        source,
        expected,
    }
}

/// The value of boolean directive `key`, `true` or `false`.
fn boolean(at: &str, key: &str, value: &str) -> bool {
    match value {
        "true" => true,
        "false" => false,
        other => panic!("{at}: {key} is true or false, not {other:?}"),
    }
}

/// The file with `actual` as its expectation.
fn blessed(case: &Case, actual: &str) -> String {
    let mut out = case.source.clone();
    out.push('\n');
    for line in actual.lines() {
        if line.is_empty() {
            out.push_str(";;\n");
        } else {
            writeln!(out, ";; {line}").unwrap();
        }
    }
    out
}

/// The disassembly of every wasm function of the object, in address order.
fn disassemble_functions(object_bytes: &[u8], target: Target) -> String {
    let file = object::File::parse(object_bytes).expect("kiln emits valid ELF");
    let mut functions: Vec<_> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
        .filter(|s| !s.name().unwrap_or("").contains("kiln_"))
        .collect();
    functions.sort_by_key(|s| s.address());
    let mut out = String::new();
    for symbol in functions {
        let section = file
            .section_by_index(symbol.section_index().expect("defined"))
            .expect("section");
        let data = section.data().expect("section data");
        let start = (symbol.address() - section.address()) as usize;
        let code = &data[start..start + symbol.size() as usize];
        writeln!(out, "{}:", symbol.name().unwrap()).unwrap();
        out.push_str(&disassemble(code, target));
    }
    out
}

/// The branch target of an x86_64 (`jne 0x20`) or aarch64 (`b.ne #0x20`, `cbz w0, #0x20`,
/// `tbnz w0, #3, #0x20`) branch: its last operand as an address.
fn branch_target(mnemonic: &str, operands: &str) -> Option<u64> {
    let is_branch = mnemonic.starts_with('j')
        || mnemonic == "b"
        || mnemonic.starts_with("b.")
        || ["cbz", "cbnz", "tbz", "tbnz"].contains(&mnemonic);
    if !is_branch {
        return None;
    }
    let last = operands.rsplit(", ").next()?;
    let hex = last.trim_start_matches('#').strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok()
}

/// One line per instruction, `offset: mnemonic operands`. Code ends at the first
/// unconditional transfer (`ret`, `jmp`, `ud2`; aarch64 `ret`, `b`, `udf`) that no earlier
/// branch jumps past; what follows is the constant pool, shown as bytes.
fn disassemble(code: &[u8], target: Target) -> String {
    let capstone = match target {
        Target::X86_64 => Capstone::new()
            .x86()
            .mode(ArchMode::Mode64)
            .syntax(ArchSyntax::Att)
            .build()
            .expect("capstone supports x86_64"),
        Target::Aarch64 => Capstone::new()
            .arm64()
            .mode(arm64::ArchMode::Arm)
            .build()
            .expect("capstone supports aarch64"),
    };
    let mut out = String::new();
    let mut offset = 0usize;
    let mut furthest_target = 0u64;
    while offset < code.len() {
        let instructions = capstone
            .disasm_count(&code[offset..], offset as u64, 1)
            .expect("disassembly");
        let Some(instruction) = instructions.iter().next() else {
            break;
        };
        let mnemonic = instruction.mnemonic().unwrap_or("");
        let operands = instruction.op_str().unwrap_or("");
        writeln!(
            out,
            "  {offset:4x}: {}",
            format!("{mnemonic} {operands}").trim_end()
        )
        .unwrap();
        offset += instruction.len();
        if let Some(target) = branch_target(mnemonic, operands) {
            furthest_target = furthest_target.max(target);
        }
        if matches!(
            mnemonic,
            "ret" | "retq" | "jmp" | "jmpq" | "ud2" | "b" | "udf"
        ) && furthest_target < offset as u64
        {
            break;
        }
    }
    for (i, chunk) in code[offset..].chunks(16).enumerate() {
        let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(out, "  {:4x}: .byte {}", offset + 16 * i, bytes.join(" ")).unwrap();
    }
    out
}

/// A line diff (longest common subsequence) with `-` for expected and `+` for actual,
/// showing three unchanged lines around each change, and every heading and function name
/// (the lines that do not start with a space) so that each change can be placed.
fn diff(expected: &str, actual: &str) -> String {
    const CONTEXT: usize = 3;
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // Each line of the diff as (marker, text).
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', a[i]));
            i += 1;
        } else {
            lines.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    let near_change = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (marker, text)) in lines.iter().enumerate() {
        if near_change(k) || !text.starts_with(' ') {
            writeln!(out, "{marker} {text}").unwrap();
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    out
}

/// The rendered output for one case: each configuration's heading and disassembly.
fn golden_output(path: &Path, case: &Case) -> String {
    let wasm = wat::parse_str(&case.source).unwrap_or_else(|mut e| {
        e.set_path(path);
        panic!("{e}")
    });
    let mut out = String::new();
    for (heading, target_features) in configurations(case) {
        let options = CompileOptions {
            target: case.target.triple().parse().unwrap(),
            opt_level: case.opt_level,
            target_features,
            relaxed_simd: case.relaxed_simd,
            inline: case.inline,
            memory: if case.bounds_checks {
                MemorySettings {
                    reservation: 0,
                    guard_size: 0,
                    bounds_checks: true,
                }
            } else {
                CompileOptions::default().memory
            },
            profile_generate: case.profile_generate,
            fixed_memory_address: case.fixed_memory_address,
            parallel: false,
            ..CompileOptions::default()
        };
        let object = compile(&wasm, &options).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        writeln!(out, "== {heading} ==").unwrap();
        out.push_str(&disassemble_functions(&object, case.target));
    }
    out
}

#[test]
fn golden_disassembly() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("golden directory")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .collect();
    inputs.sort();
    assert!(
        !inputs.is_empty(),
        "no inputs in {}",
        golden_dir().display()
    );
    let mut mismatches = Vec::new();
    for path in &inputs {
        let text = std::fs::read_to_string(path).unwrap();
        let case = parse_case(path, &text);
        let actual = golden_output(path, &case);
        if bless {
            let blessed = blessed(&case, &actual);
            if blessed != text {
                std::fs::write(path, blessed).unwrap();
            }
            continue;
        }
        if case.expected != actual {
            // The file, as a path from the workspace, and the line its expectation starts on.
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
            let name = path.strip_prefix(workspace).unwrap_or(path);
            let line = case.source.lines().count() + 2;
            mismatches.push(format!(
                "--- {}:{line} (expected)\n+++ actual\n{}",
                name.display(),
                diff(&case.expected, &actual)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "generated code differs from the expectations (rerun with BLESS=1 to accept):\n{}",
        mismatches.join("\n")
    );
}
