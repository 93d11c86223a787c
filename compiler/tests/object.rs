//! The compiler's object output: symbols, descriptor, and clean errors on bad input.

use kiln_compiler::{compile, CompileError, CompileOptions, MemorySettings};
use object::{Object, ObjectSymbol};

fn compile_wat(wat: &str) -> Vec<u8> {
    compile(&wat::parse_str(wat).unwrap(), &CompileOptions::default()).unwrap()
}

const FACTORIAL: &str = r#"
(module $math
  (memory 1)
  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  (func $div (export "div") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $load (param i32) (result i32) (i32.load offset=8 (local.get 0))))
"#;

#[test]
fn object_has_named_functions_and_one_global_descriptor() {
    let bytes = compile_wat(FACTORIAL);
    let file = object::File::parse(&*bytes).unwrap();
    assert_eq!(file.kind(), object::ObjectKind::Relocatable);
    let names: Vec<(String, bool)> = file
        .symbols()
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.is_global())))
        .collect();
    for function in ["fac", "div"] {
        assert!(
            names.contains(&(function.to_string(), false)),
            "{function} missing from {names:?}"
        );
    }
    // Nothing can call `$load`: left out (`object_lacks_the_functions_nothing_can_run`).
    assert!(!names.iter().any(|(name, _)| name == "load"), "{names:?}");
    let globals: Vec<&String> = names
        .iter()
        .filter(|(_, global)| *global)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(globals, vec!["kiln_module"]);
}

#[test]
fn symbol_prefix_applies_to_every_kiln_symbol() {
    let options = CompileOptions {
        symbol_prefix: "plugin_".into(),
        ..CompileOptions::default()
    };
    let bytes = compile(&wat::parse_str(FACTORIAL).unwrap(), &options).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    assert!(file
        .symbols()
        .any(|s| s.name() == Ok("plugin_kiln_module") && s.is_global()));
    assert!(file.symbols().any(|s| s.name() == Ok("plugin_fac")));
}

#[test]
fn invalid_wasm_reports_its_offset() {
    let mut bytes = wat::parse_str(FACTORIAL).unwrap();
    bytes.truncate(bytes.len() - 3);
    match compile(&bytes, &CompileOptions::default()) {
        Err(CompileError::Invalid { offset, .. }) => assert!(offset > 8),
        other => panic!("expected an invalid-wasm error, got {other:?}"),
    }
}

#[test]
fn a_component_is_named_as_such() {
    let component = wat::parse_str("(component)").unwrap();
    match compile(&component, &CompileOptions::default()) {
        Err(CompileError::Unsupported { feature, offset: 0 }) => {
            assert!(feature.starts_with("a WebAssembly component where a core module is expected"))
        }
        other => panic!("expected an unsupported-component error, got {other:?}"),
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let seed_module = wat::parse_str(FACTORIAL).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut bytes = seed_module.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len();
            bytes[at] = (state >> 32) as u8;
        }
        let _ = compile(&bytes, &CompileOptions::default());
    }
}

#[test]
fn aarch64_objects_are_aarch64_elf() {
    let options = CompileOptions {
        target: "aarch64-unknown-linux-gnu".parse().unwrap(),
        ..CompileOptions::default()
    };
    let bytes = compile(&wat::parse_str(FACTORIAL).unwrap(), &options).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    assert_eq!(file.architecture(), object::Architecture::Aarch64);
    assert!(file.symbols().any(|s| s.name() == Ok("fac")));
}

#[test]
fn unsupported_targets_are_refused_by_name() {
    let options = CompileOptions {
        target: "riscv64gc-unknown-linux-gnu".parse().unwrap(),
        ..CompileOptions::default()
    };
    let error = compile(&wat::parse_str(FACTORIAL).unwrap(), &options).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("riscv64gc-unknown-linux-gnu is not supported"),
        "{error}"
    );
}

#[test]
fn functions_are_placed_callers_first_from_the_entry_points() {
    // Index order would be helper, unused, leaf, main; `main` (the export) comes first,
    // then what it calls in call order, depth first; `unused` (kept) last.
    let options = CompileOptions {
        drop_unused_functions: false,
        ..CompileOptions::default()
    };
    let wat = r#"(module
          (func $helper (call $leaf))
          (func $unused)
          (func $leaf)
          (func $main (export "main") (call $helper) (call $leaf)))"#;
    let bytes = compile(&wat::parse_str(wat).unwrap(), &options).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let mut functions: Vec<(u64, String)> = file
        .symbols()
        .filter(|symbol| symbol.kind() == object::SymbolKind::Text)
        .filter_map(|symbol| Some((symbol.address(), symbol.name().ok()?.to_string())))
        .filter(|(_, name)| ["main", "helper", "leaf", "unused"].contains(&name.as_str()))
        .collect();
    functions.sort();
    let names: Vec<&str> = functions.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names, ["main", "helper", "leaf", "unused"]);
}

