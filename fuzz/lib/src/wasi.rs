//! The `wasi` target: a random sequence of WASI preview 1 calls, with random (often out of
//! bounds) pointers and lengths, random descriptors and paths drawn from a small hostile
//! alphabet (`..`, `/`, absolute paths, symlinks that point out), made into a wasm module
//! whose `_start` performs it, compiled by kiln and run through kiln's real WASI linker
//! against a scratch directory preopened as `kiln run --dir` does.
//!
//! The scratch directory sits in a parent temporary directory beside sentinels (a file
//! holding a secret, a directory, the target of a symlink that points out). Checks: nothing
//! panics and the process survives (a guest trap, an exit or any errno is fine); afterwards
//! every entry of the parent outside the scratch directory is exactly as before (names,
//! kinds, sizes, contents, modes, link counts, modification times, symlink targets); and
//! the secret appears neither in the guest's memory nor in any file of the scratch
//! directory (so nothing was read from outside it).
//!
//! ```text
//! parent/                       (kiln-fuzz-wasi-<pid>-<n> in the temp directory)
//!   sentinel.txt                secret contents
//!   sentinel_dir/inner.txt      secret contents
//!   outside_target.txt          what scratch/out points at
//!   scratch/                    preopened as "/sandbox" (fd 3), recreated per case
//!     a  d/b  up -> ../sentinel.txt  abs -> <parent>/sentinel.txt
//!     out -> ../outside_target.txt  updir -> ../sentinel_dir  loop -> loop
//! ```

use arbitrary::Unstructured;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What one `wasi` case did when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WasiRun {
    /// WASI calls in the generated `_start`.
    pub calls: usize,
    /// Calls that returned errno 0 before the run ended.
    pub succeeded: u32,
    /// How the run ended: `"returned"`, `"exit"`, `"trap"` or `"error"` (a host error that
    /// is not a trap, such as `proc_exit` with a code WASI does not allow).
    pub ended: &'static str,
}

/// The contents of every file outside the scratch directory; a guest that reads one and
/// leaves the bytes in its memory or in a file it writes is caught.
const SECRET: &[u8] = b"kiln-fuzz: outside the sandbox 5f0c2e91";

/// Linear memory layout of the generated module (one 64 KiB page):
/// 0..2048 path strings, 2048..2176 iovecs, 2304..2688 poll subscriptions,
/// 4096.. output buffers, 8192..8704 data to write.
const STRINGS: u32 = 0;
const STRINGS_END: u32 = 2048;
const IOVECS: u32 = 2048;
const N_IOVECS: u32 = 16;
const SUBSCRIPTIONS: u32 = 2304;
const N_SUBSCRIPTIONS: u32 = 8;
const OUTPUT: u32 = 4096;
const DATA: u32 = 8192;
const MEMORY_SIZE: u32 = 65536;

/// One parameter of a WASI function, by what it means (so that most draws are plausible);
/// `Path`, `Buf` and `Iovs` are a pointer and a length (two `i32`s).
#[derive(Clone, Copy)]
enum Arg {
    Fd,
    /// A pointer the call writes its result to.
    Ptr,
    Path,
    Buf,
    Iovs,
    /// A pointer to poll subscriptions, and their count.
    Subs,
    Count,
    /// Flags, enumerations, signals: small values mostly.
    Flags,
    Clock,
    /// An offset, size or delta (`i64`).
    Size,
    /// The length of `fd_allocate`, which ext4 really allocates: at most 1 MiB, or invalid.
    AllocLen,
    Rights,
    Time,
}

use Arg::*;

