//! Tests of the WASI functions against a fake guest memory.

use super::*;

fn state(args: &[&str], env: &[(&str, &str)]) -> WasiState {
    let ctx = WasiCtx::new()
        .args(args.iter().map(|arg| arg.to_string()).collect())
        .env(
            env.iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        );
    WasiState {
        ctx,
        stdio_open: Cell::new([true; 3]),
    }
}

fn definition(name: &str) -> &'static Definition {
    implemented()
        .find(|definition| definition.name == name)
        .unwrap()
}

/// Runs `name` with i32 `args` over `memory`; returns the errno.
fn check(state: &WasiState, memory: &mut [u8], name: &str, args: &[Val]) -> i32 {
    let mut caller = Caller::with_memory(memory);
    match (definition(name).run)(state, &mut caller, args)
        .unwrap()
        .as_slice()
    {
        [Val::I32(errno)] => *errno,
        other => panic!("unexpected results {other:?}"),
    }
}

fn i32s(values: &[u32]) -> Vec<Val> {
    values.iter().map(|&value| Val::I32(value as i32)).collect()
}

#[test]
fn args_are_laid_out_as_c_strings() {
    let state = state(&["prog", "-x"], &[]);
    let mut memory = vec![0u8; 64];
    assert_eq!(
        check(&state, &mut memory, "args_sizes_get", &i32s(&[0, 4])),
        0
    );
    assert_eq!(&memory[..8], &[2, 0, 0, 0, 8, 0, 0, 0]);
    assert_eq!(check(&state, &mut memory, "args_get", &i32s(&[16, 32])), 0);
    assert_eq!(&memory[16..24], &[32, 0, 0, 0, 37, 0, 0, 0]);
    assert_eq!(&memory[32..40], b"prog\0-x\0");
}

#[test]
fn environment_is_key_equals_value() {
    let state = state(&[], &[("A", "1")]);
    let mut memory = vec![0u8; 32];
    assert_eq!(
        check(&state, &mut memory, "environ_sizes_get", &i32s(&[0, 4])),
        0
    );
    assert_eq!(&memory[..8], &[1, 0, 0, 0, 4, 0, 0, 0]);
    assert_eq!(
        check(&state, &mut memory, "environ_get", &i32s(&[8, 12])),
        0
    );
    assert_eq!(&memory[12..16], b"A=1\0");
}

#[test]
fn out_of_bounds_pointers_are_efault_without_partial_writes() {
    let state = state(&["prog", "argument"], &[]);
    let mut memory = vec![0u8; 16];
    let efault = errno::FAULT as i32;
    assert_eq!(
        check(&state, &mut memory, "args_sizes_get", &i32s(&[0, 14])),
        efault
    );
    assert_eq!(memory, vec![0u8; 16], "nothing written");
    assert_eq!(
        check(&state, &mut memory, "args_get", &i32s(&[0, 8])),
        efault
    );
    assert_eq!(
        check(&state, &mut memory, "args_get", &i32s(&[u32::MAX, 0])),
        efault
    );
    assert_eq!(memory, vec![0u8; 16], "nothing written");
    assert_eq!(
        check(&state, &mut memory, "random_get", &i32s(&[8, 9])),
        efault
    );
    assert_eq!(
        check(
            &state,
            &mut memory,
            "clock_time_get",
            &[Val::I32(1), Val::I64(0), Val::I32(12)]
        ),
        efault
    );
    // An iovec pointing outside memory.
    memory[..8].copy_from_slice(&[0, 0, 0, 0, 0xff, 0, 0, 0]);
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[1, 0, 1, 8])),
        efault
    );
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[1, 0, u32::MAX, 8])),
        efault
    );
}

#[test]
fn stdio_descriptors() {
    let state = state(&[], &[]);
    let mut memory = vec![0u8; 64];
    // fd_write of zero bytes to stdout succeeds and reports 0 written.
    memory[..8].copy_from_slice(&[16, 0, 0, 0, 0, 0, 0, 0]);
    memory[8..12].copy_from_slice(&[9, 9, 9, 9]);
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[1, 0, 1, 8])),
        0
    );
    assert_eq!(&memory[8..12], &[0, 0, 0, 0]);
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[7, 0, 1, 8])),
        errno::BADF as i32
    );
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[0, 0, 1, 8])),
        errno::BADF as i32
    );
    assert_eq!(
        check(&state, &mut memory, "fd_fdstat_get", &i32s(&[1, 16])),
        0
    );
    assert_eq!(memory[16], 2, "character device");
    let seek = [Val::I32(1), Val::I64(0), Val::I32(0), Val::I32(40)];
    assert_eq!(
        check(&state, &mut memory, "fd_seek", &seek),
        errno::SPIPE as i32
    );
    assert_eq!(
        check(&state, &mut memory, "fd_prestat_get", &i32s(&[3, 16])),
        errno::BADF as i32
    );
    assert_eq!(check(&state, &mut memory, "fd_close", &i32s(&[2])), 0);
    assert_eq!(
        check(&state, &mut memory, "fd_close", &i32s(&[2])),
        errno::BADF as i32
    );
    assert_eq!(
        check(&state, &mut memory, "fd_fdstat_get", &i32s(&[2, 16])),
        errno::BADF as i32
    );
}

#[test]
fn clocks_and_randomness() {
    let state = state(&[], &[]);
    let mut memory = vec![0u8; 32];
    assert_eq!(
        check(
            &state,
            &mut memory,
            "clock_time_get",
            &[Val::I32(1), Val::I64(0), Val::I32(0)]
        ),
        0
    );
    assert_ne!(&memory[..8], &[0; 8]);
    assert_eq!(
        check(&state, &mut memory, "clock_res_get", &i32s(&[9, 8])),
        errno::INVAL as i32
    );
    assert_eq!(
        check(&state, &mut memory, "random_get", &i32s(&[16, 16])),
        0
    );
    assert_ne!(&memory[16..32], &[0; 16]);
}

#[test]
fn proc_exit_unwinds_with_the_code() {
    let state = state(&[], &[]);
    let mut memory = vec![];
    let mut caller = Caller::with_memory(&mut memory);
    let result = (definition("proc_exit").run)(&state, &mut caller, &i32s(&[3]));
    assert_eq!(result, Err(HostError::Exit(3)));
}

#[test]
fn every_preview1_function_is_defined_once() {
    let mut names: Vec<&str> = implemented().map(|definition| definition.name).collect();
    names.extend(UNIMPLEMENTED.iter().map(|(name, _)| *name));
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "no duplicates");
    assert_eq!(count, 46, "witx preview 1 has 46 functions");
    let mut store = Store::new();
    let mut linker = Linker::new();
    add_to_linker(&mut linker, &mut store, WasiCtx::new());
    let Some(Extern::Func(path_open)) = linker.get("wasi_unstable", "path_open") else {
        panic!()
    };
    assert_eq!(path_open.ty(&store).params.len(), 9);
    assert_eq!(
        path_open
            .call(
                &mut store,
                &[Val::I32(0); 5]
                    .iter()
                    .copied()
                    .chain([Val::I64(0), Val::I64(0), Val::I32(0), Val::I32(0)])
                    .collect::<Vec<_>>()
            )
            .unwrap(),
        vec![Val::I32(52)]
    );
}