/// The text symbols of an object among `names`.
fn functions_among(bytes: &[u8], names: &[&str]) -> Vec<String> {
    let file = object::File::parse(bytes).unwrap();
    let mut functions: Vec<String> = file
        .symbols()
        .filter(|symbol| symbol.kind() == object::SymbolKind::Text)
        .filter_map(|symbol| Some(symbol.name().ok()?.to_string()))
        .filter(|name| names.contains(&name.as_str()))
        .collect();
    functions.sort();
    functions
}

/// A function that no export, start function, element segment or `ref.func` reaches
/// through direct calls has no code and no symbol; every function such a root reaches
/// does, and with `drop_unused_functions` off every function does.
#[test]
fn object_lacks_the_functions_nothing_can_run() {
    let wat = r#"(module
          (import "env" "f" (func $import (param i32)))
          (table $t 2 funcref)
          (table $init 1 funcref (ref.func $in_table_init))
          (elem (table $t) (i32.const 0) func $in_table)
          (elem $passive func $in_passive)
          (global funcref (ref.func $in_global))
          (func $start (call $from_start))
          (func $from_start)
          (func $exported (export "e") (param i32)
            (call $import (local.get 0))
            (drop (ref.func $in_code))
            (call_indirect $t (i32.const 0))
            (return_call $tail_callee))
          (func $tail_callee (call $from_tail))
          (func $from_tail)
          (func $in_table (call $from_table))
          (func $from_table)
          (func $in_passive)
          (func $in_global)
          (func $in_table_init)
          (func $in_code)
          (func $unused (call $unused_callee) (call $exported (i32.const 1)))
          (func $unused_callee (call $unused))
          (func $unused_tail (return_call $unused))
          (elem declare func $in_code)
          (start $start))"#;
    let kept = [
        "start",
        "from_start",
        "exported",
        "tail_callee",
        "from_tail",
        "in_table",
        "from_table",
        "in_passive",
        "in_global",
        "in_table_init",
        "in_code",
    ];
    let unused = ["unused", "unused_callee", "unused_tail"];
    let all: Vec<&str> = kept.iter().chain(&unused).copied().collect();
    let sorted = |names: &[&str]| {
        let mut names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        names.sort();
        names
    };
    let wasm = wat::parse_str(wat).unwrap();
    let bytes = compile(&wasm, &CompileOptions::default()).unwrap();
    assert_eq!(functions_among(&bytes, &all), sorted(&kept));
    let options = CompileOptions {
        drop_unused_functions: false,
        ..CompileOptions::default()
    };
    let bytes = compile(&wasm, &options).unwrap();
    assert_eq!(functions_among(&bytes, &all), sorted(&all));
}

/// A memory layout whose guard does not fit the address space is refused: rounding and
/// adding it must never wrap or saturate into "no bounds check needed".
#[test]
fn memory_layouts_that_do_not_fit_are_refused() {
    let wasm = wat::parse_str(FACTORIAL).unwrap();
    for guard_size in [u64::MAX - 4095, u64::MAX, 1 << 63] {
        let mut options = CompileOptions::default();
        options.memory.guard_size = guard_size;
        match compile(&wasm, &options) {
            Err(CompileError::InvalidOption(message)) => {
                assert!(message.contains("exceeds"), "{message}")
            }
            other => panic!("guard {guard_size}: {:?}", other.map(|bytes| bytes.len())),
        }
    }
}

/// A module whose only memory instructions on a 64-bit memory are `memory.fill` and
/// `memory.grow` compiles on both targets, in both layouts. Such a module once reached
/// Cranelift's aarch64 lowering with an i64 zero-extended to i64 (translated as a 32-bit
/// memory), and its assertion took the process down; `tests/wast/memory64_bulk.wast` runs
/// the same instructions and checks their results (on aarch64 through the `.ci/run` qemu
/// step).
#[test]
fn memory64_fill_and_grow_compile_on_both_targets() {
    let wat = r#"(module
      (memory i64 1)
      (func (export "f") (param i64 i64)
        (memory.fill (local.get 0) (i32.const 0) (local.get 1))
        (drop (memory.grow (i64.const 1)))))"#;
    let bytes = wat::parse_str(wat).unwrap();
    for target in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        for bounds_checks in [false, true] {
            let options = CompileOptions {
                target: target.parse().unwrap(),
                memory: MemorySettings {
                    bounds_checks,
                    ..MemorySettings::DEFAULT
                },
                ..CompileOptions::default()
            };
            if let Err(error) = compile(&bytes, &options) {
                panic!("{target}, bounds checks {bounds_checks}: {error}");
            }
        }
    }
}