/// The WASI preview 1 functions kiln implements that return an errno, by parameters.
/// `proc_exit` is drawn separately (it ends the run).
const FUNCTIONS: &[(&str, &[Arg])] = &[
    ("args_sizes_get", &[Ptr, Ptr]),
    ("args_get", &[Ptr, Ptr]),
    ("environ_sizes_get", &[Ptr, Ptr]),
    ("environ_get", &[Ptr, Ptr]),
    ("clock_time_get", &[Clock, Time, Ptr]),
    ("clock_res_get", &[Clock, Ptr]),
    ("fd_read", &[Fd, Iovs, Ptr]),
    ("fd_write", &[Fd, Iovs, Ptr]),
    ("fd_pread", &[Fd, Iovs, Size, Ptr]),
    ("fd_pwrite", &[Fd, Iovs, Size, Ptr]),
    ("fd_seek", &[Fd, Size, Flags, Ptr]),
    ("fd_tell", &[Fd, Ptr]),
    ("fd_close", &[Fd]),
    ("fd_renumber", &[Fd, Fd]),
    ("fd_fdstat_get", &[Fd, Ptr]),
    ("fd_fdstat_set_flags", &[Fd, Flags]),
    ("fd_fdstat_set_rights", &[Fd, Rights, Rights]),
    ("fd_prestat_get", &[Fd, Ptr]),
    ("fd_prestat_dir_name", &[Fd, Buf]),
    ("fd_filestat_get", &[Fd, Ptr]),
    ("fd_filestat_set_size", &[Fd, Size]),
    ("fd_filestat_set_times", &[Fd, Time, Time, Flags]),
    ("fd_advise", &[Fd, Size, Size, Flags]),
    ("fd_allocate", &[Fd, Size, AllocLen]),
    ("fd_sync", &[Fd]),
    ("fd_datasync", &[Fd]),
    ("fd_readdir", &[Fd, Buf, Size, Ptr]),
    (
        "path_open",
        &[Fd, Flags, Path, Flags, Rights, Rights, Flags, Ptr],
    ),
    ("path_create_directory", &[Fd, Path]),
    ("path_remove_directory", &[Fd, Path]),
    ("path_unlink_file", &[Fd, Path]),
    ("path_rename", &[Fd, Path, Fd, Path]),
    ("path_link", &[Fd, Flags, Path, Fd, Path]),
    ("path_symlink", &[Path, Fd, Path]),
    ("path_readlink", &[Fd, Path, Buf, Ptr]),
    ("path_filestat_get", &[Fd, Flags, Path, Ptr]),
    (
        "path_filestat_set_times",
        &[Fd, Flags, Path, Time, Time, Flags],
    ),
    ("poll_oneoff", &[Subs, Ptr, Count, Ptr]),
    ("proc_raise", &[Flags]),
    ("sched_yield", &[]),
    ("random_get", &[Buf]),
    ("sock_accept", &[Fd, Flags, Ptr]),
    ("sock_recv", &[Fd, Iovs, Flags, Ptr, Ptr]),
    ("sock_send", &[Fd, Iovs, Flags, Ptr]),
    ("sock_shutdown", &[Fd, Flags]),
];

/// Path components the generated paths are made of; `{parent}` is the parent directory's
/// absolute host path.
const COMPONENTS: &[&str] = &[
    "a",
    "b",
    "d",
    "new",
    ".",
    "..",
    "",
    "up",
    "abs",
    "out",
    "updir",
    "loop",
    "sentinel.txt",
    "sentinel_dir",
    "scratch",
    "inner.txt",
    "outside_target.txt",
];

/// Whole paths tried as they are, besides the combinations of [`COMPONENTS`].
const PATHS: &[&str] = &[
    "a",
    "d/b",
    "..",
    "/",
    "//",
    "../sentinel.txt",
    "../sentinel_dir/inner.txt",
    "../scratch/a",
    "d/../..",
    "a/..",
    "up/",
    "updir/inner.txt",
    "/etc/passwd",
    "/tmp",
    "/sandbox/a",
    "{parent}/sentinel.txt",
    "{parent}/sentinel_dir",
    "{parent}/scratch/../sentinel.txt",
    "a\0b",
];

