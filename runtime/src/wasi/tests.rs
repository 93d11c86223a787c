//! Tests of the WASI functions against a fake guest memory: layouts, stdio, the sandbox
//! (one test per escape kind), and a sweep of bad inputs through every function.

use super::*;
use crate::Val;

fn ctx(args: &[&str], env: &[(&str, &str)]) -> WasiCtx {
    WasiCtx::new()
        .args(args.iter().map(|arg| arg.to_string()).collect())
        .env(
            env.iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        )
        .stdio(Stdio::Null)
}

fn state(args: &[&str], env: &[(&str, &str)]) -> WasiState {
    WasiState::new(ctx(args, env), Default::default())
}

fn find(definitions: impl Iterator<Item = &'static Definition>, name: &str) -> Run {
    definitions
        .into_iter()
        .find(|definition| definition.name == name)
        .unwrap_or_else(|| panic!("no function {name}"))
        .run
}

/// Runs `run` with `args` over `memory`; returns the errno.
fn call_with(run: Run, state: &WasiState, memory: &mut [u8], args: &[Val]) -> i32 {
    let mut caller = Caller::with_memory(memory);
    match call(run, state, &mut caller, args).unwrap() {
        Some(errno) => errno,
        None => panic!("no errno"),
    }
}

/// Runs preview 1's `name`.
fn check(state: &WasiState, memory: &mut [u8], name: &str, args: &[Val]) -> i32 {
    call_with(find(preview1(), name), state, memory, args)
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
fn explicit_environment_overrides_inherited() {
    let ctx = WasiCtx::new()
        .inherit_env()
        .env(vec![("PATH".into(), "mine".into())]);
    let env = ctx.environment();
    assert_eq!(
        env.iter()
            .filter(|(key, _)| key == "PATH")
            .collect::<Vec<_>>(),
        vec![&("PATH".to_string(), "mine".to_string())]
    );
    assert!(
        WasiCtx::new().environment().is_empty(),
        "nothing by default"
    );
}

#[test]
fn out_of_bounds_pointers_are_efault_without_partial_writes() {
    let state = state(&["prog", "argument"], &[]);
    let mut memory = vec![0u8; 16];
    let efault = Errno::FAULT.0 as i32;
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
    // fd_write of 4 bytes to stdout (connected to nothing) reports 4 written.
    memory[..8].copy_from_slice(&[16, 0, 0, 0, 4, 0, 0, 0]);
    memory[8..12].copy_from_slice(&[9, 9, 9, 9]);
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[1, 0, 1, 8])),
        0
    );
    assert_eq!(&memory[8..12], &[4, 0, 0, 0]);
    // Reading stdin connected to nothing is end of file.
    assert_eq!(
        check(&state, &mut memory, "fd_read", &i32s(&[0, 0, 1, 8])),
        0
    );
    assert_eq!(&memory[8..12], &[0, 0, 0, 0]);
    let badf = Errno::BADF.0 as i32;
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[7, 0, 1, 8])),
        badf
    );
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[0, 0, 1, 8])),
        badf
    );
    assert_eq!(
        check(&state, &mut memory, "fd_fdstat_get", &i32s(&[1, 16])),
        0
    );
    assert_eq!(memory[16], 2, "character device");
    let seek = [Val::I32(1), Val::I64(0), Val::I32(0), Val::I32(40)];
    assert_eq!(
        check(&state, &mut memory, "fd_seek", &seek),
        Errno::SPIPE.0 as i32
    );
    assert_eq!(
        check(&state, &mut memory, "fd_prestat_get", &i32s(&[3, 16])),
        badf
    );
    assert_eq!(check(&state, &mut memory, "fd_close", &i32s(&[2])), 0);
    assert_eq!(check(&state, &mut memory, "fd_close", &i32s(&[2])), badf);
    assert_eq!(
        check(&state, &mut memory, "fd_fdstat_get", &i32s(&[2, 16])),
        badf
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
        Errno::INVAL.0 as i32
    );
    assert_eq!(
        check(&state, &mut memory, "random_get", &i32s(&[16, 16])),
        0
    );
    assert_ne!(&memory[16..32], &[0; 16]);
}

/// Reads clock `id` through `clock_time_get`.
fn read_clock(state: &WasiState, memory: &mut [u8], id: u32) -> u64 {
    let args = [Val::I32(id as i32), Val::I64(0), Val::I32(0)];
    assert_eq!(check(state, memory, "clock_time_get", &args), 0);
    u64::from_le_bytes(memory[..8].try_into().unwrap())
}

/// Polls one clock subscription (preview 1 layout) of `timeout` ns, absolute or not.
fn poll_clock(state: &WasiState, memory: &mut [u8], timeout: u64, absolute: bool) {
    memory[..64].fill(0);
    memory[0..8].copy_from_slice(&5u64.to_le_bytes());
    memory[16..20].copy_from_slice(&1u32.to_le_bytes());
    memory[24..32].copy_from_slice(&timeout.to_le_bytes());
    memory[40..42].copy_from_slice(&u16::from(absolute).to_le_bytes());
    assert_eq!(
        check(state, memory, "poll_oneoff", &i32s(&[0, 64, 1, 120])),
        0
    );
    assert_eq!(&memory[120..124], &[1, 0, 0, 0], "one event");
    assert_eq!(&memory[64..72], &5u64.to_le_bytes(), "the timer's userdata");
}

