//! WASI 0.2 sockets through the `kiln` command: `tests/programs/rust/src/bin/tcp_echo.rs`
//! (built for wasm32-wasip2) listens on loopback, connects to itself and echoes a line
//! through `std::net`. With the network grants it needs it echoes, under `kiln run` and as
//! a `kiln build` executable with the grants baked in; without them it fails cleanly,
//! `bind` refused with `PermissionDenied` (WASI's `access-denied`), never a trap. A
//! malformed grant is an error naming its flag.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::{build_rust_components, path_str, run, run_kiln, scratch_dir, target_dir, Output};

/// The echo program as a component, built once.
fn tcp_echo() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let built = build_rust_components(&target_dir().join("e2e-programs"), &["tcp_echo"])?;
            Ok(built["tcp_echo"].clone())
        })
        .as_ref()
        .unwrap_or_else(|error| panic!("{error}"))
}

/// The grants the echo program needs: listen on, and connect to, loopback on any port.
const LOOPBACK_GRANTS: &[&str] = &[
    "--allow-tcp-listen",
    "127.0.0.1:0",
    "--allow-tcp-connect",
    "127.0.0.1:0",
];

const ECHOED: &str = "echoed: hello over loopback\n";

fn kiln_run(grants: &[&str]) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(grants);
    args.push(path_str(tcp_echo()));
    run_kiln(&args, b"")
}

/// Builds the echo program into an executable with `grants` baked in.
fn executable(name: &str, grants: &[&str]) -> PathBuf {
    let executable = scratch_dir(&format!("sockets-{name}")).join("tcp_echo");
    let mut args = vec!["build", path_str(tcp_echo())];
    args.extend_from_slice(grants);
    args.extend(["-o", path_str(&executable)]);
    let output = run_kiln(&args, b"");
    assert_eq!(output.code, Some(0), "{}", output.describe());
    executable
}

#[track_caller]
fn assert_echoed(output: &Output) {
    assert_eq!(output.code, Some(0), "{}", output.describe());
    assert_eq!(output.stdout, ECHOED, "{}", output.describe());
    assert_eq!(output.stderr, "", "{}", output.describe());
}

/// The program reported that `step` was refused and exited (1: WASI 0.2's `exit` takes a
/// `result`), with no trap and no panic.
#[track_caller]
fn assert_denied(output: &Output, step: &str) {
    assert_eq!(output.code, Some(1), "{}", output.describe());
    assert_eq!(output.stdout, "", "{}", output.describe());
    assert_eq!(
        output.stderr,
        format!("{step}: PermissionDenied\n"),
        "{}",
        output.describe()
    );
}

#[test]
fn kiln_run_echoes_over_loopback_with_the_grants() {
    assert_echoed(&kiln_run(LOOPBACK_GRANTS));
    assert_echoed(&kiln_run(&["--inherit-network"]));
    // A network around loopback grants it too.
    assert_echoed(&kiln_run(&[
        "--allow-tcp-listen",
        "127.0.0.0/8:0",
        "--allow-tcp-connect",
        "127.0.0.0/8:0",
    ]));
}

#[test]
fn kiln_run_without_the_grants_fails_cleanly() {
    assert_denied(&kiln_run(&[]), "bind");
    // Name lookup and UDP grants give no TCP.
    assert_denied(
        &kiln_run(&["--allow-ip-name-lookup", "--allow-udp", "127.0.0.1:0"]),
        "bind",
    );
    // Listening granted, connecting not: the connect is refused.
    assert_denied(&kiln_run(&["--allow-tcp-listen", "127.0.0.1:0"]), "connect");
    // Connecting granted to another port only.
    assert_denied(
        &kiln_run(&[
            "--allow-tcp-listen",
            "127.0.0.1:0",
            "--allow-tcp-connect",
            "127.0.0.1:9",
        ]),
        "connect",
    );
    // Listening on another address only.
    assert_denied(
        &kiln_run(&[
            "--allow-tcp-listen",
            "127.0.0.2:0",
            "--allow-tcp-connect",
            "127.0.0.1:0",
        ]),
        "bind",
    );
}

#[test]
fn executables_run_with_the_grants_baked_in() {
    let granted = executable("granted", LOOPBACK_GRANTS);
    assert_echoed(&run(&mut Command::new(&granted), b""));
    let denied = executable("denied", &[]);
    assert_denied(&run(&mut Command::new(&denied), b""), "bind");
}

#[test]
fn malformed_grants_are_errors_naming_the_flag() {
    for (flag, value, why) in [
        ("--allow-tcp-listen", "127.0.0.1", "no :PORT"),
        (
            "--allow-tcp-connect",
            "localhost:80",
            "`localhost` is not an IP address",
        ),
        ("--allow-udp", "::1:53", "an IPv6 address goes in brackets"),
        ("--allow-udp", "10.0.0.0/40:53", "prefix length `40`"),
        ("--allow-tcp-connect", "127.0.0.1:99999", "the port `99999`"),
    ] {
        let output = kiln_run(&[flag, value]);
        assert_eq!(output.code, Some(1), "{}", output.describe());
        assert!(
            output.stderr.contains(&format!("{flag} `{value}`")) && output.stderr.contains(why),
            "{flag} {value}: {}",
            output.describe()
        );
        assert!(!output.stderr.contains("panicked"), "{}", output.describe());
    }
}