fn pick<T: Copy>(u: &mut Unstructured<'_>, items: &[T]) -> T {
    *u.choose(items).unwrap_or(&items[0])
}

/// One of `items`, or (as often as each of them) a random value.
fn special_u32(u: &mut Unstructured<'_>, items: &[u32]) -> u32 {
    match u.choose_index(items.len() + 1) {
        Ok(i) if i < items.len() => items[i],
        Ok(_) => draw_u32(u),
        Err(_) => items[0],
    }
}

/// [`special_u32`] for `u64`.
fn special_u64(u: &mut Unstructured<'_>, items: &[u64]) -> u64 {
    match u.choose_index(items.len() + 1) {
        Ok(i) if i < items.len() => items[i],
        Ok(_) => draw_u64(u),
        Err(_) => items[0],
    }
}

fn draw_u32(u: &mut Unstructured<'_>) -> u32 {
    u.arbitrary().unwrap_or(0)
}

fn draw_u64(u: &mut Unstructured<'_>) -> u64 {
    u.arbitrary().unwrap_or(0)
}

/// A wasm constant argument.
#[derive(Clone, Copy)]
enum Const {
    I32(u32),
    I64(u64),
}

/// The generated program: the memory image and the calls of `_start`.
struct Program {
    strings: Vec<(u32, u32)>,
    image: Vec<u8>,
    calls: Vec<(&'static str, Vec<Const>, bool)>,
}

impl Program {
    fn generate(u: &mut Unstructured<'_>, parent: &Path) -> Program {
        let mut program = Program {
            strings: Vec::new(),
            image: vec![0; OUTPUT as usize],
            calls: Vec::new(),
        };
        program.place_strings(u, parent);
        program.place_iovecs(u);
        program.place_subscriptions(u);
        let n_calls = u.int_in_range(1..=48).unwrap_or(1);
        for _ in 0..n_calls {
            let (name, params) = pick(u, FUNCTIONS);
            let args = params.iter().flat_map(|&arg| program.arg(u, arg)).collect();
            program.calls.push((name, args, true));
        }
        if u.ratio(1, 8).unwrap_or(false) {
            let code = special_u32(u, &[0, 1, 125, 126, 255, 256]);
            program
                .calls
                .push(("proc_exit", vec![Const::I32(code)], false));
        }
        program
    }

    fn place_strings(&mut self, u: &mut Unstructured<'_>, parent: &Path) {
        let parent = parent.to_string_lossy();
        let mut paths: Vec<String> = PATHS
            .iter()
            .map(|p| p.replace("{parent}", &parent))
            .collect();
        for _ in 0..12 {
            let n = u.int_in_range(1..=4).unwrap_or(1);
            let mut path = if u.ratio(1, 8).unwrap_or(false) {
                format!("{parent}/")
            } else {
                String::new()
            };
            for i in 0..n {
                if i > 0 {
                    path.push('/');
                }
                path.push_str(pick(u, COMPONENTS));
            }
            paths.push(path);
        }
        paths.push("x".repeat(300));
        let mut at = STRINGS;
        for path in paths {
            let bytes = path.as_bytes();
            let len = bytes.len() as u32;
            if at + len > STRINGS_END {
                break;
            }
            self.image[at as usize..(at + len) as usize].copy_from_slice(bytes);
            self.strings.push((at, len));
            at += len;
        }
    }

