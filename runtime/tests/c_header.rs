//! The C API's header, `runtime/include/kiln.h`, against what `src/c_api.rs` defines: it
//! compiles cleanly as C and as C++, and it declares exactly the `kiln_*` functions the
//! runtime exports, each with as many parameters as the Rust definition.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn manifest_file(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Each `kiln_*` function that `text` declares or defines, with its number of parameters,
/// found as `name(` after `fn ` (Rust) or in a C prototype; parameters are counted by
/// top-level commas (`()` and `(void)` have none, a trailing comma ends none).
fn functions(text: &str, rust: bool) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    let mut rest = text;
    while let Some(at) = rest.find("kiln_") {
        let before = &rest[..at];
        let tail = &rest[at..];
        rest = &rest[at + 5..];
        let name_end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let (name, after) = tail.split_at(name_end);
        let is_declaration = if rust {
            before.ends_with("extern \"C\" fn ")
        } else {
            // A C prototype: the name follows its return type and opens the parameters;
            // typedef'd function pointers are written `(*name)`.
            after.starts_with('(') && !before.ends_with("(*") && !before.trim_end().ends_with(',')
        };
        if !is_declaration || !after.starts_with('(') {
            continue;
        }
        let mut depth = 0;
        let mut commas = 0;
        let mut end = 0;
        for (index, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = index;
                        break;
                    }
                }
                ',' if depth == 1 => commas += 1,
                _ => {}
            }
        }
        let inside = after[1..end].trim();
        // A trailing comma (rustfmt's multi-line style) ends no parameter.
        let trailing = usize::from(inside.ends_with(','));
        let count = if inside.is_empty() || inside == "void" {
            0
        } else {
            commas + 1 - trailing
        };
        found.insert(name.to_string(), count);
    }
    found
}

#[test]
fn the_header_declares_what_the_runtime_defines() {
    let header = manifest_file("include/kiln.h");
    // Only the declarations: comments may mention functions.
    let header: String = header
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("/*") || line.starts_with('*'))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let declared = functions(&header, false);
    let defined = functions(&manifest_file("src/c_api.rs"), true);
    assert!(defined.len() >= 10, "found the definitions: {defined:?}");
    assert_eq!(declared, defined, "kiln.h against c_api.rs");
}

#[test]
fn the_header_compiles_as_c_and_cpp() {
    let header = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/kiln.h");
    for (compiler, language) in [("cc", "c"), ("c++", "c++")] {
        let output = Command::new(compiler)
            .args([
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-x",
                language,
            ])
            .arg(&header)
            .output()
            .unwrap_or_else(|error| panic!("{compiler}: {error}"));
        assert!(
            output.status.success(),
            "{compiler} -x {language}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_checker_counts_parameters() {
    let c =
        "kiln_error *kiln_call(kiln_instance *instance, const char *name, void (*f)(int, int));\n\
             void kiln_none(void);\ntypedef int32_t (*kiln_host_fn)(void *env);";
    let found = functions(c, false);
    assert_eq!(found.get("kiln_call"), Some(&3));
    assert_eq!(found.get("kiln_none"), Some(&0));
    assert!(!found.contains_key("kiln_host_fn"));
    let rust = "pub unsafe extern \"C\" fn kiln_a(\n    x: u32,\n    y: *mut u8,\n) -> u32 {}\nfn kiln_b() {}";
    let found = functions(rust, true);
    assert_eq!(found.get("kiln_a"), Some(&2));
    assert!(!found.contains_key("kiln_b"));
}