#[test]
fn deterministic_clocks_are_virtual_and_randomness_is_a_fixed_stream() {
    let state = WasiState::new(ctx(&[], &[]).deterministic(), Default::default());
    let mut memory = vec![0u8; 128];
    // Every read advances the one virtual time by 1 µs, whichever clock it reads.
    assert_eq!(read_clock(&state, &mut memory, 1), 1_000);
    assert_eq!(read_clock(&state, &mut memory, 0), 2_000);
    assert_eq!(read_clock(&state, &mut memory, 3), 3_000);
    let bad = [Val::I32(9), Val::I64(0), Val::I32(0)];
    assert_eq!(
        check(&state, &mut memory, "clock_time_get", &bad),
        Errno::INVAL.0 as i32
    );
    assert_eq!(
        check(&state, &mut memory, "clock_res_get", &i32s(&[2, 8])),
        0
    );
    assert_eq!(&memory[8..16], &1_000u64.to_le_bytes());
    // A 5 s timer does not sleep: time jumps by 5 s.
    poll_clock(&state, &mut memory, 5_000_000_000, false);
    assert_eq!(read_clock(&state, &mut memory, 1), 5_000_004_000);
    // An absolute deadline: its own read (+1 µs), then a jump to the deadline.
    poll_clock(&state, &mut memory, 10_000_000_000, true);
    assert_eq!(read_clock(&state, &mut memory, 1), 10_000_001_000);
    // SplitMix64 from state 0; 12 bytes take two outputs and drop the second's rest.
    assert_eq!(
        check(&state, &mut memory, "random_get", &i32s(&[16, 12])),
        0
    );
    assert_eq!(&memory[16..24], &0xe220_a839_7b1d_cdafu64.to_le_bytes());
    assert_eq!(
        &memory[24..28],
        &0x6e78_9e6a_a1b9_65f4u64.to_le_bytes()[..4]
    );
    assert_eq!(check(&state, &mut memory, "random_get", &i32s(&[32, 8])), 0);
    assert_eq!(&memory[32..40], &0x06c4_5d18_8009_454fu64.to_le_bytes());
}

#[test]
fn proc_exit_unwinds_with_the_code() {
    let state = state(&[], &[]);
    let mut memory = vec![];
    let mut caller = Caller::with_memory(&mut memory);
    let mut exit = |code: u32| {
        call(
            find(preview1(), "proc_exit"),
            &state,
            &mut caller,
            &i32s(&[code]),
        )
    };
    assert_eq!(exit(3), Err(HostError::Exit(3)));
    assert_eq!(exit(125), Err(HostError::Exit(125)));
    for code in [126, 134, 256, u32::MAX] {
        match exit(code) {
            Err(HostError::Message(message)) => {
                assert!(message.contains(&code.to_string()), "{message}");
            }
            other => panic!("exit({code}): {other:?}"),
        }
    }
}

/// Each import names the symbol of the definition that serves it (what `kiln build` links).
#[test]
fn import_symbols_name_the_definitions() {
    for (module, definitions) in [
        (MODULE_NAMES[0], preview1().collect::<Vec<_>>()),
        (MODULE_NAMES[1], unstable().collect::<Vec<_>>()),
    ] {
        for definition in definitions {
            assert_eq!(
                import_symbol(module, definition.name).as_deref(),
                Some(definition.symbol),
                "{module}.{}",
                definition.name
            );
        }
    }
    let mut symbols: Vec<&str> = preview1().chain(unstable()).map(|d| d.symbol).collect();
    symbols.sort();
    symbols.dedup();
    assert_eq!(symbols.len(), 46 + unstable::NAMES.len(), "one symbol each");
    assert_eq!(import_symbol("env", "fd_write"), None);
}

#[test]
fn every_preview1_function_is_defined_once() {
    let mut names: Vec<&str> = preview1().map(|definition| definition.name).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "no duplicates");
    assert_eq!(count, 46, "witx preview 1 has 46 functions");
    assert_eq!(unstable().count(), 46);
    let mut store = Store::new();
    let mut linker = Linker::new();
    add_to_linker(&mut linker, &mut store, WasiCtx::new().stdio(Stdio::Null));
    for module in MODULE_NAMES {
        let Some(Extern::Func(path_open)) = linker.get(module, "path_open") else {
            panic!()
        };
        assert_eq!(path_open.ty(&store).params.len(), 9);
        // Called from the host there is no memory: the guest would be stopped.
        let args: Vec<Val> = [Val::I32(0); 5]
            .into_iter()
            .chain([Val::I64(0), Val::I64(0), Val::I32(0), Val::I32(0)])
            .collect();
        assert!(path_open.call(&mut store, &args).is_err());
    }
}