/// The bytes of an object's `kiln_metadata` symbol.
fn metadata_bytes(bytes: &[u8]) -> Vec<u8> {
    let file = object::File::parse(bytes).unwrap();
    let symbol = file
        .symbols()
        .find(|s| s.name() == Ok("kiln_metadata"))
        .expect("a metadata symbol");
    let section = file
        .section_by_index(symbol.section_index().unwrap())
        .unwrap();
    let data = object::ObjectSection::data(&section).unwrap();
    let start =
        usize::try_from(symbol.address() - object::ObjectSection::address(&section)).unwrap();
    data[start..start + symbol.size() as usize].to_vec()
}

#[test]
fn metadata_names_the_defined_functions_and_not_the_imported_ones() {
    let bytes = compile_wat(
        r#"(module
             (import "host" "log" (func $__imported_host_log (param i32)))
             (func $run (export "run") (call $__imported_host_log (i32.const 1))))"#,
    );
    let metadata_bytes = metadata_bytes(&bytes);
    let metadata = kiln_abi::metadata::ModuleMetadata::decode(&metadata_bytes).unwrap();
    let names = metadata
        .function_names
        .as_plain()
        .expect("few names stay plain");
    let names = kiln_abi::function_names::FunctionNames::new(names);
    // Backtraces name only the module's own code; an import's frames are the host's.
    assert!(names.get(0).is_none());
    assert_eq!(
        names.get(1).map(|name| name.to_string()),
        Some("run".to_string())
    );
}

#[test]
fn metadata_compresses_large_active_data_and_names_only() {
    // 16 KiB of repetitive active data (below the memory image's 64 KiB, so it stays in
    // the metadata), the same as a passive segment, a small active one, and 300 functions
    // whose names share their paths.
    let pattern = "kiln data ".repeat(1640);
    let functions: String = (0..300)
        .map(|index| format!("(func $core::fmt::builders::DebugStruct::field{index})\n"))
        .collect();
    let wat = format!(
        r#"(module
             (memory 1)
             (data (i32.const 16) "{pattern}")
             (data "{pattern}")
             (data (i32.const 0) "small")
             {functions})"#
    );
    let object = compile_wat(&wat);
    assert_eq!(
        compile_wat(&wat),
        object,
        "compression must be deterministic"
    );
    let metadata_bytes = metadata_bytes(&object);
    let metadata = kiln_abi::metadata::ModuleMetadata::decode(&metadata_bytes).unwrap();
    let segments: Vec<(bool, Vec<u8>)> = metadata
        .data
        .iter()
        .map(|segment| {
            (
                segment.bytes.as_plain().is_some(),
                segment.bytes.to_vec().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        segments,
        [
            (false, pattern.as_bytes().to_vec()),
            (true, pattern.as_bytes().to_vec()),
            (true, b"small".to_vec()),
        ]
    );
    let packed = metadata.data[0].bytes;
    assert!(packed.bytes.len() + kiln_abi::packed::MIN_SAVING <= packed.len());
    assert!(
        metadata.function_names.as_plain().is_none(),
        "names compressed"
    );
    let names = metadata.function_names.to_vec().unwrap();
    let names = kiln_abi::function_names::FunctionNames::new(&names);
    assert_eq!(
        names.get(299).map(|name| name.to_string()),
        Some("core::fmt::builders::DebugStruct::field299".to_string())
    );
}

/// The bytes of the data symbol `name` in `file`.
fn symbol_bytes<'a>(file: &object::File<'a>, name: &str) -> &'a [u8] {
    use object::ObjectSection;
    let symbol = file.symbols().find(|s| s.name() == Ok(name)).unwrap();
    let section = file
        .section_by_index(symbol.section_index().unwrap())
        .unwrap();
    let start = (symbol.address() - section.address()) as usize;
    &section.data().unwrap()[start..start + symbol.size() as usize]
}

