//! Tests of the WASI 0.2 host through [`ComponentHost`] with [`ComponentVal`] arguments,
//! as the component layer calls it: resolution, each family, the sandbox (preview 1's
//! escape checks repeated through `wasi:filesystem`), and the traps for guest mistakes.

use super::*;
use crate::wasi::Stdio;
use ComponentVal as V;

/// `wasi:cli/stdout@0.2.3#get-stdout` as an [`ImportName`].
fn name(full: &str) -> ImportName {
    let (instance, function) = full.rsplit_once('#').expect("a # in the name");
    ImportName::new(instance, function)
}

fn host() -> WasiP2 {
    WasiP2::new(WasiCtx::new().stdio(Stdio::Null))
}

/// Calls `function` of `interface` (at version 0.2.3).
fn call(host: &mut WasiP2, interface: &str, function: &str, params: Vec<V>) -> HostResult {
    let full = format!("{interface}@0.2.3#{function}");
    let index = host
        .resolve_function(&name(&full))
        .unwrap_or_else(|| panic!("{full} does not resolve"));
    host.call(index, params)
}

/// Calls a function that returns one value.
fn call1(host: &mut WasiP2, interface: &str, function: &str, params: Vec<V>) -> V {
    match call(host, interface, function, params) {
        Ok(mut results) if results.len() == 1 => results.remove(0),
        other => panic!("{interface}#{function}: {other:?}"),
    }
}

/// The payload of an `ok` result.
fn unwrap_ok(value: V) -> Option<V> {
    match value {
        V::Result(Ok(payload)) => payload.map(|payload| *payload),
        other => panic!("not ok: {other:?}"),
    }
}

/// The `own` handle in an `ok` result.
fn ok_own(value: V) -> u32 {
    match unwrap_ok(value) {
        Some(V::Own(rep)) => rep,
        other => panic!("not an own: {other:?}"),
    }
}

/// The `error-code` case of an `err` result.
fn err_code(value: V) -> u32 {
    match value {
        V::Result(Err(Some(payload))) => match *payload {
            V::Enum(code) => code,
            other => panic!("not an error-code: {other:?}"),
        },
        other => panic!("not an error: {other:?}"),
    }
}

fn code(name: &str) -> u32 {
    filesystem::ERROR_CODE_NAMES
        .iter()
        .position(|case| *case == name)
        .unwrap() as u32
}

fn own(value: V) -> u32 {
    match value {
        V::Own(rep) => rep,
        other => panic!("not an own: {other:?}"),
    }
}

fn string(value: &str) -> V {
    V::String(value.to_string())
}

const STREAMS: &str = "wasi:io/streams";
const TYPES: &str = "wasi:filesystem/types";

#[test]
fn versions_match_as_in_wasmtime() {
    let host = host();
    for version in ["0.2.0", "0.2.3", "0.2.9", "0.2.12"] {
        let full = format!("wasi:cli/stdout@{version}#get-stdout");
        assert!(host.resolve_function(&name(&full)).is_some(), "{full}");
        let resource = format!("wasi:io/streams@{version}#output-stream");
        assert!(
            host.resolve_resource(&name(&resource)).is_some(),
            "{resource}"
        );
    }
    for full in [
        "wasi:cli/stdout@0.3.0#get-stdout",
        "wasi:cli/stdout@1.0.0#get-stdout",
        "wasi:cli/stdout@0.2.0-rc-2023-11-10#get-stdout",
        "wasi:cli/stdout@0.2#get-stdout",
        "wasi:cli/stdout@0.2.01#get-stdout",
        "wasi:cli/stdout#get-stdout",
        "wasi:cli/stdout@0.2.3#get-stdouts",
        "wasi:cli/stdin@0.2.3#get-stdout",
        "wasi:http/types@0.2.3#[method]fields.get",
    ] {
        assert_eq!(host.resolve_function(&name(full)), None, "{full}");
    }
    assert_eq!(
        host.resolve_resource(&name("wasi:io/streams@0.3.0#output-stream")),
        None
    );
    assert_eq!(
        host.resolve_resource(&name("wasi:io/poll@0.2.3#output-stream")),
        None
    );
    // One index per function, however often it is resolved.
    let first = host.resolve_function(&name("wasi:cli/stdout@0.2.0#get-stdout"));
    let again = host.resolve_function(&name("wasi:cli/stdout@0.2.9#get-stdout"));
    assert_eq!(first, again);
}

#[test]
fn every_function_has_its_own_name_and_symbol() {
    let all: Vec<_> = functions().collect();
    for (index, function) in all.iter().enumerate() {
        for other in &all[index + 1..] {
            assert!(
                (function.interface, function.name) != (other.interface, other.name),
                "{}#{} twice",
                function.interface,
                function.name
            );
            assert_ne!(function.symbol, other.symbol);
        }
    }
    // Every descriptor method of the WIT.
    let methods = all
        .iter()
        .filter(|function| function.name.starts_with("[method]descriptor."))
        .count();
    assert_eq!(methods, 27);
}

#[test]
fn environment_and_arguments() {
    let mut host = WasiP2::new(
        WasiCtx::new()
            .args(vec!["prog".into(), "-x".into()])
            .env(vec![("A".into(), "1".into()), ("B".into(), "two".into())])
            .stdio(Stdio::Null),
    );
    let env = "wasi:cli/environment";
    assert_eq!(
        call1(&mut host, env, "get-arguments", vec![]),
        V::List(vec![string("prog"), string("-x")])
    );
    assert_eq!(
        call1(&mut host, env, "get-environment", vec![]),
        V::List(vec![
            V::Tuple(vec![string("A"), string("1")]),
            V::Tuple(vec![string("B"), string("two")]),
        ])
    );
    assert_eq!(
        call1(&mut host, env, "initial-cwd", vec![]),
        V::Option(None)
    );
    let mut host = WasiP2::new(WasiCtx::new().initial_cwd("/sandbox").stdio(Stdio::Null));
    assert_eq!(
        call1(&mut host, env, "initial-cwd", vec![]),
        V::Option(Some(Box::new(string("/sandbox"))))
    );
}

