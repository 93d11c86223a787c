//! End to end: small `.wat` modules compiled by kiln-compiler, loaded with the loader and
//! run through the public API (linking, host functions, traps with backtraces, stack
//! overflow, memories, tables, globals).

use kiln_runtime::{
    load_object, CallError, Extern, Func, FuncType, Global, GlobalType, Instance, InstantiateError,
    Linker, Memory, MemoryType, Module, Store, Table, TableType, Tag, TrapCode, Val, ValType,
};

fn module(wat: &str) -> Module {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let object =
        kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default()).expect("compiles");
    load_object(&object, "").expect("loads")
}

fn instantiate(store: &mut Store, wat: &str) -> Instance {
    Linker::new()
        .instantiate(store, &module(wat))
        .expect("instantiates")
}

fn func(store: &Store, instance: Instance, name: &str) -> Func {
    match instance.get_export(store, name) {
        Some(Extern::Func(func)) => func,
        other => panic!("export {name}: {other:?}"),
    }
}

fn call(
    store: &mut Store,
    instance: Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, CallError> {
    func(store, instance, name).call(store, args)
}

fn trap_code(result: Result<Vec<Val>, CallError>) -> TrapCode {
    match result {
        Err(CallError::Trap(trap)) => trap.code,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn arithmetic_and_division_traps() {
    let mut store = Store::new();
    let instance = instantiate(
        &mut store,
        r#"(module
            (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
            (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
            (func (export "pair") (param i64) (result i64 f64)
                (local.get 0) (f64.const 1.5)))"#,
    );
    assert_eq!(
        call(&mut store, instance, "add", &[Val::I32(2), Val::I32(40)]).unwrap(),
        vec![Val::I32(42)]
    );
    assert_eq!(
        call(&mut store, instance, "pair", &[Val::I64(-7)]).unwrap(),
        vec![Val::I64(-7), Val::F64(1.5f64.to_bits())]
    );
    for _ in 0..3 {
        let result = call(&mut store, instance, "div", &[Val::I32(1), Val::I32(0)]);
        assert_eq!(trap_code(result), TrapCode::IntegerDivisionByZero);
    }
    let result = call(
        &mut store,
        instance,
        "div",
        &[Val::I32(i32::MIN), Val::I32(-1)],
    );
    assert_eq!(trap_code(result), TrapCode::IntegerOverflow);
    assert_eq!(
        call(&mut store, instance, "div", &[Val::I32(9), Val::I32(3)]).unwrap(),
        vec![Val::I32(3)]
    );
    let bad = call(&mut store, instance, "add", &[Val::I32(1)]);
    assert!(matches!(bad, Err(CallError::BadArguments(_))), "{bad:?}");
}

#[test]
fn traps_carry_a_backtrace() {
    let mut store = Store::new();
    let instance = instantiate(
        &mut store,
        r#"(module $m
            (func $inner (unreachable))
            (func $middle (call $inner))
            (func (export "outer") (call $middle)))"#,
    );
    let Err(CallError::Trap(trap)) = call(&mut store, instance, "outer", &[]) else {
        panic!()
    };
    assert_eq!(trap.code, TrapCode::Unreachable);
    let frames: Vec<(u32, Option<&str>)> = trap
        .backtrace
        .iter()
        .map(|frame| (frame.func_index, frame.func_name.as_deref()))
        .collect();
    assert_eq!(
        frames,
        vec![(0, Some("inner")), (1, Some("middle")), (2, None)]
    );
    assert_eq!(trap.backtrace[0].module.as_deref(), Some("m"));
    let report = trap.to_string();
    assert!(
        report.starts_with(
            "wasm trap: unreachable\nwasm backtrace:\n    0: inner (m, function 0, offset 0x"
        ),
        "{report}"
    );
}

/// The module offset of every operator of defined function `defined_index` of `wasm` for
/// which `wanted` holds, in order.
fn operator_offsets(
    wasm: &[u8],
    defined_index: usize,
    wanted: impl Fn(&wasmparser::Operator<'_>) -> bool,
) -> Vec<u32> {
    let body = wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(|payload| match payload.expect("valid wasm") {
            wasmparser::Payload::CodeSectionEntry(body) => Some(body),
            _ => None,
        })
        .nth(defined_index)
        .expect("the function exists");
    let mut reader = body.get_operators_reader().expect("valid body");
    let mut offsets = Vec::new();
    while !reader.eof() {
        let (operator, offset) = reader.read_with_offset().expect("valid operator");
        if wanted(&operator) {
            offsets.push(offset as u32);
        }
    }
    offsets
}

/// A trap two calls deep in `wat`: its backtrace and the offsets it must show, those of
/// the `i32.div_u` in function 0 and of the `call`s in functions 1 and 2.
fn trap_two_calls_deep(wat: &str) -> (kiln_runtime::Trap, [u32; 3]) {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let object =
        kiln_compiler::compile(&wasm, &kiln_compiler::CompileOptions::default()).expect("compiles");
    let module = load_object(&object, "").expect("loads");
    let mut store = Store::new();
    let instance = Linker::new()
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let Err(CallError::Trap(trap)) = call(&mut store, instance, "run", &[Val::I32(0)]) else {
        panic!("expected a trap")
    };
    let division = |op: &wasmparser::Operator<'_>| matches!(op, wasmparser::Operator::I32DivU);
    let call = |op: &wasmparser::Operator<'_>| matches!(op, wasmparser::Operator::Call { .. });
    let only = |offsets: Vec<u32>| match offsets[..] {
        [offset] => offset,
        ref other => panic!("expected one such operator, found {other:?}"),
    };
    let expected = [
        only(operator_offsets(&wasm, 0, division)),
        only(operator_offsets(&wasm, 1, call)),
        only(operator_offsets(&wasm, 2, call)),
    ];
    (trap, expected)
}

#[test]
fn every_frame_shows_the_offset_of_its_trap_or_call() {
    let (trap, [division, inner_call, outer_call]) = trap_two_calls_deep(
        r#"(module $calc
            (func $divide (param i32 i32) (result i32)
                (i32.div_u (local.get 0) (local.get 1)))
            (func $average (param i32) (result i32)
                (i32.add (call $divide (i32.const 100) (local.get 0)) (i32.const 1)))
            (func $run (export "run") (param i32) (result i32)
                (i32.mul (call $average (local.get 0)) (i32.const 2))))"#,
    );
    assert_eq!(trap.code, TrapCode::IntegerDivisionByZero);
    let frames: Vec<(u32, Option<&str>, Option<u32>)> = trap
        .backtrace
        .iter()
        .map(|frame| {
            (
                frame.func_index,
                frame.func_name.as_deref(),
                frame.wasm_offset,
            )
        })
        .collect();
    assert_eq!(
        frames,
        vec![
            (0, Some("divide"), Some(division)),
            (1, Some("average"), Some(inner_call)),
            (2, Some("run"), Some(outer_call)),
        ]
    );
    assert_eq!(
        trap.to_string(),
        format!(
            "wasm trap: integer divide by zero\nwasm backtrace:\n    \
             0: divide (calc, function 0, offset {division:#x})\n    \
             1: average (calc, function 1, offset {inner_call:#x})\n    \
             2: run (calc, function 2, offset {outer_call:#x})"
        )
    );
}

#[test]
fn a_stripped_module_shows_function_indices_and_offsets() {
    // No `$` names: `wat` writes no name section.
    let (trap, [division, inner_call, outer_call]) = trap_two_calls_deep(
        r#"(module
            (func (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
            (func (param i32) (result i32)
                (i32.add (call 0 (i32.const 100) (local.get 0)) (i32.const 1)))
            (func (export "run") (param i32) (result i32)
                (i32.mul (call 1 (local.get 0)) (i32.const 2))))"#,
    );
    assert_eq!(
        trap.to_string(),
        format!(
            "wasm trap: integer divide by zero\nwasm backtrace:\n    \
             0: wasm_function_0 (module, function 0, offset {division:#x})\n    \
             1: wasm_function_1 (module, function 1, offset {inner_call:#x})\n    \
             2: wasm_function_2 (module, function 2, offset {outer_call:#x})"
        )
    );
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    let mut store = Store::new();
    let instance = instantiate(
        &mut store,
        r#"(module
            (func $f (export "f") (param i32) (result i32)
                (i32.add (call $f (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"#,
    );
    for _ in 0..2 {
        let result = call(&mut store, instance, "f", &[Val::I32(0)]);
        assert_eq!(trap_code(result), TrapCode::StackOverflow);
    }
    // The thread is still usable, and so is another one.
    std::thread::spawn(|| {
        let mut store = Store::new();
        store.set_max_wasm_stack(256 * 1024);
        let instance = instantiate(&mut store, r#"(module (func $f (export "f") (call $f)))"#);
        assert_eq!(
            trap_code(call(&mut store, instance, "f", &[])),
            TrapCode::StackOverflow
        );
    })
    .join()
    .unwrap();
}

#[test]
fn memory_grows_and_faults_out_of_bounds() {
    let mut store = Store::new();
    let instance = instantiate(
        &mut store,
        r#"(module
            (memory (export "memory") 1 3)
            (data (i32.const 8) "hello")
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "size") (result i32) (memory.size))
            (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2))))"#,
    );
    assert_eq!(
        call(&mut store, instance, "load", &[Val::I32(8)]).unwrap(),
        vec![Val::I32(b'h'.into())]
    );
    assert_eq!(
        trap_code(call(&mut store, instance, "load", &[Val::I32(65536)])),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap_code(call(
            &mut store,
            instance,
            "store",
            &[Val::I32(65534), Val::I32(1)]
        )),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap_code(call(&mut store, instance, "load", &[Val::I32(-1)])),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        call(&mut store, instance, "grow", &[Val::I32(1)]).unwrap(),
        vec![Val::I32(1)]
    );
    assert_eq!(
        call(&mut store, instance, "size", &[]).unwrap(),
        vec![Val::I32(2)]
    );
    assert_eq!(
        call(&mut store, instance, "load", &[Val::I32(65536)]).unwrap(),
        vec![Val::I32(0)]
    );
    assert_eq!(
        call(&mut store, instance, "grow", &[Val::I32(2)]).unwrap(),
        vec![Val::I32(-1)]
    );
    assert_eq!(
        trap_code(call(
            &mut store,
            instance,
            "fill",
            &[Val::I32(131000), Val::I32(1), Val::I32(1000)]
        )),
        TrapCode::MemoryOutOfBounds
    );
    call(
        &mut store,
        instance,
        "fill",
        &[Val::I32(0), Val::I32(7), Val::I32(4)],
    )
    .unwrap();
    let Some(Extern::Memory(memory)) = instance.get_export(&store, "memory") else {
        panic!()
    };
    assert_eq!(&memory.data(&store)[..5], &[7, 7, 7, 7, 0]);
    assert_eq!(memory.size_pages(&store), 2);
    memory.data_mut(&mut store)[100] = 42;
    assert_eq!(
        call(&mut store, instance, "load", &[Val::I32(100)]).unwrap(),
        vec![Val::I32(42)]
    );
}

/// Whether this host lets a process reserve `bytes` of address space (`mmap` of
/// `PROT_NONE` pages), which a memory past 4 GiB needs.
fn host_can_reserve(bytes: usize) -> Result<(), std::io::Error> {
    // SAFETY: a fresh private anonymous mapping, unmapped at once; no pointer escapes.
    unsafe {
        let address = libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if address == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        libc::munmap(address, bytes);
    }
    Ok(())
}

/// A 64-bit memory grows past 4 GiB and its bytes above 4 GiB are stored and loaded, in
/// the default layout (reserved up to its declared maximum, accesses past the mapping
/// checked in a cold block) and with explicit bounds checks (moved to a larger
/// reservation). Skipped, saying why, only where the host refuses the address space.
#[test]
fn memory64_grows_past_4_gib() {
    const WAT: &str = r#"(module
        (memory (export "memory") i64 1 0x10010)
        (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
        (func (export "size") (result i64) (memory.size))
        (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
        (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
        (func (export "load_high_offset") (param i64) (result i64)
            (i64.load offset=0x1_0000_0000 (local.get 0))))"#;
    // Reservation plus guard of the default layout for this memory's maximum.
    let needed = 0x10010usize * 65536 + (2 << 30);
    if let Err(error) = host_can_reserve(needed) {
        println!("skipped: the host refuses {needed} bytes of address space: {error}");
        return;
    }
    let above_4_gib = 0x1_0000_0008_i64;
    for bounds_checks in [false, true] {
        let options = kiln_compiler::CompileOptions {
            memory: kiln_compiler::MemorySettings {
                bounds_checks,
                ..kiln_compiler::MemorySettings::DEFAULT
            },
            ..kiln_compiler::CompileOptions::default()
        };
        let wasm = wat::parse_str(WAT).expect("valid wat");
        let object = kiln_compiler::compile(&wasm, &options).expect("compiles");
        let module = load_object(&object, "").expect("loads");
        let mut store = Store::new();
        let instance = Linker::new()
            .instantiate(&mut store, &module)
            .expect("instantiates");
        let mut call = |name: &str, args: &[Val]| call(&mut store, instance, name, args);
        assert_eq!(
            trap_code(call("load", &[Val::I64(above_4_gib)])),
            TrapCode::MemoryOutOfBounds,
            "bounds checks {bounds_checks}"
        );
        assert_eq!(
            call("grow", &[Val::I64(0x10000)]).unwrap(),
            vec![Val::I64(1)],
            "bounds checks {bounds_checks}"
        );
        assert_eq!(call("size", &[]).unwrap(), vec![Val::I64(0x10001)]);
        call(
            "store",
            &[Val::I64(above_4_gib), Val::I64(0x1234_5678_9abc)],
        )
        .unwrap();
        call("store", &[Val::I64(8), Val::I64(7)]).unwrap();
        assert_eq!(
            call("load", &[Val::I64(above_4_gib)]).unwrap(),
            vec![Val::I64(0x1234_5678_9abc)]
        );
        assert_eq!(
            call("load_high_offset", &[Val::I64(8)]).unwrap(),
            vec![Val::I64(0x1234_5678_9abc)]
        );
        assert_eq!(call("load", &[Val::I64(8)]).unwrap(), vec![Val::I64(7)]);
        // The last byte of the memory, the first past it, past the mapping, at 2^64 - 1.
        let end = 0x10001_i64 * 65536;
        assert_eq!(
            call("load", &[Val::I64(end - 8)]).unwrap(),
            vec![Val::I64(0)]
        );
        for index in [end - 7, end, 6 << 30, 7 << 30, -8, -1] {
            assert_eq!(
                trap_code(call("load", &[Val::I64(index)])),
                TrapCode::MemoryOutOfBounds,
                "load at {index:#x}, bounds checks {bounds_checks}"
            );
        }
        assert_eq!(
            trap_code(call("load_high_offset", &[Val::I64(-8)])),
            TrapCode::MemoryOutOfBounds
        );
        assert_eq!(call("grow", &[Val::I64(0x10)]).unwrap(), vec![Val::I64(-1)]);
        let Some(Extern::Memory(memory)) = instance.get_export(&store, "memory") else {
            panic!("the memory is exported")
        };
        assert_eq!(memory.data(&store).len(), 0x10001 * 65536);
        assert_eq!(memory.data(&store)[above_4_gib as usize], 0xbc);
    }
}

#[test]
fn host_functions_globals_tables_and_imports() {
    let mut store = Store::new();
    let double = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        },
        |caller, args| {
            let Val::I32(x) = args[0] else { unreachable!() };
            // Called from wasm, the caller's exported memory is visible; from the host, none.
            if let Some(memory) = caller.memory() {
                memory[0] = 99;
            }
            Ok(vec![Val::I32(x * 2)])
        },
    );
    let fail = Func::new_host(
        &mut store,
        FuncType {
            params: vec![],
            results: vec![],
        },
        |_, _| Err(kiln_runtime::HostError::Message("nope".into())),
    );
    let exit = Func::new_host(
        &mut store,
        FuncType {
            params: vec![],
            results: vec![],
        },
        |_, _| Err(kiln_runtime::HostError::Exit(7)),
    );
    let global = Global::new(
        &mut store,
        GlobalType {
            ty: ValType::I32,
            mutable: true,
        },
        Val::I32(5),
    )
    .unwrap();
    let memory = Memory::new(
        &mut store,
        MemoryType {
            min_pages: 1,
            max_pages: None,
            memory64: false,
            shared: false,
        },
    )
    .unwrap();
    let table = Table::new(
        &mut store,
        TableType {
            element: ValType::FUNCREF,
            min: 2,
            max: None,
            table64: false,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    let mut linker = Linker::new();
    linker.define("env", "double", Extern::Func(double));
    linker.define("env", "fail", Extern::Func(fail));
    linker.define("env", "exit", Extern::Func(exit));
    linker.define("env", "g", Extern::Global(global));
    linker.define("env", "memory", Extern::Memory(memory));
    linker.define("env", "table", Extern::Table(table));
    let module = module(
        r#"(module
            (import "env" "double" (func $double (param i32) (result i32)))
            (import "env" "fail" (func $fail))
            (import "env" "exit" (func $exit))
            (import "env" "g" (global $g (mut i32)))
            (import "env" "memory" (memory 1))
            (import "env" "table" (table 2 funcref))
            (export "memory" (memory 0))
            (type $t (func (param i32) (result i32)))
            (elem (i32.const 0) $double $quad)
            (func $quad (param i32) (result i32) (call $double (call $double (local.get 0))))
            (func (export "indirect") (param i32 i32) (result i32)
                (call_indirect (type $t) (local.get 1) (local.get 0)))
            (func (export "bump") (result i32)
                (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g))
            (func (export "fail") (call $fail))
            (func (export "exit") (call $exit)))"#,
    );
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let indirect = func(&store, instance, "indirect");
    assert_eq!(
        indirect
            .call(&mut store, &[Val::I32(0), Val::I32(5)])
            .unwrap(),
        vec![Val::I32(10)]
    );
    assert_eq!(
        indirect
            .call(&mut store, &[Val::I32(1), Val::I32(5)])
            .unwrap(),
        vec![Val::I32(20)]
    );
    assert_eq!(memory.data(&store)[0], 99);
    assert_eq!(
        trap_code(indirect.call(&mut store, &[Val::I32(2), Val::I32(5)])),
        TrapCode::UndefinedElement
    );
    table.grow(&mut store, 1, Val::FuncRef(None)).unwrap();
    assert_eq!(
        trap_code(indirect.call(&mut store, &[Val::I32(2), Val::I32(5)])),
        TrapCode::IndirectCallToNull
    );
    assert_eq!(table.get(&store, 0), Some(Val::FuncRef(Some(double))));
    assert_eq!(
        call(&mut store, instance, "bump", &[]).unwrap(),
        vec![Val::I32(6)]
    );
    assert_eq!(global.get(&store), Val::I32(6));
    assert_eq!(
        call(&mut store, instance, "fail", &[]),
        Err(CallError::Host("nope".into()))
    );
    assert_eq!(
        call(&mut store, instance, "exit", &[]),
        Err(CallError::Exit(7))
    );
    // The host can call the host function and the wasm function in the table.
    assert_eq!(
        double.call(&mut store, &[Val::I32(4)]).unwrap(),
        vec![Val::I32(8)]
    );
    let Some(Val::FuncRef(Some(quad))) = table.get(&store, 1) else {
        panic!()
    };
    assert_eq!(
        quad.call(&mut store, &[Val::I32(1)]).unwrap(),
        vec![Val::I32(4)]
    );
}

#[test]
fn link_errors_and_segment_traps() {
    let mut store = Store::new();
    let importer = module(r#"(module (import "env" "f" (func (param i32))))"#);
    let error = Linker::new()
        .instantiate(&mut store, &importer)
        .unwrap_err();
    assert!(error.to_string().contains("unknown import"), "{error}");
    let wrong = Func::new_host(
        &mut store,
        FuncType {
            params: vec![],
            results: vec![],
        },
        |_, _| Ok(vec![]),
    );
    let error = Instance::new(&mut store, &importer, &[Extern::Func(wrong)]).unwrap_err();
    assert!(
        matches!(&error, InstantiateError::Unlinkable(message) if message.contains("incompatible import type")),
        "{error}"
    );

    let table = Table::new(
        &mut store,
        TableType {
            element: ValType::FUNCREF,
            min: 2,
            max: None,
            table64: false,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    let module = module(
        r#"(module
            (import "env" "table" (table 2 funcref))
            (func $f)
            (elem (i32.const 0) $f)
            (elem (i32.const 1) $f $f))"#,
    );
    let error = Instance::new(&mut store, &module, &[Extern::Table(table)]).unwrap_err();
    assert!(
        matches!(&error, InstantiateError::Trap(trap) if trap.code == TrapCode::TableOutOfBounds),
        "{error:?}"
    );
    assert!(
        matches!(table.get(&store, 0), Some(Val::FuncRef(Some(_)))),
        "earlier segments stay applied"
    );
    assert_eq!(table.get(&store, 1), Some(Val::FuncRef(None)));
}

#[test]
fn start_function_runs_and_its_trap_fails_instantiation() {
    let mut store = Store::new();
    let instance = instantiate(
        &mut store,
        r#"(module (global (export "g") (mut i32) (i32.const 1))
            (func $start (global.set 0 (i32.const 2))) (start $start))"#,
    );
    let Some(Extern::Global(global)) = instance.get_export(&store, "g") else {
        panic!()
    };
    assert_eq!(global.get(&store), Val::I32(2));
    let failing = module(r#"(module (func $start (unreachable)) (start $start))"#);
    let error = Linker::new().instantiate(&mut store, &failing).unwrap_err();
    assert!(
        matches!(&error, InstantiateError::Trap(trap) if trap.code == TrapCode::Unreachable),
        "{error:?}"
    );
}

#[test]
fn wasi_commands_exit_with_their_code() {
    use kiln_runtime::wasi::WasiCtx;
    let hello = module(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "")
            (func (export "_start")
                ;; An empty write (stdout stays clean), then exit with argc + 40.
                (i32.store (i32.const 0) (i32.const 16))
                (i32.store (i32.const 4) (i32.const 0))
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (drop (call $args_sizes_get (i32.const 32) (i32.const 36)))
                (call $proc_exit (i32.add (i32.load (i32.const 32)) (i32.const 40)))
                (unreachable)))"#,
    );
    let args = vec!["prog".to_string(), "a".to_string()];
    assert_eq!(
        kiln_runtime::run_command(&hello, WasiCtx::new().args(args)),
        42
    );
    let returns = module(r#"(module (func (export "_start")))"#);
    assert_eq!(kiln_runtime::run_command(&returns, WasiCtx::new()), 0);
    let traps = module(r#"(module (func (export "_start") (unreachable)))"#);
    assert_eq!(kiln_runtime::run_command(&traps, WasiCtx::new()), 134);
    let unlinkable = module(r#"(module (import "env" "missing" (func)))"#);
    assert_eq!(kiln_runtime::run_command(&unlinkable, WasiCtx::new()), 1);
}

/// WASI functions reach the memory the calling module exports as `memory`, wherever it
/// stands among the exports, take `i64` arguments and return their errno through the
/// raw host-call path; a module whose memory has another name gets an error, not a crash.
#[test]
fn wasi_calls_use_the_memory_exported_as_memory() {
    use kiln_runtime::wasi::WasiCtx;
    let wat = |memory_name: &str| {
        let mut exports = String::new();
        for i in 0..40 {
            exports.push_str(&format!("(func (export \"f{i}\"))\n"));
        }
        format!(
            r#"(module
                (import "wasi_snapshot_preview1" "clock_time_get"
                    (func $clock_time_get (param i32 i64 i32) (result i32)))
                {exports}
                (memory (export "{memory_name}") 1)
                ;; The monotonic clock's time at byte 8 (precision 1 ns), and the errno.
                (func (export "now") (result i32)
                    (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 8)))
                ;; An out-of-bounds result pointer: EFAULT (21).
                (func (export "fault") (result i32)
                    (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 65534)))
                (func (export "read") (result i64) (i64.load (i32.const 8))))"#
        )
    };
    let mut store = Store::new();
    let mut linker = Linker::new();
    kiln_runtime::wasi::add_to_linker(&mut linker, &mut store, WasiCtx::new());
    let instance = linker
        .instantiate(&mut store, &module(&wat("memory")))
        .unwrap();
    assert_eq!(
        call(&mut store, instance, "now", &[]).unwrap(),
        [Val::I32(0)]
    );
    let [Val::I64(time)] = call(&mut store, instance, "read", &[]).unwrap()[..] else {
        panic!("an i64")
    };
    assert!(time > 0, "the clock wrote {time}");
    assert_eq!(
        call(&mut store, instance, "fault", &[]).unwrap(),
        [Val::I32(21)]
    );

    let renamed = linker
        .instantiate(&mut store, &module(&wat("mem")))
        .unwrap();
    match call(&mut store, renamed, "now", &[]) {
        Err(CallError::Host(message)) => {
            assert!(message.contains("does not export `memory`"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

// The forged name below is an x86_64 feature.
#[cfg(target_arch = "x86_64")]
#[test]
fn code_for_cpu_features_this_machine_lacks_is_refused() {
    let wasm = wat::parse_str(
        r#"(module (func (export "f") (param i64 i64) (result i64)
            (i64.mul (local.get 0) (local.get 1))))"#,
    )
    .unwrap();
    let options = kiln_compiler::CompileOptions {
        target_features: vec!["native".to_string()],
        ..Default::default()
    };
    let object = kiln_compiler::compile(&wasm, &options).expect("compiles for this CPU");
    // Code for this machine's own features loads and runs.
    let module = load_object(&object, "").expect("loads on the machine that compiled it");
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    assert_eq!(
        call(&mut store, instance, "f", &[Val::I64(6), Val::I64(7)]).unwrap(),
        vec![Val::I64(42)]
    );

    // The same object, claiming a feature no CPU has (the recorded name `popcnt` renamed in
    // place: same length, so the metadata still decodes), is refused with the name.
    let needle = b"popcnt";
    let at = object
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("the object records the features it uses");
    let mut forged = object.clone();
    forged[at..at + needle.len()].copy_from_slice(b"zzzcnt");
    let error = match load_object(&forged, "") {
        Ok(_) => panic!("code needing an unknown CPU feature loaded"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("CPU features this machine lacks: zzzcnt"),
        "{error}"
    );
}

#[test]
fn an_uncaught_exception_is_a_typed_error_naming_its_tag() {
    let mut store = Store::new();
    // A tag the host makes and the module imports, and one the module defines and exports.
    let host_tag = Tag::new(
        &mut store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![],
        },
        "host_error",
    );
    let mut linker = Linker::new();
    linker.define("host", "error", Extern::Tag(host_tag));
    let instance = linker
        .instantiate(
            &mut store,
            &module(
                r#"(module
                    (import "host" "error" (tag $host (param i32)))
                    (tag $mine (export "mine"))
                    (func $deep (param i32)
                      (if (local.get 0) (then (throw $host (local.get 0))))
                      (throw $mine))
                    (func (export "fail") (param i32)
                      (call $deep (local.get 0)))
                    (func (export "caught") (param i32) (result i32)
                      (block $h (result i32)
                        (try_table (result i32) (catch $host $h)
                          (call $deep (local.get 0))
                          (i32.const 0)))))"#,
            ),
        )
        .expect("instantiates");
    for (argument, tag) in [(0, "mine"), (5, "host_error")] {
        let error = call(&mut store, instance, "fail", &[Val::I32(argument)]).unwrap_err();
        let CallError::Trap(trap) = error else {
            panic!("expected a trap, got {error:?}");
        };
        assert_eq!(trap.code, TrapCode::UncaughtException);
        assert_eq!(trap.exception_tag.as_deref(), Some(tag));
        let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
        assert_eq!(frames, [0, 1], "thrown in $deep (0), called by fail (1)");
        assert!(trap
            .to_string()
            .contains(&format!("uncaught exception: tag {tag}")));
    }
    // The store keeps working, and the module catches the host's tag itself.
    assert_eq!(
        call(&mut store, instance, "caught", &[Val::I32(9)]).unwrap(),
        [Val::I32(9)]
    );
    let Some(Extern::Tag(mine)) = instance.get_export(&store, "mine") else {
        panic!("the tag export");
    };
    assert_eq!(mine.name(&store), "mine");
    assert_eq!(host_tag.name(&store), "host_error");
}

#[test]
fn a_wasm_function_that_may_throw_is_refused_for_an_import_compiled_as_non_throwing() {
    let mut store = Store::new();
    // Under a WASI module name, an import is compiled as a function that never throws: a
    // call to it that a handler covers is a plain call, with no landing pad.
    let importer = module(
        r#"(module
            (tag $e (param i32))
            (import "wasi_snapshot_preview1" "f" (func $f (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $e $h)
                  (call $f (local.get 0))))))"#,
    );
    let exporter = instantiate(
        &mut store,
        r#"(module
            (tag $e (param i32))
            (func (export "throws") (param i32) (result i32) (throw $e (local.get 0)))
            (func (export "never") (param i32) (result i32)
              (i32.add (local.get 0) (i32.const 1)))
            (func (export "caught") (param i32) (result i32)
              (block $h
                (try_table (catch_all $h) (throw $e (local.get 0))))
              (i32.const 9)))"#,
    );
    let throws = func(&store, exporter, "throws");
    let error = Instance::new(&mut store, &importer, &[Extern::Func(throws)]).unwrap_err();
    assert!(
        matches!(&error, InstantiateError::Unlinkable(message) if message.contains(
            "import `wasi_snapshot_preview1::f` was compiled assuming that it never throws an \
             exception, but the function given for it is a wasm function that may throw"
        )),
        "{error}"
    );
    // Functions that cannot throw are accepted: wasm ones (a throw its own catch_all takes
    // included) and host ones, which an exception never crosses.
    let host = Func::new_host(
        &mut store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        },
        |_, args| {
            let Val::I32(x) = args[0] else { unreachable!() };
            Ok(vec![Val::I32(x * 3)])
        },
    );
    for (given, expected) in [
        (func(&store, exporter, "never"), 5),
        (func(&store, exporter, "caught"), 9),
        (host, 12),
    ] {
        let instance = Instance::new(&mut store, &importer, &[Extern::Func(given)])
            .expect("a function that cannot throw links");
        assert_eq!(
            call(&mut store, instance, "run", &[Val::I32(4)]).unwrap(),
            vec![Val::I32(expected)]
        );
    }
    // Under any other module name, the import may throw, and the handler catches it.
    let catcher = module(
        r#"(module
            (tag $e (import "m" "e") (param i32))
            (import "m" "f" (func $f (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
              (block $h (result i32)
                (try_table (result i32) (catch $e $h)
                  (call $f (local.get 0))))))"#,
    );
    let exporter = instantiate(
        &mut store,
        r#"(module
            (tag $e (export "e") (param i32))
            (func (export "throws") (param i32) (result i32)
              (throw $e (i32.mul (local.get 0) (i32.const 10)))))"#,
    );
    let Some(tag) = exporter.get_export(&store, "e") else {
        panic!("the tag export");
    };
    let throws = func(&store, exporter, "throws");
    let instance =
        Instance::new(&mut store, &catcher, &[tag, Extern::Func(throws)]).expect("links");
    assert_eq!(
        call(&mut store, instance, "run", &[Val::I32(4)]).unwrap(),
        vec![Val::I32(40)]
    );
}

/// `wat` compiled with fuel metering and interruption checks as asked.
fn instrumented_module(wat: &str, fuel: bool, interruptible: bool) -> Module {
    let wasm = wat::parse_str(wat).expect("valid wat");
    let options = kiln_compiler::CompileOptions {
        fuel,
        interruptible,
        ..Default::default()
    };
    let object = kiln_compiler::compile(&wasm, &options).expect("compiles");
    load_object(&object, "").expect("loads")
}

/// `count n` runs a loop of n iterations of 7 one-unit operators; `spin` never returns.
const COUNTING: &str = r#"(module
    (func (export "count") (param $n i32) (local $i i32)
      (loop $again
        local.get $i
        i32.const 1
        i32.add
        local.tee $i
        local.get $n
        i32.ne
        br_if $again))
    (func (export "spin") (loop $forever (br $forever))))"#;

#[test]
fn fuel_is_metered_read_back_and_refilled() {
    let module = instrumented_module(COUNTING, true, false);
    let mut store = Store::new();
    assert_eq!(
        store.fuel(),
        None,
        "a store meters fuel once it is given some"
    );
    store.set_fuel(10_000);
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    // The call's own `local.get`/`call` are the host's: 100 iterations cost 700 units.
    call(&mut store, instance, "count", &[Val::I32(100)]).unwrap();
    assert_eq!(store.fuel(), Some(9_300));
    call(&mut store, instance, "count", &[Val::I32(100)]).unwrap();
    assert_eq!(store.fuel(), Some(8_600));
    // Running out leaves none, and the trap says so.
    let trap = match call(&mut store, instance, "count", &[Val::I32(100_000)]) {
        Err(CallError::Trap(trap)) => trap,
        other => panic!("expected a trap, got {other:?}"),
    };
    assert_eq!(trap.code, TrapCode::OutOfFuel);
    assert_eq!(
        trap.to_string().lines().next(),
        Some("wasm trap: all fuel consumed")
    );
    assert_eq!(store.fuel(), Some(0));
    // Refuelled, the guest runs again.
    store.set_fuel(1_000);
    call(&mut store, instance, "count", &[Val::I32(100)]).unwrap();
    assert_eq!(store.fuel(), Some(300));
    assert_eq!(
        trap_code(call(&mut store, instance, "spin", &[])),
        TrapCode::OutOfFuel
    );
}

#[test]
fn stores_with_limits_refuse_code_compiled_without_their_checks() {
    let plain = module(COUNTING);
    let mut metered = Store::new();
    metered.set_fuel(1);
    let error = Linker::new()
        .instantiate(&mut metered, &plain)
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(error.contains("without fuel metering"), "{error}");
    let mut limited = Store::new();
    limited
        .set_time_limit(std::time::Duration::from_secs(3600))
        .unwrap();
    let error = Linker::new()
        .instantiate(&mut limited, &plain)
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(error.contains("without interruption checks"), "{error}");
    // Instrumented code runs in a store without limits as if it had none.
    let module = instrumented_module(COUNTING, true, true);
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    call(&mut store, instance, "count", &[Val::I32(1_000)]).unwrap();
}

#[test]
fn an_interrupt_handle_stops_a_guest_from_another_thread() {
    let module = instrumented_module(COUNTING, false, true);
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let handle = store.interrupt_handle();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        handle.interrupt();
    });
    let trap = match call(&mut store, instance, "spin", &[]) {
        Err(CallError::Trap(trap)) => trap,
        other => panic!("expected a trap, got {other:?}"),
    };
    interrupter.join().unwrap();
    assert_eq!(trap.code, TrapCode::Interrupt);
    assert_eq!(
        trap.to_string().lines().next(),
        Some("wasm trap: interrupted")
    );
    assert_eq!(trap.backtrace.len(), 1, "{trap}");
    // A time limit clears the interruption, then stops the guest once it runs out.
    store
        .set_time_limit(std::time::Duration::from_millis(100))
        .unwrap();
    call(&mut store, instance, "count", &[Val::I32(10)]).unwrap();
    assert_eq!(
        trap_code(call(&mut store, instance, "spin", &[])),
        TrapCode::TimeLimit
    );
}

