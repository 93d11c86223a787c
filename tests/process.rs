//! How the corpus harnesses (`corpora.rs`, `wasi_testsuite.rs`) run programs through kiln
//! the way a user would: where the `kiln` binary is, the grant flags that `kiln run` and
//! `kiln build` share, the command of each mode, and running a child to completion or a timeout with its stdout and
//! stderr drained on threads (so that a chatty program cannot fill a pipe and hang).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `kiln` binary: `$KILN`, else the one `cargo test` builds beside the calling test
/// (`target/<profile>/kiln`).
pub fn kiln_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("KILN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?;
    let kiln = profile_dir.join("kiln");
    if kiln.exists() {
        Ok(kiln)
    } else {
        Err(format!(
            "{} does not exist: build it (cargo build -p kiln, with the same profile) or set $KILN",
            kiln.display()
        ))
    }
}

/// The grant flags, the same for `kiln run` and `kiln build`: `--env NAME=VALUE` for each
/// of `env`, then `--dir HOST::GUEST` for each `(host, guest)` of `dirs`.
pub fn grant_flags(env: &[(String, String)], dirs: &[(PathBuf, String)]) -> Vec<String> {
    let env = env
        .iter()
        .flat_map(|(name, value)| ["--env".to_string(), format!("{name}={value}")]);
    let dirs = dirs
        .iter()
        .flat_map(|(host, guest)| ["--dir".to_string(), format!("{}::{guest}", host.display())]);
    env.chain(dirs).collect()
}

/// The command that runs the module `wasm` with the guest arguments `args` in `mode`:
/// `"run"` is `kiln run GRANTS WASM ARGS`, `"run-inline"` the same with `--inline` (calls
/// inlined across the module); any other mode builds first, `kiln build WASM -o
/// EXE GRANTS` (`"build-native"` with `--target-features native`; an `exe` left from an
/// earlier run is removed; a failed build is an error with its stderr), and runs `EXE ARGS`. kiln's compile cache is `cache` in both.
#[allow(clippy::too_many_arguments)]
pub fn kiln_command(
    kiln: &Path,
    mode: &str,
    wasm: &Path,
    grants: &[String],
    args: &[String],
    exe: &Path,
    cache: &Path,
    timeout: Duration,
) -> Result<Command, String> {
    if mode == "run" || mode == "run-inline" {
        let mut command = Command::new(kiln);
        command
            .arg("run")
            .args((mode == "run-inline").then_some("--inline"))
            .args(grants)
            .arg(wasm)
            .args(args)
            .env("KILN_CACHE_DIR", cache);
        return Ok(command);
    }
    if let Some(folder) = exe.parent() {
        std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    }
    if exe.exists() {
        std::fs::remove_file(exe).map_err(|e| format!("{}: {e}", exe.display()))?;
    }
    let mut build = Command::new(kiln);
    build
        .arg("build")
        .args(
            (mode == "build-native")
                .then_some(["--target-features", "native"])
                .into_iter()
                .flatten(),
        )
        .arg(wasm)
        .arg("-o")
        .arg(exe)
        .args(grants)
        .env("KILN_CACHE_DIR", cache);
    let (code, _, stderr) = run(build, None, timeout)?;
    if code != 0 {
        let stderr = String::from_utf8_lossy(&stderr);
        return Err(format!("kiln build failed ({code}): {}", stderr.trim()));
    }
    let mut command = Command::new(exe);
    command.args(args).env("KILN_CACHE_DIR", cache);
    Ok(command)
}

/// Runs `command` with stdin from the file `stdin` (else empty) to completion or until
/// `timeout`; returns (exit code, stdout, stderr). A timeout and a death by signal are
/// errors.
pub fn run(
    mut command: Command,
    stdin: Option<&Path>,
    timeout: Duration,
) -> Result<(i32, Vec<u8>, Vec<u8>), String> {
    let stdin = match stdin {
        Some(path) => {
            Stdio::from(std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Stdio::null(),
    };
    let mut child = command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).ok();
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut bytes).ok();
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let code = match status.code() {
        Some(code) => code,
        None => {
            use std::os::unix::process::ExitStatusExt;
            return Err(format!("killed by signal {:?}", status.signal()));
        }
    };
    Ok((code, out.join().unwrap(), err.join().unwrap()))
}