/// A scratch directory for one test, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("kiln-wasi-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("root/sub")).unwrap();
        std::fs::write(path.join("secret"), b"outside").unwrap();
        std::fs::write(path.join("root/inside"), b"inside").unwrap();
        Scratch(path)
    }

    /// A state with `root` preopened as `/` (fd 3).
    fn state(&self) -> WasiState {
        WasiState::new(
            WasiCtx::new()
                .stdio(Stdio::Null)
                .preopen_dir(self.0.join("root"), "/")
                .unwrap(),
            Default::default(),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens `path` beneath fd 3 for reading: the errno and (on success) the new fd.
fn open(state: &WasiState, path: &str, lookupflags: u32) -> (i32, u32) {
    let mut memory = vec![0u8; 256];
    memory[16..16 + path.len()].copy_from_slice(path.as_bytes());
    let args = [
        Val::I32(3),
        Val::I32(lookupflags as i32),
        Val::I32(16),
        Val::I32(path.len() as i32),
        Val::I32(0),
        Val::I64(rights::FD_READ as i64),
        Val::I64(0),
        Val::I32(0),
        Val::I32(0),
    ];
    let errno = check(state, &mut memory, "path_open", &args);
    (errno, u32::from_le_bytes(memory[..4].try_into().unwrap()))
}

use table::rights;

const EPERM: i32 = Errno::PERM.0 as i32;

#[test]
fn paths_open_beneath_the_preopen() {
    let scratch = Scratch::new("inside");
    let state = scratch.state();
    let mut memory = vec![0u8; 64];
    assert_eq!(
        check(&state, &mut memory, "fd_prestat_get", &i32s(&[3, 0])),
        0
    );
    assert_eq!(&memory[..8], &[0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(
        check(
            &state,
            &mut memory,
            "fd_prestat_dir_name",
            &i32s(&[3, 8, 1])
        ),
        0
    );
    assert_eq!(memory[8], b'/');
    let (errno, fd) = open(&state, "sub/../inside", 1);
    assert_eq!(errno, 0);
    assert_eq!(fd, 4);
    memory[..8].copy_from_slice(&[32, 0, 0, 0, 16, 0, 0, 0]);
    assert_eq!(
        check(&state, &mut memory, "fd_read", &i32s(&[4, 0, 1, 8])),
        0
    );
    assert_eq!(&memory[32..38], b"inside");
}

/// Writes `entries` (pointer, length) as an iovec array at `at`.
fn put_iovecs(memory: &mut [u8], at: usize, entries: &[(u32, u32)]) {
    for (index, (buf, len)) in entries.iter().enumerate() {
        let entry = at + index * 8;
        memory[entry..entry + 4].copy_from_slice(&buf.to_le_bytes());
        memory[entry + 4..entry + 8].copy_from_slice(&len.to_le_bytes());
    }
}

fn read_u32(memory: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(memory[at..at + 4].try_into().unwrap())
}

/// Creates `out` in the preopen (fd 3) for reading, writing and seeking, with its name at
/// byte 256 of `memory`; returns the new descriptor.
fn create_out(state: &WasiState, memory: &mut [u8]) -> u32 {
    memory[256..259].copy_from_slice(b"out");
    let rights = rights::FD_READ | rights::FD_WRITE | rights::FD_SEEK;
    let create = [
        Val::I32(3),
        Val::I32(0),
        Val::I32(256),
        Val::I32(3),
        Val::I32(1), // O_CREAT
        Val::I64(rights as i64),
        Val::I64(0),
        Val::I32(0),
        Val::I32(0),
    ];
    assert_eq!(check(state, memory, "path_open", &create), 0);
    read_u32(memory, 0)
}

#[test]
fn reads_and_writes_gather_and_scatter_iovecs() {
    let scratch = Scratch::new("vectored");
    let state = scratch.state();
    let mut memory = vec![0u8; 512];
    let fd = create_out(&state, &mut memory);
    // fd_write gathers "hello", nothing, "hello" again (the same bytes) and " kiln".
    memory[300..310].copy_from_slice(b"hello kiln");
    put_iovecs(&mut memory, 16, &[(300, 5), (0, 0), (300, 5), (305, 5)]);
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[fd, 16, 4, 8])),
        0
    );
    assert_eq!(read_u32(&memory, 8), 15);
    // fd_pwrite gathers "KI" and "LN" at offset 11.
    memory[320..324].copy_from_slice(b"KILN");
    put_iovecs(&mut memory, 16, &[(320, 2), (322, 2)]);
    let pwrite = [
        Val::I32(fd as i32),
        Val::I32(16),
        Val::I32(2),
        Val::I64(11),
        Val::I32(8),
    ];
    assert_eq!(check(&state, &mut memory, "fd_pwrite", &pwrite), 0);
    assert_eq!(read_u32(&memory, 8), 4);
    let written = std::fs::read(scratch.0.join("root/out")).unwrap();
    assert_eq!(written, b"hellohello KILN");
    // fd_pread scatters from offset 5 into 3, 0 and 20 bytes: a short read at the end.
    put_iovecs(&mut memory, 16, &[(400, 3), (0, 0), (410, 20)]);
    let pread = [
        Val::I32(fd as i32),
        Val::I32(16),
        Val::I32(3),
        Val::I64(5),
        Val::I32(8),
    ];
    assert_eq!(check(&state, &mut memory, "fd_pread", &pread), 0);
    assert_eq!(read_u32(&memory, 8), 10);
    assert_eq!(&memory[400..403], b"hel");
    assert_eq!(&memory[410..417], b"lo KILN");
    // fd_read from the start (after a seek) into two overlapping iovecs: "helloh", then
    // "ello" over its last three bytes.
    let seek = [Val::I32(fd as i32), Val::I64(0), Val::I32(0), Val::I32(8)];
    assert_eq!(check(&state, &mut memory, "fd_seek", &seek), 0);
    put_iovecs(&mut memory, 16, &[(440, 6), (443, 4)]);
    assert_eq!(
        check(&state, &mut memory, "fd_read", &i32s(&[fd, 16, 2, 8])),
        0
    );
    assert_eq!(read_u32(&memory, 8), 10);
    assert_eq!(&memory[440..447], b"helello");
}

/// `host_iovecs` keeps the first `INLINE_IOVECS` on the stack and moves to a `Vec` past
/// them: the same buffers in the same order either way, empty ones left out, every
/// buffer checked (also those past `UIO_MAXIOV`, which the host does not get).
#[test]
fn host_iovecs_past_the_inline_ones_keep_their_order() {
    let mut memory = vec![0u8; 1 << 16];
    let base = memory.as_ptr() as usize;
    for count in [
        0,
        1,
        INLINE_IOVECS - 1,
        INLINE_IOVECS,
        INLINE_IOVECS + 1,
        40,
    ] {
        // Buffer `i` at 8192 + 16 i, 1 + i % 5 bytes long; every third one empty.
        let entries: Vec<(u32, u32)> = (0..count as u32)
            .map(|i| (8192 + 16 * i, if i % 3 == 2 { 0 } else { 1 + i % 5 }))
            .collect();
        put_iovecs(&mut memory, 64, &entries);
        let mut guest = GuestMemory(&mut memory);
        let iovecs = guest.host_iovecs(64, count as u32).unwrap();
        let got: Vec<(usize, usize)> = iovecs
            .iter()
            .map(|iovec| (iovec.iov_base as usize - base, iovec.iov_len))
            .collect();
        let expected: Vec<(usize, usize)> = entries
            .iter()
            .filter(|&&(_, len)| len > 0)
            .map(|&(buf, len)| (buf as usize, len as usize))
            .collect();
        assert_eq!(got, expected, "{count} iovecs");
    }
    // A buffer out of bounds after the inline ones fails the whole call.
    let mut entries: Vec<(u32, u32)> = (0..12).map(|i| (8192 + 16 * i, 4)).collect();
    entries[10] = (u32::MAX - 2, 4);
    put_iovecs(&mut memory, 64, &entries);
    let mut guest = GuestMemory(&mut memory);
    assert_eq!(guest.host_iovecs(64, 12).err(), Some(Errno::FAULT));
    // At most `UIO_MAXIOV` go to the host, but the ones after them are still checked.
    let max = libc::UIO_MAXIOV as u32;
    let mut entries: Vec<(u32, u32)> = (0..max + 2).map(|i| (8192 + i, 1)).collect();
    put_iovecs(&mut memory, 64, &entries);
    let mut guest = GuestMemory(&mut memory);
    assert_eq!(guest.host_iovecs(64, max + 2).unwrap().len(), max as usize);
    entries[max as usize + 1] = (1 << 16, 1);
    put_iovecs(&mut memory, 64, &entries);
    let mut guest = GuestMemory(&mut memory);
    assert_eq!(guest.host_iovecs(64, max + 2).err(), Some(Errno::FAULT));
}

/// fd_write and fd_read with more iovecs than `host_iovecs` keeps on the stack.
#[test]
fn many_iovecs_gather_and_scatter() {
    let scratch = Scratch::new("many-iovecs");
    let state = scratch.state();
    let mut memory = vec![0u8; 1024];
    let fd = create_out(&state, &mut memory);
    // 26 one-letter buffers written backwards: "zyx...a".
    memory[300..326].copy_from_slice(b"abcdefghijklmnopqrstuvwxyz");
    let backwards: Vec<(u32, u32)> = (0..26).rev().map(|i| (300 + i, 1)).collect();
    put_iovecs(&mut memory, 16, &backwards);
    assert_eq!(
        check(&state, &mut memory, "fd_write", &i32s(&[fd, 16, 26, 8])),
        0
    );
    assert_eq!(read_u32(&memory, 8), 26);
    let written = std::fs::read(scratch.0.join("root/out")).unwrap();
    assert_eq!(written, b"zyxwvutsrqponmlkjihgfedcba");
    // Read back into 13 two-byte buffers, every other one of 4 bytes apart.
    let seek = [Val::I32(fd as i32), Val::I64(0), Val::I32(0), Val::I32(8)];
    assert_eq!(check(&state, &mut memory, "fd_seek", &seek), 0);
    let pairs: Vec<(u32, u32)> = (0..13).map(|i| (600 + 4 * i, 2)).collect();
    put_iovecs(&mut memory, 16, &pairs);
    assert_eq!(
        check(&state, &mut memory, "fd_read", &i32s(&[fd, 16, 13, 8])),
        0
    );
    assert_eq!(read_u32(&memory, 8), 26);
    let read: Vec<u8> = (0..13)
        .flat_map(|i| memory[600 + 4 * i..602 + 4 * i].to_vec())
        .collect();
    assert_eq!(read, b"zyxwvutsrqponmlkjihgfedcba");
}

#[test]
fn escape_by_dot_dot_is_refused() {
    let scratch = Scratch::new("dotdot");
    let state = scratch.state();
    assert_eq!(open(&state, "../secret", 1).0, EPERM);
    assert_eq!(open(&state, "sub/../../secret", 1).0, EPERM);
}

#[test]
fn escape_by_absolute_path_is_refused() {
    let scratch = Scratch::new("absolute");
    let state = scratch.state();
    let absolute = scratch.0.join("secret");
    assert_eq!(open(&state, absolute.to_str().unwrap(), 1).0, EPERM);
    assert_eq!(open(&state, "/inside", 1).0, EPERM);
}

#[test]
fn escape_by_absolute_symlink_is_refused() {
    let scratch = Scratch::new("abs-symlink");
    std::os::unix::fs::symlink(scratch.0.join("secret"), scratch.0.join("root/link")).unwrap();
    let state = scratch.state();
    assert_eq!(open(&state, "link", 1).0, EPERM);
}

#[test]
fn escape_by_relative_symlink_is_refused() {
    let scratch = Scratch::new("rel-symlink");
    std::os::unix::fs::symlink("../secret", scratch.0.join("root/link")).unwrap();
    let state = scratch.state();
    assert_eq!(open(&state, "link", 1).0, EPERM);
    // Without following, the link itself is not a way out either.
    assert_ne!(open(&state, "link", 0).0, 0);
}

#[test]
fn escape_through_an_intermediate_symlink_is_refused() {
    let scratch = Scratch::new("mid-symlink");
    std::os::unix::fs::symlink("..", scratch.0.join("root/sub/up")).unwrap();
    std::os::unix::fs::symlink("sub/up/..", scratch.0.join("root/out")).unwrap();
    let state = scratch.state();
    // `sub/up` is the root itself: allowed. One more level is outside.
    assert_eq!(open(&state, "sub/up/inside", 1).0, 0);
    assert_eq!(open(&state, "sub/up/../secret", 1).0, EPERM);
    assert_eq!(open(&state, "out/secret", 1).0, EPERM);
}

#[test]
fn escape_by_hard_link_is_refused() {
    let scratch = Scratch::new("link");
    let state = scratch.state();
    let mut memory = vec![0u8; 64];
    memory[..6].copy_from_slice(b"inside");
    memory[16..25].copy_from_slice(b"../stolen");
    memory[32..41].copy_from_slice(b"../secret");
    memory[48..52].copy_from_slice(b"mine");
    // Linking a file inside to a path outside.
    assert_eq!(
        check(
            &state,
            &mut memory,
            "path_link",
            &i32s(&[3, 0, 0, 6, 3, 16, 9])
        ),
        EPERM
    );
    // Linking a file outside to a path inside.
    assert_eq!(
        check(
            &state,
            &mut memory,
            "path_link",
            &i32s(&[3, 0, 32, 9, 3, 48, 4])
        ),
        EPERM
    );
    assert!(!scratch.0.join("stolen").exists());
    assert!(!scratch.0.join("root/mine").exists());
}

#[test]
fn escape_by_rename_is_refused() {
    let scratch = Scratch::new("rename");
    let state = scratch.state();
    let mut memory = vec![0u8; 64];
    memory[..6].copy_from_slice(b"inside");
    memory[16..25].copy_from_slice(b"../stolen");
    memory[32..41].copy_from_slice(b"../secret");
    memory[48..52].copy_from_slice(b"mine");
    assert_eq!(
        check(
            &state,
            &mut memory,
            "path_rename",
            &i32s(&[3, 0, 6, 3, 16, 9])
        ),
        EPERM
    );
    assert_eq!(
        check(
            &state,
            &mut memory,
            "path_rename",
            &i32s(&[3, 32, 9, 3, 48, 4])
        ),
        EPERM
    );
    assert!(scratch.0.join("root/inside").exists());
    assert!(scratch.0.join("secret").exists());
}

#[test]
fn symlinks_pointing_out_cannot_be_followed_by_any_function() {
    let scratch = Scratch::new("symlink-ops");
    let state = scratch.state();
    let mut memory = vec![0u8; 256];
    let target = scratch.0.to_str().unwrap().to_string();
    memory[..target.len()].copy_from_slice(target.as_bytes());
    memory[128..132].copy_from_slice(b"link");
    // cap-std refuses to create a symlink with an absolute target (as in Wasmtime)...
    assert_eq!(
        check(
            &state,
            &mut memory,
            "path_symlink",
            &i32s(&[0, target.len() as u32, 3, 128, 4])
        ),
        EPERM
    );
    // ...and stores a relative one as text, whatever it names.
    memory[..2].copy_from_slice(b"..");
    assert_eq!(
        check(
            &state,
            &mut memory,
            "path_symlink",
            &i32s(&[0, 2, 3, 128, 4])
        ),
        0
    );
    // ...but nothing resolves through it.
    let filestat = [3, 1, 128, 4, 160].map(Val::I32);
    assert_eq!(
        check(&state, &mut memory, "path_filestat_get", &filestat),
        EPERM
    );
    assert_eq!(open(&state, "link/secret", 0).0, EPERM);
}

#[test]
fn unstable_layouts() {
    let scratch = Scratch::new("unstable");
    let state = scratch.state();
    let (errno, fd) = open(&state, "inside", 1);
    assert_eq!(errno, 0);
    let mut memory = vec![0u8; 128];
    let run = find(unstable(), "fd_filestat_get");
    assert_eq!(call_with(run, &state, &mut memory, &i32s(&[fd, 0])), 0);
    assert_eq!(memory[16], 4, "regular file");
    assert_eq!(&memory[20..24], &[1, 0, 0, 0], "nlink u32 at 20");
    assert_eq!(&memory[24..32], &6u64.to_le_bytes(), "size at 24");
    // whence 1 is `end` in wasi_unstable.
    let seek = [Val::I32(fd as i32), Val::I64(-2), Val::I32(1), Val::I32(64)];
    assert_eq!(
        call_with(find(unstable(), "fd_seek"), &state, &mut memory, &seek),
        0
    );
    assert_eq!(&memory[64..72], &4u64.to_le_bytes());
    // A relative clock subscription of 1 ns with the snapshot 0 layout (timeout @32).
    let mut memory = vec![0u8; 256];
    memory[0..8].copy_from_slice(&7u64.to_le_bytes());
    memory[24..28].copy_from_slice(&1u32.to_le_bytes());
    memory[32..40].copy_from_slice(&1u64.to_le_bytes());
    let poll = find(unstable(), "poll_oneoff");
    assert_eq!(
        call_with(poll, &state, &mut memory, &i32s(&[0, 64, 1, 200])),
        0
    );
    assert_eq!(&memory[200..204], &[1, 0, 0, 0]);
    assert_eq!(&memory[64..72], &7u64.to_le_bytes(), "userdata");
}

/// Sweeps bad inputs through every function of both modules: wild pointers, huge
/// lengths, invalid fds and flags. Each call must return an errno (the process stays
/// intact: a host fault would kill this test).
#[test]
fn bad_inputs_give_errnos() {
    let scratch = Scratch::new("sweep");
    const MEMORY: usize = 4096;
    let i32_values: [u32; 8] = [
        0,
        1,
        3,
        64,
        MEMORY as u32 - 1,
        MEMORY as u32,
        0x7fff_ffff,
        u32::MAX,
    ];
    let i64_values: [u64; 4] = [0, 1, i64::MAX as u64, u64::MAX];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut calls = 0;
    for (module, definitions) in [
        ("preview1", preview1().collect::<Vec<_>>()),
        ("unstable", unstable().collect::<Vec<_>>()),
    ] {
        for definition in definitions {
            if definition.name == "proc_exit" {
                continue;
            }
            for round in 0..64 {
                let args: Vec<Val> = definition
                    .params
                    .iter()
                    .map(|ty| {
                        let pick = next() as usize;
                        match ty {
                            kiln_abi::metadata::ValType::I64 => {
                                Val::I64(i64_values[pick % i64_values.len()] as i64)
                            }
                            // Round 0: every argument 0; round 1: every argument maximal.
                            _ if round == 0 => Val::I32(0),
                            _ if round == 1 => Val::I32(-1),
                            _ => Val::I32(i32_values[pick % i32_values.len()] as i32),
                        }
                    })
                    .collect();
                // A fresh state (the sweep closes and renumbers descriptors) and zeroed
                // memory (so that no subscription asks to sleep for long).
                let state = scratch.state();
                let mut memory = vec![0u8; MEMORY];
                let errno = call_with(definition.run, &state, &mut memory, &args);
                assert!(
                    (0..=76).contains(&errno),
                    "{module}::{} {args:?}: {errno} is not an errno",
                    definition.name
                );
                calls += 1;
            }
        }
    }
    assert!(calls > 5000);
    // Nothing the sweep did reached outside the preopen.
    let mut outside: Vec<_> = std::fs::read_dir(&scratch.0)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    outside.sort();
    assert_eq!(outside, ["root", "secret"]);
}

/// Every preview 1 function's core wasm signature, from `wasi_snapshot_preview1.witx`
/// lowered to core wasm: handles, pointers, lengths, flags and enums are `i32`, 64-bit
/// integers (`filesize`, `timestamp`, `rights`, `dircookie`, `filedelta`) are `i64`, and
/// every function but `proc_exit` returns the `errno`. Written here, not derived from
/// the definitions, so that a wrong Rust parameter type fails the test below.
const WITX_SIGNATURES: &[(&str, &[ValType], &[ValType])] = {
    use ValType::{I32, I64};
    &[
        ("args_get", &[I32, I32], &[I32]),
        ("args_sizes_get", &[I32, I32], &[I32]),
        ("environ_get", &[I32, I32], &[I32]),
        ("environ_sizes_get", &[I32, I32], &[I32]),
        ("clock_res_get", &[I32, I32], &[I32]),
        ("clock_time_get", &[I32, I64, I32], &[I32]),
        ("fd_advise", &[I32, I64, I64, I32], &[I32]),
        ("fd_allocate", &[I32, I64, I64], &[I32]),
        ("fd_close", &[I32], &[I32]),
        ("fd_datasync", &[I32], &[I32]),
        ("fd_fdstat_get", &[I32, I32], &[I32]),
        ("fd_fdstat_set_flags", &[I32, I32], &[I32]),
        ("fd_fdstat_set_rights", &[I32, I64, I64], &[I32]),
        ("fd_filestat_get", &[I32, I32], &[I32]),
        ("fd_filestat_set_size", &[I32, I64], &[I32]),
        ("fd_filestat_set_times", &[I32, I64, I64, I32], &[I32]),
        ("fd_pread", &[I32, I32, I32, I64, I32], &[I32]),
        ("fd_prestat_get", &[I32, I32], &[I32]),
        ("fd_prestat_dir_name", &[I32, I32, I32], &[I32]),
        ("fd_pwrite", &[I32, I32, I32, I64, I32], &[I32]),
        ("fd_read", &[I32, I32, I32, I32], &[I32]),
        ("fd_readdir", &[I32, I32, I32, I64, I32], &[I32]),
        ("fd_renumber", &[I32, I32], &[I32]),
        ("fd_seek", &[I32, I64, I32, I32], &[I32]),
        ("fd_sync", &[I32], &[I32]),
        ("fd_tell", &[I32, I32], &[I32]),
        ("fd_write", &[I32, I32, I32, I32], &[I32]),
        ("path_create_directory", &[I32, I32, I32], &[I32]),
        ("path_filestat_get", &[I32, I32, I32, I32, I32], &[I32]),
        (
            "path_filestat_set_times",
            &[I32, I32, I32, I32, I64, I64, I32],
            &[I32],
        ),
        ("path_link", &[I32, I32, I32, I32, I32, I32, I32], &[I32]),
        (
            "path_open",
            &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
            &[I32],
        ),
        ("path_readlink", &[I32, I32, I32, I32, I32, I32], &[I32]),
        ("path_remove_directory", &[I32, I32, I32], &[I32]),
        ("path_rename", &[I32, I32, I32, I32, I32, I32], &[I32]),
        ("path_symlink", &[I32, I32, I32, I32, I32], &[I32]),
        ("path_unlink_file", &[I32, I32, I32], &[I32]),
        ("poll_oneoff", &[I32, I32, I32, I32], &[I32]),
        ("proc_exit", &[I32], &[]),
        ("proc_raise", &[I32], &[I32]),
        ("sched_yield", &[], &[I32]),
        ("random_get", &[I32, I32], &[I32]),
        ("sock_accept", &[I32, I32, I32], &[I32]),
        ("sock_recv", &[I32, I32, I32, I32, I32, I32], &[I32]),
        ("sock_send", &[I32, I32, I32, I32, I32], &[I32]),
        ("sock_shutdown", &[I32, I32], &[I32]),
    ]
};

/// The signature derived from each Rust function's parameter types is the witx one, in
/// both modules (`wasi_unstable`'s functions have the same signatures), and it is what the
/// linker defines.
#[test]
fn signatures_are_the_witx_ones() {
    assert_eq!(WITX_SIGNATURES.len(), 46);
    let mut store = Store::new();
    let mut linker = Linker::new();
    add_to_linker(&mut linker, &mut store, WasiCtx::new().stdio(Stdio::Null));
    for (module, definitions) in [
        (MODULE_NAMES[0], preview1().collect::<Vec<_>>()),
        (MODULE_NAMES[1], unstable().collect::<Vec<_>>()),
    ] {
        assert_eq!(definitions.len(), WITX_SIGNATURES.len(), "{module}");
        for &(name, params, results) in WITX_SIGNATURES {
            let definition = definitions
                .iter()
                .find(|definition| definition.name == name)
                .unwrap_or_else(|| panic!("{module}::{name} is not defined"));
            assert_eq!(
                (definition.params, definition.results),
                (params, results),
                "{module}::{name}"
            );
            let Some(Extern::Func(func)) = linker.get(module, name) else {
                panic!("{module}::{name} is not in the linker")
            };
            let expected = FuncType {
                params: params.to_vec(),
                results: results.to_vec(),
            };
            assert_eq!(func.ty(&store), expected, "{module}::{name}");
        }
    }
}

/// Arguments that do not match a function's parameters (only a host calling it by hand
/// can pass them: a guest's import is checked against the type) stop the call with an
/// error naming both, instead of being read as 0.
#[test]
fn mismatched_arguments_are_an_error() {
    let state = state(&[], &[]);
    let mut memory = vec![0u8; 64];
    let mut caller = Caller::with_memory(&mut memory);
    let wrong = [
        Val::I32(0),
        Val::I32(0),
        Val::I32(0),
        Val::I32(0),
        Val::I32(0),
    ];
    let result = call(find(preview1(), "fd_pread"), &state, &mut caller, &wrong);
    let Err(HostError::Message(message)) = result else {
        panic!("{result:?}")
    };
    assert_eq!(
        message,
        "wasi: the arguments do not match the function's parameter types"
    );
    let too_few = call(find(preview1(), "proc_exit"), &state, &mut caller, &[]);
    assert!(matches!(too_few, Err(HostError::Message(_))), "{too_few:?}");
}

/// Fills `dir` with what a read-only preopen holds in these tests: `data`, `sub/inner`
/// and the empty directory `empty`.
pub(super) fn make_read_only_tree(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("data"), b"read only\n").unwrap();
    std::fs::write(dir.join("sub/inner"), b"inner").unwrap();
}