/// Code compiled for a fixed memory address (`kiln build`'s executables on x86_64) finds
/// its memory there: accesses with computed indices reach it, out-of-bounds ones trap, and
/// a second instance is refused with a message while the first lives, then allowed.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_module_with_a_fixed_memory_address_has_one_instance_at_a_time() {
    let wasm = wat::parse_str(
        r#"(module
             (memory (export "memory") 1)
             (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
             (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
             (func (export "global") (result i32) (i32.load (i32.const 64))))"#,
    )
    .unwrap();
    let options = kiln_compiler::CompileOptions {
        fixed_memory_address: true,
        ..kiln_compiler::CompileOptions::default()
    };
    let object = kiln_compiler::compile(&wasm, &options).expect("compiles");
    let module = load_object(&object, "").expect("loads");
    let address = kiln_abi::metadata::FIXED_MEMORY_ADDRESS as usize;
    let mut first = Store::new();
    let instance = Linker::new().instantiate(&mut first, &module).unwrap();
    let Some(Extern::Memory(memory)) = instance.get_export(&first, "memory") else {
        panic!("a memory export")
    };
    assert_eq!(memory.data(&first).as_ptr() as usize, address);
    call(&mut first, instance, "store", &[Val::I32(64), Val::I32(42)]).unwrap();
    assert_eq!(
        call(&mut first, instance, "global", &[]).unwrap(),
        [Val::I32(42)]
    );
    assert_eq!(
        call(&mut first, instance, "load", &[Val::I32(64)]).unwrap(),
        [Val::I32(42)]
    );
    assert_eq!(
        trap_code(call(&mut first, instance, "load", &[Val::I32(65534)])),
        TrapCode::MemoryOutOfBounds
    );
    let mut second = Store::new();
    let error = Linker::new()
        .instantiate(&mut second, &module)
        .expect_err("the address is taken");
    let message = error.to_string();
    assert!(message.contains(&format!("{address:#x}")), "{message}");
    drop(first);
    let instance = Linker::new().instantiate(&mut second, &module).unwrap();
    assert_eq!(
        call(&mut second, instance, "load", &[Val::I32(64)]).unwrap(),
        [Val::I32(0)]
    );
}