    fn place_iovecs(&mut self, u: &mut Unstructured<'_>) {
        for i in 0..N_IOVECS {
            let (buf, len) = match u.int_in_range(0..=9).unwrap_or(0) {
                0 => (MEMORY_SIZE - 6, 100),
                1 => (draw_u32(u), draw_u32(u)),
                2 => (u32::MAX, 1),
                3 => (DATA, 0),
                _ => (
                    OUTPUT + u.int_in_range(0..=16384).unwrap_or(0),
                    u.int_in_range(0..=4096).unwrap_or(0),
                ),
            };
            let at = (IOVECS + 8 * i) as usize;
            self.image[at..at + 4].copy_from_slice(&buf.to_le_bytes());
            self.image[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        }
    }

    fn place_subscriptions(&mut self, u: &mut Unstructured<'_>) {
        for i in 0..N_SUBSCRIPTIONS {
            let at = (SUBSCRIPTIONS + 48 * i) as usize;
            let sub = &mut self.image[at..at + 48];
            sub[0..8].copy_from_slice(&draw_u64(u).to_le_bytes());
            sub[8] = pick(u, &[0u8, 0, 1, 1, 2, 2, 3, 255]);
            match sub[8] {
                0 => {
                    let id = pick(u, &[0u32, 1, 2, 3, 7]);
                    let timeout = special_u64(u, &[0u64, 1000, 1_000_000_000, u64::MAX]);
                    sub[16..20].copy_from_slice(&id.to_le_bytes());
                    sub[24..32].copy_from_slice(&timeout.to_le_bytes());
                    sub[40..42].copy_from_slice(&pick(u, &[0u16, 1, 2]).to_le_bytes());
                }
                _ => {
                    let fd = special_u32(u, &[0u32, 1, 2, 3, 4, 5]);
                    sub[16..20].copy_from_slice(&fd.to_le_bytes());
                }
            }
        }
    }

    /// The constants of one parameter.
    fn arg(&self, u: &mut Unstructured<'_>, arg: Arg) -> Vec<Const> {
        let ptr = |u: &mut Unstructured<'_>| -> u32 {
            if u.ratio(2, 3).unwrap_or(true) {
                OUTPUT + u.int_in_range(0..=MEMORY_SIZE - OUTPUT - 512).unwrap_or(0)
            } else {
                special_u32(
                    u,
                    &[
                        0,
                        MEMORY_SIZE - 1,
                        MEMORY_SIZE - 3,
                        MEMORY_SIZE - 7,
                        MEMORY_SIZE,
                        u32::MAX,
                        u32::MAX - 3,
                    ],
                )
            }
        };
        let len = |u: &mut Unstructured<'_>| -> u32 {
            special_u32(u, &[0, 1, 8, 64, 256, 4096, MEMORY_SIZE, u32::MAX])
        };
        match arg {
            Fd => vec![Const::I32(special_u32(
                u,
                &[3, 3, 3, 4, 4, 5, 5, 6, 7, 0, 1, 2, 9, 64, u32::MAX],
            ))],
            Ptr => vec![Const::I32(ptr(u))],
            Buf => vec![Const::I32(ptr(u)), Const::I32(len(u))],
            Path => {
                let (at, n) = pick(u, &self.strings);
                let (at, n) = match u.int_in_range(0..=15).unwrap_or(0) {
                    0 => (at, n + 1),
                    1 => (at, u32::MAX),
                    2 => (MEMORY_SIZE - 2, 4),
                    3 => (draw_u32(u), draw_u32(u)),
                    _ => (at, n),
                };
                vec![Const::I32(at), Const::I32(n)]
            }
            Iovs => {
                let first = u.int_in_range(0..=N_IOVECS - 1).unwrap_or(0);
                let at = IOVECS + 8 * first;
                let (at, count) = match u.int_in_range(0..=11).unwrap_or(0) {
                    0 => (at, u32::MAX),
                    1 => (ptr(u), len(u)),
                    2 => (at, N_IOVECS - first + 1),
                    _ => (at, u.int_in_range(0..=N_IOVECS - first).unwrap_or(0)),
                };
                vec![Const::I32(at), Const::I32(count)]
            }
            Subs => vec![Const::I32(special_u32(
                u,
                &[SUBSCRIPTIONS, SUBSCRIPTIONS + 48, MEMORY_SIZE - 40],
            ))],
            Count => vec![Const::I32(special_u32(
                u,
                &[0, 1, 1, 2, 3, N_SUBSCRIPTIONS, u32::MAX],
            ))],
            Flags => vec![Const::I32(if u.ratio(3, 4).unwrap_or(true) {
                u.int_in_range(0..=31).unwrap_or(0)
            } else {
                draw_u32(u)
            })],
            Clock => vec![Const::I32(special_u32(u, &[0, 1, 2, 3, 4]))],
            Size => vec![Const::I64(special_u64(
                u,
                &[
                    0,
                    1,
                    5,
                    4096,
                    1 << 20,
                    1 << 40,
                    i64::MAX as u64,
                    u64::MAX,
                    1 << 63,
                ],
            ))],
            AllocLen => vec![Const::I64(pick(
                u,
                &[0, 1, 4096, 1 << 20, i64::MAX as u64, u64::MAX, 1 << 63],
            ))],
            Rights => vec![Const::I64(special_u64(u, &[u64::MAX, 0]))],
            Time => vec![Const::I64(special_u64(u, &[0, 1, 1_000_000_000, u64::MAX]))],
        }
    }

