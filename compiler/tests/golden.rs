//! Golden code-quality tests: every `golden/<name>.wat` is compiled for x86_64 and the
//! disassembly of its wasm functions (not the trampolines) is compared with
//! `golden/<name>.x86_64.txt`, once for the baseline (x86-64-v2: SSE4.2) and once with
//! AVX2. Offsets are relative to each function's start, so the files change only when the
//! generated code does. `BLESS=1 cargo test -p kiln-compiler --test golden` rewrites the
//! expected files; review their diff like code.

use capstone::arch::x86::{ArchMode, ArchSyntax};
use capstone::arch::{BuildsCapstone, BuildsCapstoneSyntax};
use capstone::Capstone;
use kiln_compiler::{compile, CompileOptions};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The configurations each input is compiled in: a heading and the CPU features.
const CONFIGURATIONS: [(&str, &[&str]); 2] = [
    ("x86_64 (baseline: SSE4.2)", &[]),
    ("x86_64 + avx2", &["avx2"]),
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
}

/// The disassembly of every wasm function of the object, in address order.
fn disassemble_functions(object_bytes: &[u8]) -> String {
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
        out.push_str(&disassemble(code));
    }
    out
}

/// One line per instruction, `offset: mnemonic operands`. Code ends at the first
/// unconditional transfer (`ret`, `jmp`, `ud2`) that no earlier branch jumps past; what
/// follows is the constant pool, shown as bytes.
fn disassemble(code: &[u8]) -> String {
    let capstone = Capstone::new()
        .x86()
        .mode(ArchMode::Mode64)
        .syntax(ArchSyntax::Att)
        .build()
        .expect("capstone supports x86_64");
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
        if mnemonic.starts_with('j') {
            if let Some(target) = operands
                .strip_prefix("0x")
                .and_then(|t| u64::from_str_radix(t, 16).ok())
            {
                furthest_target = furthest_target.max(target);
            }
        }
        if matches!(mnemonic, "ret" | "retq" | "jmp" | "jmpq" | "ud2")
            && furthest_target < offset as u64
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

/// A line diff (longest common subsequence) with `-` for expected and `+` for actual.
fn diff(expected: &str, actual: &str) -> String {
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
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            writeln!(out, "  {}", a[i]).unwrap();
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            writeln!(out, "+ {}", b[j]).unwrap();
            j += 1;
        } else {
            writeln!(out, "- {}", a[i]).unwrap();
            i += 1;
        }
    }
    out
}

/// The expected-file text for one input.
fn golden_output(wat_path: &Path) -> String {
    let wasm = wat::parse_file(wat_path).unwrap_or_else(|e| panic!("{}: {e}", wat_path.display()));
    let mut out = String::new();
    for (heading, features) in CONFIGURATIONS {
        let options = CompileOptions {
            target: "x86_64-unknown-linux-gnu".parse().unwrap(),
            target_features: features.iter().map(|f| f.to_string()).collect(),
            parallel: false,
            ..CompileOptions::default()
        };
        let object =
            compile(&wasm, &options).unwrap_or_else(|e| panic!("{}: {e}", wat_path.display()));
        writeln!(out, "== {heading} ==").unwrap();
        out.push_str(&disassemble_functions(&object));
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
    for input in &inputs {
        let expected_path = input.with_extension("x86_64.txt");
        let actual = golden_output(input);
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            let name = expected_path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            mismatches.push(format!(
                "--- {name} (expected)\n+++ actual\n{}",
                diff(&expected, &actual)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "generated code differs from the golden files (rerun with BLESS=1 to accept):\n{}",
        mismatches.join("\n")
    );
}