#[test]
fn the_guest_holds_at_most_max_resources() {
    let mut host = host();
    host.set_max_resources(3);
    let clock = "wasi:clocks/monotonic-clock";
    let subscribe = |host: &mut WasiP2| call(host, clock, "subscribe-duration", vec![V::U64(1)]);
    let pollables: Vec<u32> = (0..3)
        .map(|_| own(subscribe(&mut host).unwrap().remove(0)))
        .collect();
    assert_eq!(
        subscribe(&mut host),
        Err(HostCallError::Trap(
            "wasi: the guest holds 3 host resources, the most it may".into()
        ))
    );
    // Dropping one makes room for one more.
    let pollable = ResourceKind::Pollable as u32;
    host.drop_resource(pollable, pollables[0]).unwrap();
    assert!(subscribe(&mut host).is_ok());
    assert!(subscribe(&mut host).is_err());
}

#[test]
fn exit_codes() {
    let mut host = host();
    let exit = "wasi:cli/exit";
    assert_eq!(
        call(&mut host, exit, "exit", vec![V::Result(Ok(None))]),
        Err(HostCallError::Exit(0))
    );
    assert_eq!(
        call(&mut host, exit, "exit", vec![V::Result(Err(None))]),
        Err(HostCallError::Exit(1))
    );
    assert_eq!(
        call(&mut host, exit, "exit-with-code", vec![V::U8(42)]),
        Err(HostCallError::Exit(42))
    );
    // An argument of the wrong type is the guest's mistake: a trap naming it.
    match call(&mut host, exit, "exit-with-code", vec![V::U32(1)]) {
        Err(HostCallError::Trap(message)) => {
            assert!(message.contains("exit-with-code"), "{message}");
            assert!(message.contains("expected u8"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn terminals_are_none_when_stdio_goes_nowhere() {
    let mut host = host();
    for (interface, function) in [
        ("wasi:cli/terminal-stdin", "get-terminal-stdin"),
        ("wasi:cli/terminal-stdout", "get-terminal-stdout"),
        ("wasi:cli/terminal-stderr", "get-terminal-stderr"),
    ] {
        assert_eq!(
            call1(&mut host, interface, function, vec![]),
            V::Option(None)
        );
    }
}

/// A pipe: (read end, write end).
fn pipe() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe writes two fds into a valid array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both fds were just created and are owned by nothing else.
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

#[test]
fn stdout_writes_reach_the_host_fd() {
    use std::io::Read;
    let (mut reader, writer) = pipe();
    let mut host = host();
    host.stdio[1] = Some(writer.as_raw_fd());
    let stdout = own(call1(&mut host, "wasi:cli/stdout", "get-stdout", vec![]));
    let budget = unwrap_ok(call1(
        &mut host,
        STREAMS,
        "[method]output-stream.check-write",
        vec![V::Borrow(stdout)],
    ));
    assert_eq!(budget, Some(V::U64(io::WRITE_BUDGET)));
    for (function, bytes) in [
        ("[method]output-stream.write", &b"hello, "[..]),
        ("[method]output-stream.blocking-write-and-flush", b"world"),
    ] {
        let result = call1(
            &mut host,
            STREAMS,
            function,
            vec![V::Borrow(stdout), V::Bytes(bytes.to_vec())],
        );
        assert_eq!(unwrap_ok(result), None);
    }
    let zeroes = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.write-zeroes",
        vec![V::Borrow(stdout), V::U64(2)],
    );
    assert_eq!(unwrap_ok(zeroes), None);
    // More than blocking-write-and-flush may take traps, as in Wasmtime.
    let too_much = call(
        &mut host,
        STREAMS,
        "[method]output-stream.blocking-write-and-flush",
        vec![V::Borrow(stdout), V::Bytes(vec![0; 4097])],
    );
    assert!(
        matches!(too_much, Err(HostCallError::Trap(_))),
        "{too_much:?}"
    );
    host.drop_resource(ResourceKind::OutputStream as u32, stdout)
        .unwrap();
    drop(host);
    drop(writer);
    let mut written = Vec::new();
    reader.read_to_end(&mut written).unwrap();
    assert_eq!(written, b"hello, world\0\0");
}

use std::os::fd::AsRawFd;

#[test]
fn stdin_reads_what_is_there_and_then_closed() {
    use std::io::Write;
    let (reader, mut writer) = pipe();
    let mut host = host();
    host.stdio[0] = Some(reader.as_raw_fd());
    let stdin = own(call1(&mut host, "wasi:cli/stdin", "get-stdin", vec![]));
    let read = |host: &mut WasiP2, function: &str| {
        call1(host, STREAMS, function, vec![V::Borrow(stdin), V::U64(100)])
    };
    // Nothing there yet: a non-blocking read returns nothing, the pollable is not ready.
    assert_eq!(
        unwrap_ok(read(&mut host, "[method]input-stream.read")),
        Some(V::Bytes(vec![]))
    );
    let pollable = own(call1(
        &mut host,
        STREAMS,
        "[method]input-stream.subscribe",
        vec![V::Borrow(stdin)],
    ));
    let ready = |host: &mut WasiP2| {
        call1(
            host,
            "wasi:io/poll",
            "[method]pollable.ready",
            vec![V::Borrow(pollable)],
        )
    };
    assert_eq!(ready(&mut host), V::Bool(false));
    writer.write_all(b"input").unwrap();
    assert_eq!(ready(&mut host), V::Bool(true));
    assert_eq!(
        call1(
            &mut host,
            "wasi:io/poll",
            "poll",
            vec![V::List(vec![V::Borrow(pollable)])]
        ),
        V::List(vec![V::U32(0)])
    );
    assert_eq!(
        unwrap_ok(read(&mut host, "[method]input-stream.blocking-read")),
        Some(V::Bytes(b"input".to_vec()))
    );
    drop(writer);
    // The end: `closed`, the second case of stream-error.
    assert_eq!(
        read(&mut host, "[method]input-stream.blocking-read"),
        V::Result(Err(Some(Box::new(V::variant(1, None)))))
    );
    // The stream cannot go while its pollable lives; the pollable first, then it can.
    let early = host.drop_resource(ResourceKind::InputStream as u32, stdin);
    match early {
        Err(HostCallError::Trap(message)) => assert!(message.contains("input-stream"), "{message}"),
        other => panic!("{other:?}"),
    }
    host.drop_resource(ResourceKind::Pollable as u32, pollable)
        .unwrap();
    host.drop_resource(ResourceKind::InputStream as u32, stdin)
        .unwrap();
}

#[test]
fn stdio_going_nowhere_discards_and_ends() {
    let mut host = host();
    let stdout = own(call1(&mut host, "wasi:cli/stdout", "get-stdout", vec![]));
    let result = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.blocking-write-and-flush",
        vec![V::Borrow(stdout), V::Bytes(b"lost".to_vec())],
    );
    assert_eq!(unwrap_ok(result), None);
    let stdin = own(call1(&mut host, "wasi:cli/stdin", "get-stdin", vec![]));
    assert_eq!(
        call1(
            &mut host,
            STREAMS,
            "[method]input-stream.read",
            vec![V::Borrow(stdin), V::U64(1)]
        ),
        V::Result(Err(Some(Box::new(V::variant(1, None)))))
    );
}

#[test]
fn bad_reps_and_kinds_trap() {
    let mut host = host();
    let stdout = own(call1(&mut host, "wasi:cli/stdout", "get-stdout", vec![]));
    let unknown = call(
        &mut host,
        STREAMS,
        "[method]output-stream.check-write",
        vec![V::Borrow(stdout + 7)],
    );
    match unknown {
        Err(HostCallError::Trap(message)) => {
            assert!(message.contains("no host resource"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let wrong_kind = call(
        &mut host,
        "wasi:io/poll",
        "[method]pollable.ready",
        vec![V::Borrow(stdout)],
    );
    match wrong_kind {
        Err(HostCallError::Trap(message)) => {
            assert!(
                message.contains("output-stream, not a pollable"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        host.drop_resource(ResourceKind::Descriptor as u32, stdout),
        Err(HostCallError::Trap(_))
    ));
    assert!(matches!(
        host.drop_resource(ResourceKind::OutputStream as u32, stdout + 1),
        Err(HostCallError::Trap(_))
    ));
    let empty = call(&mut host, "wasi:io/poll", "poll", vec![V::List(vec![])]);
    match empty {
        Err(HostCallError::Trap(message)) => assert!(message.contains("empty"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn monotonic_clock_increases() {
    let mut host = host();
    let clock = "wasi:clocks/monotonic-clock";
    let now = |host: &mut WasiP2| match call1(host, clock, "now", vec![]) {
        V::U64(now) => now,
        other => panic!("{other:?}"),
    };
    let first = now(&mut host);
    std::thread::sleep(std::time::Duration::from_millis(1));
    assert!(now(&mut host) > first);
    assert!(
        matches!(call1(&mut host, clock, "resolution", vec![]), V::U64(resolution) if resolution > 0)
    );
    match call1(&mut host, "wasi:clocks/wall-clock", "now", vec![]) {
        // After 2020-01-01.
        V::Record(fields) => {
            assert!(matches!(fields[0], V::U64(seconds) if seconds > 1_577_836_800))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deterministic_clocks_and_random() {
    let deterministic = || WasiP2::new(WasiCtx::new().stdio(Stdio::Null).deterministic());
    let mut host = deterministic();
    let clock = "wasi:clocks/monotonic-clock";
    assert_eq!(call1(&mut host, clock, "now", vec![]), V::U64(1_000));
    assert_eq!(call1(&mut host, clock, "now", vec![]), V::U64(2_000));
    assert_eq!(call1(&mut host, clock, "resolution", vec![]), V::U64(1_000));
    assert_eq!(
        call1(&mut host, "wasi:clocks/wall-clock", "now", vec![]),
        V::Record(vec![V::U64(0), V::U32(3_000)])
    );
    // A wait takes no real time: virtual time jumps to the deadline.
    let pollable = own(call1(
        &mut host,
        clock,
        "subscribe-duration",
        vec![V::U64(5_000_000_000)],
    ));
    assert_eq!(
        call(
            &mut host,
            "wasi:io/poll",
            "[method]pollable.block",
            vec![V::Borrow(pollable)]
        ),
        Ok(vec![])
    );
    assert_eq!(
        call1(&mut host, clock, "now", vec![]),
        V::U64(5_000_004_000)
    );
    let random = |host: &mut WasiP2| {
        (
            call1(
                host,
                "wasi:random/random",
                "get-random-bytes",
                vec![V::U64(13)],
            ),
            call1(
                host,
                "wasi:random/insecure",
                "get-insecure-random-u64",
                vec![],
            ),
            call1(host, "wasi:random/insecure-seed", "insecure-seed", vec![]),
        )
    };
    let (first, second) = (random(&mut deterministic()), random(&mut deterministic()));
    assert_eq!(first, second);
    assert!(matches!(&first.0, V::Bytes(bytes) if bytes.len() == 13));
    assert!(matches!(&first.2, V::Tuple(seed) if seed.len() == 2));
}

#[test]
fn random_bytes_have_the_asked_length() {
    let mut host = host();
    for len in [0, 1, 8, 9, 1000] {
        match call1(
            &mut host,
            "wasi:random/random",
            "get-random-bytes",
            vec![V::U64(len)],
        ) {
            V::Bytes(bytes) => assert_eq!(bytes.len() as u64, len),
            other => panic!("{other:?}"),
        }
    }
    let huge = call(
        &mut host,
        "wasi:random/random",
        "get-random-bytes",
        vec![V::U64(u64::MAX)],
    );
    assert!(matches!(huge, Err(HostCallError::Trap(_))), "{huge:?}");
    assert!(matches!(
        call1(&mut host, "wasi:random/random", "get-random-u64", vec![]),
        V::U64(_)
    ));
}

#[test]
fn the_insecure_seed_is_the_same_at_every_call() {
    let mut host = host();
    let seed =
        |host: &mut WasiP2| call1(host, "wasi:random/insecure-seed", "insecure-seed", vec![]);
    let first = seed(&mut host);
    // Random bytes drawn between the calls do not move it.
    call1(
        &mut host,
        "wasi:random/insecure",
        "get-insecure-random-u64",
        vec![],
    );
    assert_eq!(seed(&mut host), first);
    assert!(matches!(&first, V::Tuple(pair) if pair.len() == 2));
    // Another host draws its own.
    assert_ne!(seed(&mut super::tests::host()), first);
}

#[test]
fn poll_waits_for_the_earliest_deadline() {
    let mut host = host();
    let clock = "wasi:clocks/monotonic-clock";
    let soon = own(call1(
        &mut host,
        clock,
        "subscribe-duration",
        vec![V::U64(10_000_000)],
    ));
    let later = own(call1(
        &mut host,
        clock,
        "subscribe-duration",
        vec![V::U64(3_600_000_000_000)],
    ));
    assert_eq!(
        call1(
            &mut host,
            "wasi:io/poll",
            "[method]pollable.ready",
            vec![V::Borrow(soon)]
        ),
        V::Bool(false)
    );
    let start = std::time::Instant::now();
    let ready = call1(
        &mut host,
        "wasi:io/poll",
        "poll",
        vec![V::List(vec![V::Borrow(later), V::Borrow(soon)])],
    );
    assert_eq!(ready, V::List(vec![V::U32(1)]));
    assert!(start.elapsed() >= std::time::Duration::from_millis(10));
    let past = own(call1(
        &mut host,
        clock,
        "subscribe-instant",
        vec![V::U64(0)],
    ));
    assert_eq!(
        call1(
            &mut host,
            "wasi:io/poll",
            "[method]pollable.ready",
            vec![V::Borrow(past)]
        ),
        V::Bool(true)
    );
}

#[test]
fn a_blocking_poll_stops_at_the_time_limit() {
    let interrupt = Arc::new(InterruptState::default());
    interrupt
        .start_time_limit(std::time::Duration::from_millis(20))
        .unwrap();
    let mut host = WasiP2::with_interrupt(WasiCtx::new().stdio(Stdio::Null), interrupt);
    let never = own(call1(
        &mut host,
        "wasi:clocks/monotonic-clock",
        "subscribe-duration",
        vec![V::U64(3_600_000_000_000)],
    ));
    assert_eq!(
        call(
            &mut host,
            "wasi:io/poll",
            "[method]pollable.block",
            vec![V::Borrow(never)]
        ),
        Err(HostCallError::TimeLimit)
    );
}

/// A scratch directory for one test, removed when dropped: `root/` (preopened as `/`)
/// with `inside` and `sub/`, and `secret` beside it, outside the sandbox.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("kiln-wasip2-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("root/sub")).unwrap();
        std::fs::write(path.join("secret"), b"outside").unwrap();
        std::fs::write(path.join("root/inside"), b"inside").unwrap();
        Scratch(path)
    }

    /// A host with `root` preopened as `/`, and that preopen's descriptor.
    fn host(&self) -> (WasiP2, u32) {
        let mut host = WasiP2::new(
            WasiCtx::new()
                .stdio(Stdio::Null)
                .preopen_dir(self.0.join("root"), "/")
                .unwrap(),
        );
        let directories = call1(
            &mut host,
            "wasi:filesystem/preopens",
            "get-directories",
            vec![],
        );
        let V::List(directories) = directories else {
            panic!("{directories:?}")
        };
        let [V::Tuple(pair)] = directories.as_slice() else {
            panic!("{directories:?}")
        };
        assert_eq!(pair[1], string("/"));
        let root = own(pair[0].clone());
        (host, root)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `descriptor-flags` and `open-flags` bits.
const READ: u32 = 1;
const WRITE: u32 = 2;
const MUTATE: u32 = 32;
const CREATE: u32 = 1;
const DIRECTORY: u32 = 2;
const EXCLUSIVE: u32 = 4;
const FOLLOW: u32 = 1;

/// `open-at` beneath `dir`: the result.
fn open_at(host: &mut WasiP2, dir: u32, follow: u32, path: &str, open: u32, flags: u32) -> V {
    call1(
        host,
        TYPES,
        "[method]descriptor.open-at",
        vec![
            V::Borrow(dir),
            V::Flags(vec![follow]),
            string(path),
            V::Flags(vec![open]),
            V::Flags(vec![flags]),
        ],
    )
}

/// Calls descriptor method `method` on `rep` with `params` after `self`.
fn method(host: &mut WasiP2, rep: u32, method: &str, params: Vec<V>) -> V {
    let mut all = vec![V::Borrow(rep)];
    all.extend(params);
    call1(host, TYPES, &format!("[method]descriptor.{method}"), all)
}

#[test]
fn set_size_of_a_file_opened_read_only_is_invalid() {
    let scratch = Scratch::new("set-size-read-only");
    let (mut host, root) = scratch.host();
    let file = ok_own(open_at(&mut host, root, FOLLOW, "inside", 0, READ));
    assert_eq!(
        err_code(method(&mut host, file, "set-size", vec![V::U64(100)])),
        code("invalid")
    );
    assert_eq!(
        std::fs::read(scratch.0.join("root/inside")).unwrap(),
        b"inside"
    );
    let writable = ok_own(open_at(&mut host, root, FOLLOW, "inside", 0, READ | WRITE));
    assert_eq!(
        unwrap_ok(method(&mut host, writable, "set-size", vec![V::U64(2)])),
        None
    );
    assert_eq!(std::fs::read(scratch.0.join("root/inside")).unwrap(), b"in");
    let sub = ok_own(open_at(&mut host, root, FOLLOW, "sub", DIRECTORY, READ));
    assert_eq!(
        err_code(method(&mut host, sub, "set-size", vec![V::U64(0)])),
        code("is-directory")
    );
}

#[test]
fn files_are_created_written_read_and_listed() {
    let scratch = Scratch::new("files");
    let (mut host, root) = scratch.host();
    let file = ok_own(open_at(
        &mut host,
        root,
        FOLLOW,
        "new.txt",
        CREATE | EXCLUSIVE,
        READ | WRITE,
    ));
    // Through streams.
    let output = ok_own(method(&mut host, file, "write-via-stream", vec![V::U64(0)]));
    let written = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.blocking-write-and-flush",
        vec![V::Borrow(output), V::Bytes(b"hello stream".to_vec())],
    );
    assert_eq!(unwrap_ok(written), None);
    host.drop_resource(ResourceKind::OutputStream as u32, output)
        .unwrap();
    let input = ok_own(method(&mut host, file, "read-via-stream", vec![V::U64(6)]));
    let read = call1(
        &mut host,
        STREAMS,
        "[method]input-stream.blocking-read",
        vec![V::Borrow(input), V::U64(100)],
    );
    assert_eq!(unwrap_ok(read), Some(V::Bytes(b"stream".to_vec())));
    let end = call1(
        &mut host,
        STREAMS,
        "[method]input-stream.read",
        vec![V::Borrow(input), V::U64(100)],
    );
    assert_eq!(end, V::Result(Err(Some(Box::new(V::variant(1, None))))));
    // Directly.
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            file,
            "write",
            vec![V::Bytes(b"HELLO".to_vec()), V::U64(0)]
        )),
        Some(V::U64(5))
    );
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            file,
            "read",
            vec![V::U64(100), V::U64(0)]
        )),
        Some(V::Tuple(vec![
            V::Bytes(b"HELLO stream".to_vec()),
            V::Bool(true)
        ]))
    );
    // Appending.
    let append = ok_own(method(&mut host, file, "append-via-stream", vec![]));
    call1(
        &mut host,
        STREAMS,
        "[method]output-stream.write",
        vec![V::Borrow(append), V::Bytes(b"!".to_vec())],
    );
    assert_eq!(
        std::fs::read(scratch.0.join("root/new.txt")).unwrap(),
        b"HELLO stream!"
    );
    // Stat: a regular file (case 6) of 13 bytes, one link.
    let V::Record(stat) = unwrap_ok(method(&mut host, file, "stat", vec![])).unwrap() else {
        panic!()
    };
    assert_eq!(&stat[..3], &[V::Enum(6), V::U64(1), V::U64(13)]);
    assert!(matches!(&stat[4], V::Option(Some(time)) if matches!(**time, V::Record(_))));
    assert_eq!(
        unwrap_ok(method(&mut host, file, "get-type", vec![])),
        Some(V::Enum(6))
    );
    assert_eq!(
        unwrap_ok(method(&mut host, file, "get-flags", vec![])),
        Some(V::Flags(vec![READ | WRITE]))
    );
    assert_eq!(
        unwrap_ok(method(&mut host, root, "get-flags", vec![])),
        Some(V::Flags(vec![READ | MUTATE]))
    );
    assert_eq!(
        unwrap_ok(method(&mut host, root, "get-type", vec![])),
        Some(V::Enum(3))
    );
    assert_eq!(
        unwrap_ok(method(&mut host, file, "set-size", vec![V::U64(2)])),
        None
    );
    assert_eq!(
        std::fs::read(scratch.0.join("root/new.txt")).unwrap(),
        b"HE"
    );
    // The same file twice is the same object, with the same metadata hash.
    let again = ok_own(open_at(&mut host, root, 0, "new.txt", 0, READ));
    assert_eq!(
        method(&mut host, file, "is-same-object", vec![V::Borrow(again)]),
        V::Bool(true)
    );
    assert_eq!(
        method(&mut host, file, "is-same-object", vec![V::Borrow(root)]),
        V::Bool(false)
    );
    assert_eq!(
        method(&mut host, file, "metadata-hash", vec![]),
        method(
            &mut host,
            root,
            "metadata-hash-at",
            vec![V::Flags(vec![0]), string("new.txt")]
        )
    );
    // A file opened for reading only cannot be written through.
    assert_eq!(
        err_code(method(
            &mut host,
            again,
            "write-via-stream",
            vec![V::U64(0)]
        )),
        code("bad-descriptor")
    );
    // The listing, in any order, without `.` and `..`.
    let entries = ok_own(method(&mut host, root, "read-directory", vec![]));
    let mut names = Vec::new();
    loop {
        let entry = call1(
            &mut host,
            TYPES,
            "[method]directory-entry-stream.read-directory-entry",
            vec![V::Borrow(entries)],
        );
        match unwrap_ok(entry) {
            Some(V::Option(None)) => break,
            Some(V::Option(Some(entry))) => match *entry {
                V::Record(fields) => names.push((fields[1].clone(), fields[0].clone())),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
    names.sort_by_key(|(name, _)| format!("{name:?}"));
    assert_eq!(
        names,
        [
            (string("inside"), V::Enum(6)),
            (string("new.txt"), V::Enum(6)),
            (string("sub"), V::Enum(3)),
        ]
    );
    host.drop_resource(ResourceKind::DirectoryEntryStream as u32, entries)
        .unwrap();
    // The streams outlive their descriptor.
    host.drop_resource(ResourceKind::Descriptor as u32, file)
        .unwrap();
    let more = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.write",
        vec![V::Borrow(append), V::Bytes(b"?".to_vec())],
    );
    assert_eq!(unwrap_ok(more), None);
}

#[test]
fn paths_are_renamed_linked_and_removed() {
    let scratch = Scratch::new("paths");
    let (mut host, root) = scratch.host();
    let at = |host: &mut WasiP2, name: &str, params: Vec<V>| method(host, root, name, params);
    assert_eq!(
        unwrap_ok(at(&mut host, "create-directory-at", vec![string("made")])),
        None
    );
    assert_eq!(
        err_code(at(&mut host, "create-directory-at", vec![string("made")])),
        code("exist")
    );
    assert_eq!(
        unwrap_ok(at(
            &mut host,
            "rename-at",
            vec![string("inside"), V::Borrow(root), string("made/moved")]
        )),
        None
    );
    assert_eq!(
        err_code(at(
            &mut host,
            "stat-at",
            vec![V::Flags(vec![FOLLOW]), string("inside")]
        )),
        code("no-entry")
    );
    assert_eq!(
        unwrap_ok(at(
            &mut host,
            "link-at",
            vec![
                V::Flags(vec![0]),
                string("made/moved"),
                V::Borrow(root),
                string("hard")
            ]
        )),
        None
    );
    let V::Record(stat) = unwrap_ok(at(
        &mut host,
        "stat-at",
        vec![V::Flags(vec![0]), string("hard")],
    ))
    .unwrap() else {
        panic!()
    };
    assert_eq!(stat[1], V::U64(2));
    assert_eq!(
        unwrap_ok(at(
            &mut host,
            "symlink-at",
            vec![string("made/moved"), string("soft")]
        )),
        None
    );
    assert_eq!(
        unwrap_ok(at(&mut host, "readlink-at", vec![string("soft")])),
        Some(string("made/moved"))
    );
    // Without following, the link itself (case 5); following, the file (case 6).
    let kind = |host: &mut WasiP2, follow: u32| {
        let V::Record(stat) = unwrap_ok(at(
            host,
            "stat-at",
            vec![V::Flags(vec![follow]), string("soft")],
        ))
        .unwrap() else {
            panic!()
        };
        stat[0].clone()
    };
    assert_eq!(kind(&mut host, 0), V::Enum(5));
    assert_eq!(kind(&mut host, FOLLOW), V::Enum(6));
    assert_eq!(
        err_code(at(&mut host, "remove-directory-at", vec![string("made")])),
        code("not-empty")
    );
    assert_eq!(
        err_code(at(&mut host, "readlink-at", vec![string("hard")])),
        code("invalid")
    );
    for path in ["soft", "hard", "made/moved"] {
        assert_eq!(
            unwrap_ok(at(&mut host, "unlink-file-at", vec![string(path)])),
            None
        );
    }
    assert_eq!(
        unwrap_ok(at(&mut host, "remove-directory-at", vec![string("made")])),
        None
    );
    assert!(!scratch.0.join("root/made").exists());
    // Times: a fixed modification time, the access time left alone.
    let when = V::variant(2, Some(V::Record(vec![V::U64(1_000_000_000), V::U32(5)])));
    assert_eq!(
        unwrap_ok(at(
            &mut host,
            "set-times-at",
            vec![V::Flags(vec![0]), string("sub"), V::variant(0, None), when]
        )),
        None
    );
    let V::Record(stat) = unwrap_ok(at(
        &mut host,
        "stat-at",
        vec![V::Flags(vec![0]), string("sub")],
    ))
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        stat[4],
        V::Option(Some(Box::new(V::Record(vec![
            V::U64(1_000_000_000),
            V::U32(5)
        ]))))
    );
}

#[test]
fn open_errors_have_their_error_codes() {
    let scratch = Scratch::new("open-errors");
    let (mut host, root) = scratch.host();
    assert_eq!(
        err_code(open_at(&mut host, root, 0, "missing", 0, READ)),
        code("no-entry")
    );
    assert_eq!(
        err_code(open_at(
            &mut host,
            root,
            0,
            "inside",
            CREATE | EXCLUSIVE,
            WRITE
        )),
        code("exist")
    );
    assert_eq!(
        err_code(open_at(&mut host, root, 0, "inside", DIRECTORY, READ)),
        code("not-directory")
    );
    assert_eq!(
        err_code(open_at(&mut host, root, 0, "sub", DIRECTORY | CREATE, READ)),
        code("invalid")
    );
    // A directory opened beneath a preopen may be changed whatever its flags, as in
    // Wasmtime (its parent may be).
    let sub = ok_own(open_at(&mut host, root, 0, "sub", DIRECTORY, READ));
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            sub,
            "create-directory-at",
            vec![string("d")]
        )),
        None
    );
    let mutable = ok_own(open_at(&mut host, root, 0, "sub", DIRECTORY, READ | MUTATE));
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            mutable,
            "remove-directory-at",
            vec![string("d")]
        )),
        None
    );
    // Path operations on a file.
    let file = ok_own(open_at(&mut host, root, 0, "inside", 0, READ));
    assert_eq!(
        err_code(method(
            &mut host,
            file,
            "stat-at",
            vec![V::Flags(vec![0]), string("x")]
        )),
        code("not-directory")
    );
    // Reading a directory as a file is `is-directory`, as in Wasmtime.
    assert_eq!(
        err_code(method(&mut host, root, "read", vec![V::U64(1), V::U64(0)])),
        code("is-directory")
    );
}

/// Opens `path` beneath the sandbox's root for reading, following symlinks when asked:
/// the error code, or `None` when it opened.
fn open_code(scratch: &Scratch, path: &str, follow: u32) -> Option<u32> {
    let (mut host, root) = scratch.host();
    match open_at(&mut host, root, follow, path, 0, READ) {
        V::Result(Ok(_)) => None,
        error => Some(err_code(error)),
    }
}

#[test]
fn escape_by_dot_dot_is_refused() {
    let scratch = Scratch::new("dotdot");
    let denied = Some(code("not-permitted"));
    assert_eq!(open_code(&scratch, "../secret", FOLLOW), denied);
    assert_eq!(open_code(&scratch, "sub/../../secret", FOLLOW), denied);
    assert_eq!(open_code(&scratch, "sub/../inside", FOLLOW), None);
}

#[test]
fn escape_by_absolute_path_is_refused() {
    let scratch = Scratch::new("absolute");
    let denied = Some(code("not-permitted"));
    let absolute = scratch.0.join("secret");
    assert_eq!(
        open_code(&scratch, absolute.to_str().unwrap(), FOLLOW),
        denied
    );
    assert_eq!(open_code(&scratch, "/inside", FOLLOW), denied);
}

#[test]
fn escape_by_symlinks_is_refused() {
    let scratch = Scratch::new("symlinks");
    std::os::unix::fs::symlink(scratch.0.join("secret"), scratch.0.join("root/absolute")).unwrap();
    std::os::unix::fs::symlink("../secret", scratch.0.join("root/relative")).unwrap();
    std::os::unix::fs::symlink("..", scratch.0.join("root/sub/up")).unwrap();
    std::os::unix::fs::symlink("sub/up/..", scratch.0.join("root/out")).unwrap();
    let denied = Some(code("not-permitted"));
    assert_eq!(open_code(&scratch, "absolute", FOLLOW), denied);
    assert_eq!(open_code(&scratch, "relative", FOLLOW), denied);
    // Without following, the link itself is not a way out either.
    assert!(open_code(&scratch, "relative", 0).is_some());
    // `sub/up` is the root itself: allowed. One more level is outside.
    assert_eq!(open_code(&scratch, "sub/up/inside", FOLLOW), None);
    assert_eq!(open_code(&scratch, "sub/up/../secret", FOLLOW), denied);
    assert_eq!(open_code(&scratch, "out/secret", FOLLOW), denied);
    // Nothing else resolves through them.
    let (mut host, root) = scratch.host();
    assert_eq!(
        err_code(method(
            &mut host,
            root,
            "stat-at",
            vec![V::Flags(vec![FOLLOW]), string("relative")]
        )),
        code("not-permitted")
    );
    assert_eq!(
        err_code(method(
            &mut host,
            root,
            "stat-at",
            vec![V::Flags(vec![0]), string("out/secret")]
        )),
        code("not-permitted")
    );
    // An absolute target cannot even be created (cap-std's refusal, as in Wasmtime).
    let target = scratch.0.to_str().unwrap();
    assert_eq!(
        err_code(method(
            &mut host,
            root,
            "symlink-at",
            vec![string(target), string("new")]
        )),
        code("not-permitted")
    );
}

#[test]
fn escape_by_link_and_rename_is_refused() {
    let scratch = Scratch::new("link-rename");
    let (mut host, root) = scratch.host();
    let denied = code("not-permitted");
    for (function, params) in [
        (
            "link-at",
            vec![
                V::Flags(vec![0]),
                string("inside"),
                V::Borrow(root),
                string("../stolen"),
            ],
        ),
        (
            "link-at",
            vec![
                V::Flags(vec![0]),
                string("../secret"),
                V::Borrow(root),
                string("mine"),
            ],
        ),
        (
            "rename-at",
            vec![string("inside"), V::Borrow(root), string("../stolen")],
        ),
        (
            "rename-at",
            vec![string("../secret"), V::Borrow(root), string("mine")],
        ),
    ] {
        assert_eq!(
            err_code(method(&mut host, root, function, params)),
            denied,
            "{function}"
        );
    }
    assert!(scratch.0.join("root/inside").exists());
    assert!(scratch.0.join("secret").exists());
    assert!(!scratch.0.join("stolen").exists());
    assert!(!scratch.0.join("root/mine").exists());
}

#[test]
fn stream_errors_carry_an_error_resource() {
    let scratch = Scratch::new("stream-error");
    let (mut host, _) = scratch.host();
    // A "file" that is a directory: reading it fails with EISDIR.
    let dir = std::fs::File::open(scratch.0.join("root")).unwrap();
    let stream = host
        .resources
        .push(
            Resource::InputStream(io::InputStream::File {
                file: std::rc::Rc::new(dir),
                position: 0,
            }),
            None,
        )
        .unwrap();
    let result = call1(
        &mut host,
        STREAMS,
        "[method]input-stream.read",
        vec![V::Borrow(stream), V::U64(10)],
    );
    let V::Result(Err(Some(error))) = result else {
        panic!("{result:?}")
    };
    let V::Variant {
        case: 0,
        payload: Some(error),
    } = *error
    else {
        panic!("{error:?}")
    };
    let error = own(*error);
    assert_eq!(
        call1(
            &mut host,
            TYPES,
            "filesystem-error-code",
            vec![V::Borrow(error)]
        ),
        V::Option(Some(Box::new(V::Enum(code("is-directory")))))
    );
    let V::String(message) = call1(
        &mut host,
        "wasi:io/error",
        "[method]error.to-debug-string",
        vec![V::Borrow(error)],
    ) else {
        panic!()
    };
    assert!(!message.is_empty());
    host.drop_resource(ResourceKind::Error as u32, error)
        .unwrap();
}

mod sockets;

/// [`Scratch::host`] with a second preopen, `ro/` (preview 1's tests'
/// `make_read_only_tree`), read-only as `readonly`: the host, `/` and `readonly`.
fn read_only_host(scratch: &Scratch) -> (WasiP2, u32, u32) {
    let ro = scratch.0.join("ro");
    crate::wasi::tests::make_read_only_tree(&ro);
    let mut host = WasiP2::new(
        WasiCtx::new()
            .stdio(Stdio::Null)
            .preopen_dir(scratch.0.join("root"), "/")
            .unwrap()
            .preopen_dir_read_only(&ro, "readonly")
            .unwrap(),
    );
    let directories = call1(
        &mut host,
        "wasi:filesystem/preopens",
        "get-directories",
        vec![],
    );
    let V::List(directories) = directories else {
        panic!("{directories:?}")
    };
    let [V::Tuple(rw), V::Tuple(ro)] = directories.as_slice() else {
        panic!("{directories:?}")
    };
    assert_eq!((&rw[1], &ro[1]), (&string("/"), &string("readonly")));
    (host, own(rw[0].clone()), own(ro[0].clone()))
}

#[test]
fn a_read_only_preopen_can_be_opened_read_stated_and_listed() {
    let scratch = Scratch::new("read-only-reads");
    let (mut host, root, ro) = read_only_host(&scratch);
    // Only `read` among its flags; `/` may be changed beneath.
    for (dir, flags) in [(ro, READ), (root, READ | MUTATE)] {
        assert_eq!(
            unwrap_ok(method(&mut host, dir, "get-flags", vec![])),
            Some(V::Flags(vec![flags]))
        );
    }
    let file = ok_own(open_at(&mut host, ro, 0, "data", 0, READ));
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            file,
            "read",
            vec![V::U64(100), V::U64(0)]
        )),
        Some(V::Tuple(vec![
            V::Bytes(b"read only\n".to_vec()),
            V::Bool(true)
        ]))
    );
    let input = ok_own(method(&mut host, file, "read-via-stream", vec![V::U64(5)]));
    let read = call1(
        &mut host,
        STREAMS,
        "[method]input-stream.blocking-read",
        vec![V::Borrow(input), V::U64(100)],
    );
    assert_eq!(unwrap_ok(read), Some(V::Bytes(b"only\n".to_vec())));
    let V::Record(stat) = unwrap_ok(method(&mut host, file, "stat", vec![])).unwrap() else {
        panic!()
    };
    assert_eq!(stat[2], V::U64(10));
    // A directory opened beneath it, read too, and read-only as well.
    let sub = ok_own(open_at(&mut host, ro, 0, "sub", DIRECTORY, READ));
    assert_eq!(
        unwrap_ok(method(&mut host, sub, "get-flags", vec![])),
        Some(V::Flags(vec![READ]))
    );
    let inner = ok_own(open_at(&mut host, sub, 0, "inner", 0, READ));
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            inner,
            "read",
            vec![V::U64(100), V::U64(0)]
        )),
        Some(V::Tuple(vec![V::Bytes(b"inner".to_vec()), V::Bool(true)]))
    );
    let V::Record(stat) = unwrap_ok(method(
        &mut host,
        ro,
        "stat-at",
        vec![V::Flags(vec![0]), string("sub/inner")],
    ))
    .unwrap() else {
        panic!()
    };
    assert_eq!(stat[2], V::U64(5));
    let entries = ok_own(method(&mut host, ro, "read-directory", vec![]));
    let mut names = Vec::new();
    loop {
        let entry = call1(
            &mut host,
            TYPES,
            "[method]directory-entry-stream.read-directory-entry",
            vec![V::Borrow(entries)],
        );
        match unwrap_ok(entry) {
            Some(V::Option(Some(entry))) => match *entry {
                V::Record(fields) => names.push(fields[1].clone()),
                other => panic!("{other:?}"),
            },
            Some(V::Option(None)) => break,
            other => panic!("{other:?}"),
        }
    }
    names.sort_by_key(|name| format!("{name:?}"));
    assert_eq!(names, [string("data"), string("empty"), string("sub")]);
    // Syncing and advising change nothing and are allowed, as in Wasmtime.
    assert_eq!(unwrap_ok(method(&mut host, file, "sync", vec![])), None);
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            file,
            "advise",
            vec![V::U64(0), V::U64(0), V::Enum(0)]
        )),
        None
    );
}