/// Everything observable of the tree at `dir` that a change would alter: each entry's
/// path, contents (files), link count and modification time, the directory's own
/// included.
pub(super) fn tree(
    dir: &std::path::Path,
) -> Vec<(String, Option<Vec<u8>>, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let mut entries = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        let contents = if metadata.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                pending.push(entry.unwrap().path());
            }
            None
        } else {
            Some(std::fs::read(&path).unwrap())
        };
        let name = path.strip_prefix(dir).unwrap().display().to_string();
        entries.push((
            name,
            contents,
            metadata.nlink(),
            metadata.modified().unwrap(),
        ));
    }
    entries.sort();
    entries
}

impl Scratch {
    /// [`Scratch::state`] with a second preopen, `ro/` (see [`make_read_only_tree`]),
    /// read-only as `readonly` (fd 4).
    fn state_with_read_only(&self) -> WasiState {
        make_read_only_tree(&self.0.join("ro"));
        WasiState::new(
            WasiCtx::new()
                .stdio(Stdio::Null)
                .preopen_dir(self.0.join("root"), "/")
                .unwrap()
                .preopen_dir_read_only(self.0.join("ro"), "readonly")
                .unwrap(),
            Default::default(),
        )
    }
}

/// A guest memory of 1 KiB whose strings are put at 512, 640, 768 and 896 by [`text`].
fn guest_memory() -> Vec<u8> {
    vec![0u8; 1024]
}

