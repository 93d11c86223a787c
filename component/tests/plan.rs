//! The component plan of kiln's hand-written WASI-like component
//! (`tests/components/wasi-like.wat`): imports and their flat signatures, the start-up
//! steps, resources, the fused adapter module and the export; and errors for invalid and
//! unsupported components.

use kiln_abi::component::*;
use kiln_abi::metadata::{FuncType as CoreFuncType, ValType::I32};

fn wasi_like_wasm() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/components/wasi-like.wat"
    );
    wat::parse_file(path).expect("the test component parses")
}

fn wasi_like() -> kiln_component::Translation {
    let wasm = wasi_like_wasm();
    assert!(kiln_component::is_component(&wasm));
    kiln_component::translate(&wasm).expect("the test component translates")
}

fn signature(params: usize, results: usize) -> CoreFuncType {
    CoreFuncType {
        params: vec![I32; params],
        results: vec![I32; results],
    }
}

#[test]
fn host_imports_have_full_names_and_canonical_flat_signatures() {
    let plan = wasi_like().plan;
    let names: Vec<String> = plan.imports.iter().map(|i| i.name.to_string()).collect();
    assert_eq!(
        names,
        [
            "wasi:cli/stdout@0.2.3#get-stdout",
            "wasi:io/streams@0.2.3#[method]output-stream.blocking-write-and-flush",
        ]
    );
    let write = plan
        .import("wasi:io/streams@0.2.3#[method]output-stream.blocking-write-and-flush")
        .unwrap();
    assert_eq!(write.name.interface, "wasi:io/streams");
    assert_eq!(write.name.version.as_deref(), Some("0.2.3"));
    // (borrow<output-stream>, list<u8>) -> result<_, stream-error>: the handle, the list's
    // pointer and length, and a return pointer (the result flattens to three values).
    assert_eq!(
        plan.types.lowered_signature(write.func_type),
        signature(4, 0)
    );
    let func = &plan.types.funcs[write.func_type as usize];
    assert_eq!(func.params[0].0, "self");
    let ValType::Defined(borrow) = func.params[0].1 else {
        panic!("self is not a handle: {:?}", func.params[0].1)
    };
    let DefinedType::Borrow(table) = plan.types.defined[borrow as usize] else {
        panic!("self is not a borrow")
    };
    let resource = plan.resource_tables[table as usize].resource;
    assert_eq!(
        plan.resources[resource as usize].name,
        "wasi:io/streams@0.2.3#output-stream"
    );
    assert!(plan.resources[resource as usize].imported);
    let get_stdout = plan.import("wasi:cli/stdout@0.2.3#get-stdout").unwrap();
    assert_eq!(
        plan.types.lowered_signature(get_stdout.func_type),
        signature(0, 1)
    );
}

#[test]
fn lowered_imports_carry_their_options() {
    let plan = wasi_like().plan;
    let lowerings: Vec<_> = plan
        .trampolines
        .iter()
        .filter_map(|t| match t.kind {
            TrampolineKind::LowerImport { import, options } => Some((import, options, t)),
            _ => None,
        })
        .collect();
    assert_eq!(lowerings.len(), 2);
    for (import, options, trampoline) in lowerings {
        let import = &plan.imports[import as usize];
        assert_eq!(
            trampoline.signature,
            plan.types.lowered_signature(import.func_type)
        );
        let options = plan.options[options as usize];
        assert_eq!(options.string_encoding, StringEncoding::Utf8);
        if import.name.function.starts_with("[method]") {
            // The write passes a list: the memory and realloc of the `libc` instance.
            assert_eq!((options.memory, options.realloc), (Some(0), Some(0)));
        } else {
            assert_eq!((options.memory, options.realloc), (None, None));
        }
    }
}