    fn to_wat(&self) -> String {
        let mut wat = String::from("(module\n");
        let mut imported: Vec<&str> = Vec::new();
        for (name, args, returns) in &self.calls {
            if imported.contains(name) {
                continue;
            }
            imported.push(name);
            let params: Vec<&str> = args
                .iter()
                .map(|a| match a {
                    Const::I32(_) => "i32",
                    Const::I64(_) => "i64",
                })
                .collect();
            let results = if *returns { " (result i32)" } else { "" };
            let _ = writeln!(
                wat,
                "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {}){results}))",
                params.join(" ")
            );
        }
        wat.push_str("  (memory (export \"memory\") 1)\n");
        wat.push_str("  (global $ok (export \"ok\") (mut i32) (i32.const 0))\n");
        wat.push_str("  (func (export \"_start\")\n");
        for (name, args, returns) in &self.calls {
            wat.push_str("   ");
            for arg in args {
                let _ = match arg {
                    Const::I32(v) => write!(wat, " i32.const {}", *v as i32),
                    Const::I64(v) => write!(wat, " i64.const {}", *v as i64),
                };
            }
            let _ = write!(wat, " call ${name}");
            if *returns {
                wat.push_str(" i32.eqz global.get $ok i32.add global.set $ok");
            }
            wat.push('\n');
        }
        wat.push_str("  )\n");
        let mut data = |at: u32, bytes: &[u8]| {
            let _ = write!(wat, "  (data (i32.const {at}) \"");
            for b in bytes {
                let _ = write!(wat, "\\{b:02x}");
            }
            wat.push_str("\")\n");
        };
        data(0, &self.image);
        data(DATA, &b"kiln fuzz data\n".repeat(34));
        wat.push_str(")\n");
        wat
    }
}

/// A parent temporary directory with the scratch directory and the sentinels; removed on
/// drop.
struct Sandbox {
    parent: PathBuf,
}

static SANDBOXES: AtomicU64 = AtomicU64::new(0);