/// Puts `text` in string slot `slot` (0 to 3) of `memory`; its pointer and length.
fn text(memory: &mut [u8], slot: usize, text: &str) -> [Val; 2] {
    let at = 512 + slot * 128;
    memory[at..at + text.len()].copy_from_slice(text.as_bytes());
    [Val::I32(at as i32), Val::I32(text.len() as i32)]
}

/// `path_open` of `path` beneath `dirfd`: the errno and (on success) the new fd.
fn open_with(
    state: &WasiState,
    dirfd: u32,
    path: &str,
    oflags: u32,
    base: u64,
    fdflags: u32,
) -> (i32, u32) {
    let mut memory = guest_memory();
    let [path, len] = text(&mut memory, 0, path);
    let args = [
        Val::I32(dirfd as i32),
        Val::I32(0),
        path,
        len,
        Val::I32(oflags as i32),
        Val::I64(base as i64),
        Val::I64(base as i64),
        Val::I32(fdflags as i32),
        Val::I32(0),
    ];
    let errno = check(state, &mut memory, "path_open", &args);
    (errno, read_u32(&memory, 0))
}

const EBADF: i32 = Errno::BADF.0 as i32;

#[test]
fn a_read_only_preopen_can_be_opened_read_stated_and_listed() {
    let scratch = Scratch::new("read-only-reads");
    let state = scratch.state_with_read_only();
    let mut memory = guest_memory();
    // It is a preopen like any other, with the rights Wasmtime reports for every one.
    assert_eq!(
        check(&state, &mut memory, "fd_prestat_get", &i32s(&[4, 0])),
        0
    );
    assert_eq!(read_u32(&memory, 4), "readonly".len() as u32);
    assert_eq!(
        check(&state, &mut memory, "fd_fdstat_get", &i32s(&[4, 0])),
        0
    );
    assert_eq!(memory[0], table::filetype::DIRECTORY);
    assert_eq!(
        u64::from_le_bytes(memory[8..16].try_into().unwrap()),
        rights::PREOPEN_BASE
    );
    // Open and read a file, and one in a directory opened beneath it.
    let (errno, file) = open_with(&state, 4, "data", 0, rights::FD_READ, 0);
    assert_eq!(errno, 0);
    put_iovecs(&mut memory, 16, &[(100, 64)]);
    assert_eq!(
        check(&state, &mut memory, "fd_read", &i32s(&[file, 16, 1, 8])),
        0
    );
    assert_eq!(
        &memory[100..100 + read_u32(&memory, 8) as usize],
        b"read only\n"
    );
    let (errno, sub) = open_with(&state, 4, "sub", 2, rights::FD_READDIR, 0);
    assert_eq!(errno, 0);
    let (errno, inner) = open_with(&state, sub, "inner", 0, rights::FD_READ, 0);
    assert_eq!(errno, 0);
    assert_eq!(
        check(&state, &mut memory, "fd_read", &i32s(&[inner, 16, 1, 8])),
        0
    );
    assert_eq!(&memory[100..100 + read_u32(&memory, 8) as usize], b"inner");
    // Stat by descriptor and by path.
    assert_eq!(
        check(&state, &mut memory, "fd_filestat_get", &i32s(&[file, 200])),
        0
    );
    assert_eq!(u64::from_le_bytes(memory[232..240].try_into().unwrap()), 10);
    let [path, len] = text(&mut memory, 0, "sub/inner");
    let args = [Val::I32(4), Val::I32(0), path, len, Val::I32(200)];
    assert_eq!(check(&state, &mut memory, "path_filestat_get", &args), 0);
    assert_eq!(u64::from_le_bytes(memory[232..240].try_into().unwrap()), 5);
    // List: `.`, `..`, then the three entries.
    let readdir = [
        Val::I32(4),
        Val::I32(100),
        Val::I32(400),
        Val::I64(0),
        Val::I32(8),
    ];
    assert_eq!(check(&state, &mut memory, "fd_readdir", &readdir), 0);
    let listing = &memory[100..100 + read_u32(&memory, 8) as usize];
    for name in [&b"data"[..], b"sub", b"empty"] {
        assert!(
            listing.windows(name.len()).any(|window| window == name),
            "{name:?} not listed"
        );
    }
    // Syncing and advising change nothing and are allowed, as in Wasmtime.
    assert_eq!(check(&state, &mut memory, "fd_sync", &i32s(&[file])), 0);
    let advise = [Val::I32(file as i32), Val::I64(0), Val::I64(0), Val::I32(0)];
    assert_eq!(check(&state, &mut memory, "fd_advise", &advise), 0);
}