#[test]
fn steps_instantiate_in_dependency_order() {
    let translation = wasi_like();
    let plan = &translation.plan;
    assert_eq!(translation.modules.len(), plan.modules.len());
    // Four modules of the component and one fused adapter module, each with a prefix of
    // its own.
    let origins: Vec<_> = plan.modules.iter().map(|m| m.origin).collect();
    assert_eq!(origins.len(), 5);
    assert_eq!(origins[4], ModuleOrigin::Adapter);
    for (module, bytes) in plan.modules.iter().zip(&translation.modules) {
        assert!(bytes.starts_with(b"\0asm\x01\0\0\0"), "not a core module");
        if let ModuleOrigin::Component { offset } = module.origin {
            let wasm = wasi_like_wasm();
            assert_eq!(&wasm[offset as usize..][..bytes.len()], &bytes[..]);
        }
    }
    let prefixes: std::collections::BTreeSet<_> =
        plan.modules.iter().map(|m| &m.symbol_prefix).collect();
    assert_eq!(prefixes.len(), plan.modules.len());

    // Every export an argument names comes from an instance created by an earlier step.
    let mut created = 0;
    for step in &plan.steps {
        let mut check = |def: &CoreDef| match def {
            CoreDef::Export(export) => assert!(export.instance < created, "{step:?}"),
            CoreDef::Trampoline(index) => assert!((*index as usize) < plan.trampolines.len()),
            CoreDef::InstanceFlags(index) => assert!(*index < plan.n_component_instances),
        };
        match step {
            Step::Instantiate { args, .. } => {
                args.iter().for_each(&mut check);
                created += 1;
            }
            Step::ExtractMemory { export, .. } => assert!(export.instance < created),
            Step::ExtractRealloc { def, .. } | Step::ExtractPostReturn { def, .. } => check(def),
            Step::DefineResource { destructor, .. } => destructor.iter().for_each(check),
        }
    }
    assert_eq!(created, plan.n_instances);
    assert_eq!(plan.n_component_instances, 2);
    assert_eq!((plan.n_memories, plan.n_reallocs), (1, 1));

    // The adapter module (the lowering of the nested component's `count`) imports the
    // flags of both component instances and the lifted function.
    let adapter = plan
        .steps
        .iter()
        .find_map(|step| match step {
            Step::Instantiate {
                module: 4, args, ..
            } => Some(args),
            _ => None,
        })
        .unwrap();
    assert!(adapter.contains(&CoreDef::InstanceFlags(0)));
    assert!(adapter.contains(&CoreDef::InstanceFlags(1)));
    assert!(adapter
        .iter()
        .any(|def| matches!(def, CoreDef::Export(CoreExport { name, .. }) if name == "count")));
}

#[test]
fn resources_defined_by_the_component_have_tables_and_a_destructor() {
    let plan = wasi_like().plan;
    let defined: Vec<_> = plan
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.imported)
        .collect();
    assert_eq!(defined.len(), 1);
    let (index, counter) = defined[0];
    // Defined in the nested component, the second component instance.
    assert_eq!(counter.component_instance, Some(1));
    assert!(plan.steps.iter().any(|step| matches!(
        step,
        Step::DefineResource { resource, destructor: Some(CoreDef::Export(CoreExport { name, .. })) }
            if *resource as usize == index && name == "dtor"
    )));
    let table = |kind: fn(u32) -> TrampolineKind| {
        plan.trampolines
            .iter()
            .find(|t| {
                (0..plan.resource_tables.len() as u32).any(|table| {
                    t.kind == kind(table)
                        && plan.resource_tables[table as usize].resource as usize == index
                })
            })
            .map(|t| t.signature.clone())
    };
    assert_eq!(
        table(|table| TrampolineKind::ResourceNew { table }),
        Some(signature(1, 1))
    );
    assert_eq!(
        table(|table| TrampolineKind::ResourceRep { table }),
        Some(signature(1, 1))
    );
    assert_eq!(
        table(|table| TrampolineKind::ResourceDrop { table }),
        Some(signature(1, 0))
    );
}

#[test]
fn the_run_export_is_lifted_from_the_main_instance() {
    let plan = wasi_like().plan;
    assert_eq!(plan.exports.len(), 1);
    let run = &plan.exports[0];
    assert_eq!(run.name.to_string(), "wasi:cli/run@0.2.3#run");
    assert_eq!(plan.types.lifted_signature(run.func_type), signature(0, 1));
    let CoreDef::Export(export) = &run.func else {
        panic!("run is not a core export")
    };
    assert_eq!(export.name, "run");
}

#[test]
fn plans_survive_encoding() {
    let plan = wasi_like().plan;
    assert_eq!(ComponentPlan::decode(&plan.encode()).unwrap(), plan);
}

fn translate_error(wat: &str) -> String {
    let wasm = wat::parse_str(wat).expect("the test component parses");
    kiln_component::translate(&wasm)
        .expect_err("the component is refused")
        .to_string()
}

#[test]
fn invalid_components_are_refused_with_the_offset() {
    let mut wasm = wasi_like_wasm();
    // Cut the component inside its first section.
    wasm.truncate(20);
    let error = kiln_component::translate(&wasm).unwrap_err().to_string();
    assert!(
        error.starts_with("invalid component at offset 0x"),
        "{error}"
    );
    // A lift whose core function has the wrong type.
    let error = translate_error(
        r#"(component
            (core module $m (func (export "f") (param i64)))
            (core instance $i (instantiate $m))
            (func (export "f") (param "x" u32) (canon lift (core func $i "f"))))"#,
    );
    assert!(
        error.starts_with("invalid component at offset 0x"),
        "{error}"
    );
    assert!(error.contains("do not match"), "{error}");
}

