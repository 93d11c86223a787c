//! `Module::relaxed_simd` reaches the compiler: the archive holds the object that
//! `kiln_compiler::compile` makes with the same policy, and the two policies make
//! different code for a relaxed operator.

use kiln_build::{Module, RelaxedSimd};
use std::path::Path;

const WAT: &str = r#"(module
  (func (export "swizzle") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1))))"#;

/// The object `kiln_compiler::compile` makes for the module named `relaxed` under `policy`.
fn compiler_object(policy: RelaxedSimd) -> Vec<u8> {
    let options = kiln_compiler::CompileOptions {
        target: "x86_64-unknown-linux-gnu".parse().unwrap(),
        symbol_prefix: kiln_build::symbol_prefix("relaxed"),
        relaxed_simd: policy,
        ..Default::default()
    };
    kiln_compiler::compile(&wat::parse_str(WAT).unwrap(), &options).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn relaxed_simd_policy_reaches_the_compiled_archive() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-build-relaxed-simd");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("relaxed.wat");
    std::fs::write(&source, WAT).unwrap();
    let (fast, deterministic) = (
        compiler_object(RelaxedSimd::Fast),
        compiler_object(RelaxedSimd::Deterministic),
    );
    assert_ne!(fast, deterministic, "the policies compile the same code");
    for (policy, expected, other) in [
        (RelaxedSimd::Fast, &fast, &deterministic),
        (RelaxedSimd::Deterministic, &deterministic, &fast),
    ] {
        let artifacts = Module::new(&source)
            .target("x86_64-unknown-linux-gnu")
            .relaxed_simd(policy)
            .out_dir(dir.join(policy.name()))
            .cargo_metadata(false)
            .compile()
            .unwrap();
        let archive = std::fs::read(&artifacts.archive).unwrap();
        assert!(
            contains(&archive, expected),
            "{policy:?}: not the compiler's object"
        );
        assert!(
            !contains(&archive, other),
            "{policy:?}: the other policy's object"
        );
    }
}