/// Code tables that compress well enough are stored compressed, with their unpacked
/// length in front, and unpack into every code entry's trap and call-site tables; small
/// ones are stored as they are.
#[test]
fn code_tables_are_stored_compressed_when_that_saves_enough() {
    use kiln_abi::packed::Packed;
    use kiln_abi::trap::CodeTables;
    // 200 functions of divisions (trap sites) and a call (a call site) each.
    let body = "(drop (i32.div_s (local.get 0) (local.get 1)))".repeat(20);
    let functions: String = (0..200)
        .map(|i| {
            format!(
                r#"(func $f{i} (export "f{i}") (param i32 i32) (result i32) {body}
                     (call $f{next} (local.get 0) (local.get 1)))"#,
                next = (i + 1) % 200
            )
        })
        .collect();
    for (wat, compressed) in [
        (format!("(module {functions})"), true),
        (FACTORIAL.to_string(), false),
    ] {
        let bytes = compile_wat(&wat);
        let file = object::File::parse(&*bytes).unwrap();
        let stored = symbol_bytes(&file, "kiln_code_tables");
        let packed = Packed::read_standalone(stored).unwrap();
        assert_eq!(packed.as_plain().is_none(), compressed, "{packed:?}");
        let mut tables = &packed.to_vec().unwrap()[..];
        let mut traps = 0;
        let mut calls = 0;
        while !tables.is_empty() {
            let entry = CodeTables::decode(&mut tables).unwrap();
            traps += entry.traps.iter().count();
            calls += entry.calls.iter().count();
        }
        if compressed {
            assert!(traps >= 200, "{traps} trap sites");
            assert!(calls >= 200, "{calls} call sites");
        }
    }
}

/// Functions with the same type and body share one copy of code (`fold.rs`): the later
/// one's symbol has the earlier one's address and size, and its code entry repeats the
/// earlier one's marked shared; `fold_identical_functions: false` compiles each apart.
#[test]
fn identical_functions_share_one_copy_of_code() {
    use kiln_abi::descriptor::{CodeEntry, CODE_ENTRY_SIZE, SHARED_CODE};
    let wat = r#"(module
        (func $a (export "a") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
        (func $c (export "c") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 5)))
        (func $b (export "b") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))"#;
    for fold in [true, false] {
        let options = CompileOptions {
            fold_identical_functions: fold,
            ..CompileOptions::default()
        };
        let bytes = compile(&wat::parse_str(wat).unwrap(), &options).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let place = |name: &str| {
            let symbol = file.symbols().find(|s| s.name() == Ok(name)).unwrap();
            (symbol.address(), symbol.size())
        };
        assert_eq!(place("a") == place("b"), fold, "fold {fold}");
        assert_ne!(place("a"), place("c"));
        let entries: Vec<CodeEntry> = symbol_bytes(&file, "kiln_functions")
            .chunks(CODE_ENTRY_SIZE)
            .map(|bytes| CodeEntry {
                code_offset: u32::from_le_bytes(bytes[..4].try_into().unwrap()),
                code_len: u32::from_le_bytes(bytes[4..8].try_into().unwrap()),
            })
            .collect();
        assert_eq!(entries[2].shares_code(), fold);
        assert!(!entries[0].shares_code() && !entries[1].shares_code());
        assert_eq!(
            (entries[0].code_offset, entries[0].code_len)
                == (entries[2].code_offset, entries[2].length()),
            fold
        );
        if fold {
            assert_eq!(entries[2].code_len, entries[0].code_len | SHARED_CODE);
        }
    }
}

#[test]
fn only_a_defined_32_bit_memory_on_x86_64_gets_a_fixed_address() {
    let fixed = |wat: &str, configure: &dyn Fn(&mut CompileOptions)| {
        let mut options = CompileOptions {
            fixed_memory_address: true,
            ..CompileOptions::default()
        };
        configure(&mut options);
        let object = compile(&wat::parse_str(wat).unwrap(), &options).unwrap();
        let metadata_bytes = metadata_bytes(&object);
        kiln_abi::metadata::ModuleMetadata::decode(&metadata_bytes)
            .unwrap()
            .fixed_memory_address
    };
    let x86_64 = |options: &mut CompileOptions| {
        options.target = "x86_64-unknown-linux-gnu".parse().unwrap();
    };
    let defined = "(module (memory 1) (memory 1))";
    let address = Some(kiln_abi::metadata::FIXED_MEMORY_ADDRESS);
    assert_eq!(fixed(defined, &x86_64), address);
    assert_eq!(
        fixed(defined, &|options| {
            x86_64(options);
            options.fixed_memory_address = false;
        }),
        None
    );
    // Where the code would gain nothing, or the memory may move or lie elsewhere.
    assert_eq!(
        fixed(defined, &|options| {
            options.target = "aarch64-unknown-linux-gnu".parse().unwrap();
        }),
        None
    );
    assert_eq!(
        fixed(defined, &|options| {
            x86_64(options);
            options.memory = MemorySettings {
                reservation: 0,
                guard_size: 0,
                bounds_checks: true,
            };
        }),
        None
    );
    for other in [
        "(module (memory i64 1))",
        r#"(module (import "env" "memory" (memory 1)) (memory 1))"#,
        "(module)",
    ] {
        assert_eq!(fixed(other, &x86_64), None, "{other}");
    }
}