#[test]
fn nothing_beneath_a_read_only_preopen_can_be_changed() {
    let scratch = Scratch::new("read-only-changes");
    let (mut host, root, ro) = read_only_host(&scratch);
    let ro_path = scratch.0.join("ro");
    let before = crate::wasi::tests::tree(&ro_path);
    let root_before = crate::wasi::tests::tree(&scratch.0.join("root"));
    let not_permitted = code("not-permitted");
    const TRUNCATE: u32 = 8;
    // Opening for a change: create (new or existing), truncate, write.
    for (path, open, flags) in [
        ("new", CREATE, READ),
        ("new", CREATE | EXCLUSIVE, READ | WRITE),
        ("data", CREATE, READ),
        ("data", TRUNCATE, READ),
        ("data", 0, WRITE),
        ("data", 0, READ | WRITE),
        ("sub/inner", TRUNCATE, READ),
    ] {
        assert_eq!(
            err_code(open_at(&mut host, ro, 0, path, open, flags)),
            not_permitted,
            "open {path} with open-flags {open} and flags {flags}"
        );
    }
    // Each path method that changes the directory, beneath the preopen and beneath a
    // directory opened in it.
    let sub = ok_own(open_at(&mut host, ro, 0, "sub", DIRECTORY, READ));
    let now = || V::variant(1, None);
    for dir in [ro, sub] {
        for (name, params) in [
            ("create-directory-at", vec![string("made")]),
            ("symlink-at", vec![string("data"), string("made")]),
            ("unlink-file-at", vec![string("inner")]),
            ("remove-directory-at", vec![string("empty")]),
            (
                "set-times-at",
                vec![V::Flags(vec![0]), string("inner"), now(), now()],
            ),
        ] {
            assert_eq!(
                err_code(method(&mut host, dir, name, params)),
                not_permitted,
                "{name}"
            );
        }
    }
    // Renames and links: within it, out of it into `/`, and from `/` into it.
    for (from, path, to) in [(ro, "data", ro), (ro, "data", root), (root, "inside", ro)] {
        assert_eq!(
            err_code(method(
                &mut host,
                from,
                "rename-at",
                vec![string(path), V::Borrow(to), string("moved")]
            )),
            not_permitted,
            "rename {path}"
        );
        for follow in [0, FOLLOW] {
            assert_eq!(
                err_code(method(
                    &mut host,
                    from,
                    "link-at",
                    vec![
                        V::Flags(vec![follow]),
                        string(path),
                        V::Borrow(to),
                        string("moved")
                    ]
                )),
                not_permitted,
                "link {path}"
            );
        }
    }
    // Through a file opened for reading: no writing (directly or by stream), no size or
    // times; not-permitted rather than bad-descriptor, as Wasmtime's
    // `p2_file_stream_not_permitted` wants.
    let file = ok_own(open_at(&mut host, ro, 0, "data", 0, READ));
    for (name, params) in [
        ("write", vec![V::Bytes(b"owned".to_vec()), V::U64(0)]),
        ("write-via-stream", vec![V::U64(0)]),
        ("append-via-stream", vec![]),
        ("set-size", vec![V::U64(0)]),
        ("set-times", vec![now(), now()]),
    ] {
        assert_eq!(
            err_code(method(&mut host, file, name, params)),
            not_permitted,
            "{name}"
        );
    }
    for dir in [ro, sub] {
        assert_eq!(
            err_code(method(&mut host, dir, "set-times", vec![now(), now()])),
            not_permitted
        );
    }
    assert_eq!(crate::wasi::tests::tree(&ro_path), before);
    assert_eq!(
        crate::wasi::tests::tree(&scratch.0.join("root")),
        root_before
    );
    // The read-write preopen beside it still takes changes, and a file opened there
    // without `write` is still bad-descriptor to write through.
    let inside = ok_own(open_at(&mut host, root, 0, "inside", 0, READ));
    assert_eq!(
        err_code(method(
            &mut host,
            inside,
            "write-via-stream",
            vec![V::U64(0)]
        )),
        code("bad-descriptor")
    );
    assert_eq!(
        unwrap_ok(method(
            &mut host,
            root,
            "create-directory-at",
            vec![string("made")]
        )),
        None
    );
}