#[test]
fn nothing_beneath_a_read_only_preopen_can_be_changed() {
    let scratch = Scratch::new("read-only-changes");
    let state = scratch.state_with_read_only();
    let ro = scratch.0.join("ro");
    let before = tree(&ro);
    let rw_before = tree(&scratch.0.join("root"));
    // Opening for a change: create (new or existing), truncate, write, append-write.
    for (path, oflags, base) in [
        ("new", 1, rights::FD_READ),
        ("new", 1 | 4, rights::FD_READ | rights::FD_WRITE),
        ("data", 1, rights::FD_READ),
        ("data", 8, rights::FD_READ),
        ("data", 0, rights::FD_WRITE),
        ("data", 0, rights::FD_READ | rights::FD_WRITE),
        ("sub/inner", 8, rights::FD_READ),
    ] {
        assert_eq!(
            open_with(&state, 4, path, oflags, base, 0).0,
            EPERM,
            "open {path} with oflags {oflags} and rights {base:#x}"
        );
    }
    assert_eq!(
        open_with(
            &state,
            4,
            "data",
            0,
            rights::FD_WRITE,
            u32::from(table::fdflags::APPEND)
        )
        .0,
        EPERM
    );
    // Each path function that changes the directory, beneath the preopen and beneath a
    // directory opened in it.
    let (errno, sub) = open_with(&state, 4, "sub", 2, rights::FD_READDIR, 0);
    assert_eq!(errno, 0);
    let mut memory = guest_memory();
    for dir in [4, sub] {
        let dir = Val::I32(dir as i32);
        let [made, made_len] = text(&mut memory, 0, "made");
        let call = [dir, made, made_len];
        assert_eq!(
            check(&state, &mut memory, "path_create_directory", &call),
            EPERM
        );
        let [target, target_len] = text(&mut memory, 1, "data");
        let symlink = [target, target_len, dir, made, made_len];
        assert_eq!(check(&state, &mut memory, "path_symlink", &symlink), EPERM);
        let [inner, inner_len] = text(&mut memory, 2, "inner");
        let unlink = [dir, inner, inner_len];
        assert_eq!(
            check(&state, &mut memory, "path_unlink_file", &unlink),
            EPERM
        );
        let set_times = [
            dir,
            Val::I32(0),
            inner,
            inner_len,
            Val::I64(0),
            Val::I64(0),
            Val::I32(i32::from(file::fstflags::MTIM | file::fstflags::ATIM_NOW)),
        ];
        assert_eq!(
            check(&state, &mut memory, "path_filestat_set_times", &set_times),
            EPERM
        );
    }
    let [empty, empty_len] = text(&mut memory, 0, "empty");
    let remove = [Val::I32(4), empty, empty_len];
    assert_eq!(
        check(&state, &mut memory, "path_remove_directory", &remove),
        EPERM
    );
    // Renames and links: within it, out of it into `/` (fd 3), and from `/` into it.
    let [data, data_len] = text(&mut memory, 0, "data");
    let [moved, moved_len] = text(&mut memory, 1, "moved");
    let [inside, inside_len] = text(&mut memory, 2, "inside");
    for (from, from_path, to) in [
        (4, [data, data_len], 4),
        (4, [data, data_len], 3),
        (3, [inside, inside_len], 4),
    ] {
        let [from_path, from_len] = from_path;
        let rename = [
            Val::I32(from),
            from_path,
            from_len,
            Val::I32(to),
            moved,
            moved_len,
        ];
        assert_eq!(
            check(&state, &mut memory, "path_rename", &rename),
            EPERM,
            "rename from fd {from} to fd {to}"
        );
        for lookupflags in [0, 1] {
            let link = [
                Val::I32(from),
                Val::I32(lookupflags),
                from_path,
                from_len,
                Val::I32(to),
                moved,
                moved_len,
            ];
            assert_eq!(
                check(&state, &mut memory, "path_link", &link),
                EPERM,
                "link from fd {from} to fd {to}"
            );
        }
    }
    // Through a file opened for reading: size, times and space cannot be changed, and
    // it cannot be written (not open for writing on the host: EBADF, as in Wasmtime).
    let (errno, file) = open_with(&state, 4, "data", 0, rights::FD_READ, 0);
    assert_eq!(errno, 0);
    let file = Val::I32(file as i32);
    let set_size = [file, Val::I64(0)];
    assert_eq!(
        check(&state, &mut memory, "fd_filestat_set_size", &set_size),
        EPERM
    );
    let allocate = [file, Val::I64(0), Val::I64(4096)];
    assert_eq!(check(&state, &mut memory, "fd_allocate", &allocate), EPERM);
    let now = Val::I32(i32::from(
        file::fstflags::ATIM_NOW | file::fstflags::MTIM_NOW,
    ));
    for descriptor in [file, Val::I32(4), Val::I32(sub as i32)] {
        let set_times = [descriptor, Val::I64(0), Val::I64(0), now];
        assert_eq!(
            check(&state, &mut memory, "fd_filestat_set_times", &set_times),
            EPERM
        );
    }
    memory[100..105].copy_from_slice(b"owned");
    put_iovecs(&mut memory, 16, &[(100, 5)]);
    let write = [file, Val::I32(16), Val::I32(1), Val::I32(8)];
    assert_eq!(check(&state, &mut memory, "fd_write", &write), EBADF);
    let pwrite = [file, Val::I32(16), Val::I32(1), Val::I64(0), Val::I32(8)];
    assert_eq!(check(&state, &mut memory, "fd_pwrite", &pwrite), EBADF);
    assert_eq!(tree(&ro), before);
    assert_eq!(tree(&scratch.0.join("root")), rw_before);
    // The read-write preopen beside it still takes changes.
    let (errno, _) = open_with(&state, 3, "new", 1, rights::FD_WRITE, 0);
    assert_eq!(errno, 0);
    assert!(scratch.0.join("root/new").exists());
}