impl Sandbox {
    fn new() -> std::io::Result<Sandbox> {
        let n = SANDBOXES.fetch_add(1, Ordering::Relaxed);
        let parent =
            std::env::temp_dir().join(format!("kiln-fuzz-wasi-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        std::fs::create_dir(&parent)?;
        let sandbox = Sandbox { parent };
        let p = &sandbox.parent;
        std::fs::write(p.join("sentinel.txt"), SECRET)?;
        std::fs::create_dir(p.join("sentinel_dir"))?;
        std::fs::write(p.join("sentinel_dir/inner.txt"), SECRET)?;
        std::fs::write(p.join("outside_target.txt"), SECRET)?;
        let scratch = p.join("scratch");
        std::fs::create_dir(&scratch)?;
        std::fs::write(scratch.join("a"), b"hello from inside\n")?;
        std::fs::create_dir(scratch.join("d"))?;
        std::fs::write(scratch.join("d/b"), b"b\n")?;
        use std::os::unix::fs::symlink;
        symlink("../sentinel.txt", scratch.join("up"))?;
        symlink(p.join("sentinel.txt"), scratch.join("abs"))?;
        symlink("../outside_target.txt", scratch.join("out"))?;
        symlink("../sentinel_dir", scratch.join("updir"))?;
        symlink("loop", scratch.join("loop"))?;
        Ok(sandbox)
    }

    fn scratch(&self) -> PathBuf {
        self.parent.join("scratch")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.parent);
    }
}

/// One entry of the parent directory outside the scratch directory.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    path: PathBuf,
    mode: u32,
    len: u64,
    nlink: u64,
    ino: u64,
    mtime: (i64, i64),
    /// A file's contents or a symlink's target.
    contents: Vec<u8>,
}