#[test]
fn other_string_encodings_are_refused_naming_the_function() {
    let error = translate_error(
        r#"(component
            (import "wasi:cli/environment@0.2.3" (instance $env
                (export "get-arguments" (func (result (list string))))))
            (core module $libc
                (memory (export "memory") 1)
                (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))
            (core instance $libc (instantiate $libc))
            (core func $get-arguments (canon lower (func $env "get-arguments")
                string-encoding=utf16
                (memory (core memory $libc "memory"))
                (realloc (core func $libc "realloc"))))
            (core module $main (import "env" "get-arguments" (func (param i32))))
            (core instance (instantiate $main
                (with "env" (instance (export "get-arguments" (func $get-arguments)))))))"#,
    );
    assert_eq!(
        error,
        "unsupported: wasi:cli/environment@0.2.3#get-arguments uses the string encoding \
         Utf16; kiln implements UTF-8 only"
    );
}

#[test]
fn the_world_prints_as_wit() {
    let world = kiln_component::world(&wasi_like_wasm()).unwrap();
    let expected = "\
import wasi:io/streams@0.2.3: resource output-stream
import wasi:io/streams@0.2.3: resource error
import wasi:io/streams@0.2.3: type stream-error = variant { last-operation-failed(own<error>), closed }
import wasi:io/streams@0.2.3: [method]output-stream.blocking-write-and-flush: func(self: borrow<output-stream>, contents: list<u8>) -> result<_, stream-error>
import wasi:cli/stdout@0.2.3: use wasi:io/streams@0.2.3.{output-stream}
import wasi:cli/stdout@0.2.3: get-stdout: func() -> own<output-stream>
export wasi:cli/run@0.2.3: run: func() -> result
";
    assert_eq!(world, expected);
}

#[test]
fn mutated_components_never_crash_the_translator() {
    let seed = wasi_like_wasm();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        // xorshift64*: a fixed sequence, so a failure reproduces.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..500 {
        let mut bytes = seed.clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        match kiln_component::translate(&bytes) {
            Ok(_) => {
                valid += 1;
                // The world of a valid component decodes or is an error, never a crash.
                let _ = kiln_component::world(&bytes);
            }
            Err(error) => {
                invalid += 1;
                assert!(
                    !error.to_string().contains("internal error"),
                    "the translator crashed: {error}"
                );
            }
        }
    }
    assert!(valid > 0 && invalid > 0, "{valid} valid, {invalid} invalid");
}

/// An executable finds one core module's memory at the fixed address: the largest module
/// instantiated exactly once that defines its first memory.
#[test]
fn the_fixed_memory_goes_to_the_largest_module_instantiated_once_that_defines_one() {
    // In the test component, only `$libc` defines a memory, the one the canonical options
    // extract; the other modules import it or have none.
    let translation = wasi_like();
    let plan = &translation.plan;
    let instances: Vec<u32> = plan
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Instantiate { module, .. } => Some(*module),
            _ => None,
        })
        .collect();
    let extracted = plan
        .steps
        .iter()
        .find_map(|step| match step {
            Step::ExtractMemory { export, .. } => Some(instances[export.instance as usize]),
            _ => None,
        })
        .expect("the component's memory is extracted");
    assert_eq!(
        kiln_component::fixed_memory_module(plan, &translation.modules),
        Some(extracted as usize)
    );

    let module = |wat: &str| wat::parse_str(wat).unwrap();
    let small = module("(module (memory 1))");
    let large = module("(module (memory 1) (func) (func) (func) (func) (func) (func))");
    let larger_twice =
        module("(module (memory 1) (func) (func) (func) (func) (func) (func) (func) (func))");
    let importing = module(
        r#"(module (import "a" "m" (memory 1)) (memory 1) (func) (func) (func) (func) (func)
           (func) (func) (func) (func) (func) (func) (func))"#,
    );
    let none = module("(module (func) (func) (func) (func) (func) (func) (func) (func) (func))");
    let modules = vec![small, large, larger_twice, importing, none];
    let mut plan = ComponentPlan::default();
    let instantiate = |module: u32| Step::Instantiate {
        module,
        args: Vec::new(),
        component_instance: None,
    };
    for (index, _) in modules.iter().enumerate() {
        plan.modules.push(CoreModule {
            origin: ModuleOrigin::Adapter,
            symbol_prefix: format!("kiln_m{index}_"),
        });
    }
    plan.steps = vec![
        instantiate(0),
        instantiate(1),
        instantiate(2),
        instantiate(2),
        instantiate(3),
        instantiate(4),
    ];
    assert_eq!(
        kiln_component::fixed_memory_module(&plan, &modules),
        Some(1)
    );
    // Instantiated twice: no module of the two defining a memory is once.
    plan.steps = vec![
        instantiate(1),
        instantiate(1),
        instantiate(2),
        instantiate(2),
    ];
    assert_eq!(kiln_component::fixed_memory_module(&plan, &modules), None);
    // Never instantiated: none either.
    plan.steps.clear();
    assert_eq!(kiln_component::fixed_memory_module(&plan, &modules), None);
}