/// Everything in `parent` but `parent/scratch`'s contents, sorted by path.
fn snapshot(parent: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut pending = vec![parent.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        let contents = if meta.file_type().is_symlink() {
            std::fs::read_link(&path)?
                .into_os_string()
                .into_encoded_bytes()
        } else if meta.is_file() {
            std::fs::read(&path)?
        } else {
            Vec::new()
        };
        let is_scratch = path == parent.join("scratch");
        if meta.is_dir() && !is_scratch {
            for child in std::fs::read_dir(&path)? {
                pending.push(child?.path());
            }
        }
        entries.push(Entry {
            path,
            mode: meta.mode(),
            len: if is_scratch { 0 } else { meta.len() },
            nlink: if is_scratch { 0 } else { meta.nlink() },
            ino: meta.ino(),
            mtime: if is_scratch {
                (0, 0)
            } else {
                (meta.mtime(), meta.mtime_nsec())
            },
            contents,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// The files under `dir` (not following symlinks) whose contents hold [`SECRET`].
fn files_with_secret(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(children) = std::fs::read_dir(&path) {
                pending.extend(children.filter_map(|c| c.ok()).map(|c| c.path()));
            }
        } else if meta.is_file() && meta.len() < (64 << 20) {
            // Written sparse files can be large; only their start can hold guest data.
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if contains(&bytes, SECRET) {
                found.push(path);
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `wasi` target. `Err` describes a panic, a file changed outside the scratch
/// directory, a secret that reached the guest, or kiln failing to compile or load the
/// generated (valid) module.
pub fn wasi(bytes: &[u8]) -> Result<WasiRun, String> {
    let sandbox = Sandbox::new().map_err(|e| format!("cannot set up the sandbox: {e}"))?;
    let mut u = Unstructured::new(bytes);
    let program = Program::generate(&mut u, &sandbox.parent);
    let wat = program.to_wat();
    let wasm = wat::parse_str(&wat).map_err(|e| format!("generated WAT: {e}\n{wat}"))?;
    let before = snapshot(&sandbox.parent).map_err(|e| format!("snapshot: {e}"))?;
    let outcome = catch_unwind(AssertUnwindSafe(|| run(&wasm, &sandbox.scratch())))
        .map_err(|payload| format!("panic: {}\n{wat}", crate::panic_message(&*payload)))??;
    let after = snapshot(&sandbox.parent).map_err(|e| format!("snapshot after: {e}\n{wat}"))?;
    if before != after {
        let changed: Vec<String> = after
            .iter()
            .filter(|e| !before.contains(e))
            .map(|e| format!("{e:?}"))
            .chain(
                before
                    .iter()
                    .filter(|e| !after.contains(e))
                    .map(|e| format!("gone: {e:?}")),
            )
            .collect();
        return Err(format!(
            "the guest changed the world outside its sandbox: {}\n{wat}",
            changed.join("; ")
        ));
    }
    if outcome.1 {
        return Err(format!("the secret reached the guest's memory\n{wat}"));
    }
    let leaked = files_with_secret(&sandbox.scratch());
    if !leaked.is_empty() {
        return Err(format!(
            "the secret reached files in the sandbox: {leaked:?}\n{wat}"
        ));
    }
    Ok(WasiRun {
        calls: program.calls.len(),
        ..outcome.0
    })
}

/// Compiles and runs the module with `scratch` preopened; returns how it went and whether
/// the secret is in the guest's memory afterwards.
fn run(wasm: &[u8], scratch: &Path) -> Result<(WasiRun, bool), String> {
    use kiln_runtime::{wasi, CallError, Extern, InstantiateError, Linker, Store};
    let object = kiln_compiler::compile(wasm, &crate::compile_options())
        .map_err(|e| format!("kiln fails to compile a valid module: {e}"))?;
    let module = kiln_runtime::load_object(&object, "")
        .map_err(|e| format!("kiln fails to load its own object: {e}"))?;
    let ctx = wasi::WasiCtx::new()
        .args(vec!["fuzz".into(), "arg".into()])
        .env(vec![("KILN_FUZZ".into(), "1".into())])
        .stdio(wasi::Stdio::Null)
        .deterministic()
        .preopen_dir(scratch, "/sandbox")
        .map_err(|e| format!("cannot preopen the scratch directory: {e}"))?;
    let mut store = Store::new();
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut store, ctx);
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e: InstantiateError| format!("instantiation failed: {e}"))?;
    let Some(Extern::Func(start)) = instance.get_export(&store, "_start") else {
        return Err("no _start".into());
    };
    let ended = match start.call(&mut store, &[]) {
        Ok(_) => "returned",
        Err(CallError::Exit(_)) => "exit",
        Err(CallError::Trap(_)) => "trap",
        Err(_) => "error",
    };
    let succeeded = match instance.get_export(&store, "ok") {
        Some(Extern::Global(global)) => match global.get(&store) {
            kiln_runtime::Val::I32(n) => n as u32,
            _ => 0,
        },
        _ => 0,
    };
    let secret_in_memory = match instance.get_export(&store, "memory") {
        Some(Extern::Memory(memory)) => contains(memory.data(&store), SECRET),
        _ => false,
    };
    Ok((
        WasiRun {
            calls: 0,
            succeeded,
            ended,
        },
        secret_in_memory,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks can fail: a touched sentinel, a new link to it, a new entry beside the
    /// scratch directory and a copied secret are all seen.
    #[test]
    fn the_checks_see_escapes() {
        let sandbox = Sandbox::new().unwrap();
        let p = sandbox.parent.clone();
        let before = snapshot(&p).unwrap();
        std::fs::write(sandbox.scratch().join("a"), b"changed inside").unwrap();
        std::fs::create_dir(sandbox.scratch().join("new")).unwrap();
        assert_eq!(
            snapshot(&p).unwrap(),
            before,
            "inside the scratch dir is free"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(p.join("sentinel.txt"), SECRET).unwrap();
        assert_ne!(snapshot(&p).unwrap(), before, "rewritten sentinel");
        let before = snapshot(&p).unwrap();
        std::fs::hard_link(p.join("outside_target.txt"), sandbox.scratch().join("h")).unwrap();
        assert_ne!(snapshot(&p).unwrap(), before, "hard link to a sentinel");
        let before = snapshot(&p).unwrap();
        std::fs::write(p.join("escaped"), b"").unwrap();
        assert_ne!(
            snapshot(&p).unwrap(),
            before,
            "new file beside the scratch dir"
        );
        assert_eq!(
            files_with_secret(&sandbox.scratch()),
            vec![sandbox.scratch().join("h")]
        );
    }

    /// The generated programs run: a fixed input makes a module kiln compiles and runs.
    #[test]
    fn a_program_runs() {
        let run = wasi(&[7; 4096]).unwrap();
        assert!(run.calls >= 1);
    }
}
