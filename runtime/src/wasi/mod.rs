//! WASI preview 1 (`wasi_snapshot_preview1`, and the older `wasi_unstable`) as host
//! functions: all 46 functions of the witx, one file per family:
//! - `args.rs`: `args_*`, `environ_*`;
//! - `clock.rs`: `clock_time_get`, `clock_res_get`;
//! - `fd.rs`: reading, writing, seeking, closing and describing descriptors (`fd_read`,
//!   `fd_write`, `fd_pread`, `fd_pwrite`, `fd_seek`, `fd_tell`, `fd_close`, `fd_renumber`,
//!   `fd_fdstat_*`, `fd_prestat_*`);
//! - `file.rs`: file metadata and directory listing (`fd_filestat_*`, `fd_advise`,
//!   `fd_allocate`, `fd_sync`, `fd_datasync`, `fd_readdir`);
//! - `path.rs`: everything that resolves a path (`path_*`), always beneath a preopened
//!   directory, through `cap-std`;
//! - `poll.rs`: `poll_oneoff` (clocks and descriptor readiness);
//! - `sock.rs`: `sock_*` (preview 1 cannot be granted sockets: `ENOTSOCK`/`EBADF`);
//! - `proc.rs`: `proc_exit`, `proc_raise`, `sched_yield`; `random.rs`: `random_get`.
//!
//! `grants.rs` encodes what `kiln build` bakes into an executable; `network.rs` says what
//! WASI 0.2's sockets may reach. `table.rs` holds the descriptor table, `errno.rs` the witx errno values and the mapping
//! from host errors, `unstable.rs` the layouts in which `wasi_unstable` differs.
//!
//! Sandbox: the guest reaches only what its [`WasiCtx`] grants: the preopened directories
//! (each a `cap_std::fs::Dir`; every path is resolved beneath it by `cap-std`, with
//! `openat2(RESOLVE_BENEATH)` where the kernel has it and a checked component-wise walk
//! elsewhere, so `..`, absolute paths and symlinks cannot leave it), the environment it
//! was given, and stdio.
//!
//! Read-only preopens ([`WasiCtx::preopen_dir_read_only`], Wasmtime's `DirPerms::READ`
//! with `FilePerms::READ`): every descriptor opened beneath one carries `mutate: false`,
//! and each function that would change something beneath it (create, open for writing or
//! truncation, remove, rename or link from or into it, set times, set size, allocate)
//! checks that flag before it asks the host, and refuses with `EPERM` (WASI 0.2:
//! `not-permitted`), as Wasmtime does. A file beneath one is never open for writing on the
//! host, so writes through it fail there (`EBADF`, as in Wasmtime's preview 1).
//!
//! Each WASI function is a plain Rust function with typed parameters (`fd: u32`,
//! `offset: u64`, ...) after the state and the guest memory; its family's `DEFINITIONS`
//! table names it once (`errno_fn!(fd_pread)`), and its wasm signature and the decoding of
//! its arguments both derive from those types (see [`ErrnoFunction`]).
//!
//! Every guest pointer and length is checked against the caller's exported `memory`
//! before anything is read or written: out of bounds is `EFAULT` (21), never a host fault.
//! Errno values, rights and flags are the witx ones.

mod args;
mod clock;
mod errno;
mod fd;
mod file;
mod grants;
mod network;
pub mod p2;
mod path;
mod poll;
mod proc;
mod random;
mod sock;
mod table;
mod unstable;

use crate::vm::interrupt::InterruptState;
use crate::Caller;
use crate::HostError;
use crate::Linker;
use crate::Val;
use crate::{Extern, Func, Store};
use kiln_abi::metadata::{FuncType, ValType};
use kiln_abi::vmctx::ValRaw;
use kiln_abi::TrapCode;
use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use errno::Errno;
pub use grants::{Grants, PreopenError, GRANTS_SYMBOL};
pub use network::{AddressPattern, AddressPatternError, NetworkGrants};

/// The symbol of the table of WASI definitions that `kiln build` links beside a module: a
/// u64 count, then that many pointers to the definitions named by [`import_symbol`].
pub const IMPORTS_SYMBOL: &str = "kiln_wasi_imports";
use table::FdTable;

/// What a guest's stdio descriptors (0, 1, 2) are connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Stdio {
    /// The process's own stdin, stdout and stderr (the default).
    #[default]
    Inherit,
    /// Nothing: reads see end of file, writes are discarded.
    Null,
}

/// A host directory granted to the guest under a guest path.
struct Preopen {
    dir: cap_std::fs::Dir,
    guest_path: String,
    /// Whether the guest may change what is beneath it (false for a read-only preopen).
    mutate: bool,
}

/// What a WASI guest may see of the world: its arguments, its environment, the host
/// directories it was granted and its stdio. Nothing else is reachable.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use kiln_runtime::wasi::WasiCtx;
/// let ctx = WasiCtx::new()
///     .args(vec!["app".into(), "input.txt".into()])
///     .env(vec![("LANG".into(), "C".into())])
///     .preopen_dir("/srv/data", "/data")?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<(String, String)>,
    inherit_env: bool,
    preopens: Vec<Preopen>,
    stdio: Stdio,
    deterministic: bool,
    network: NetworkGrants,
    initial_cwd: Option<String>,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("inherit_env", &self.inherit_env)
            .field(
                "preopens",
                &self
                    .preopens
                    .iter()
                    .map(|preopen| (&preopen.guest_path, preopen.mutate))
                    .collect::<Vec<_>>(),
            )
            .field("stdio", &self.stdio)
            .field("deterministic", &self.deterministic)
            .field("network", &self.network)
            .field("initial_cwd", &self.initial_cwd)
            .finish()
    }
}

/// The variables of this process's environment that are valid UTF-8, for
/// `WasiCtx::inherit_env`. In the runtime of executables this is a part linked on demand
/// (`vm/linked.rs`): `kiln build` links it when it bakes in `--inherit-env`, and `main`
/// refuses to run an executable whose grants inherit the environment without it
/// ([`inherited_env_linked`]).
#[cfg_attr(feature = "exe-main", export_name = "kiln_inherited_env")]
fn inherited_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

#[cfg(not(feature = "exe-main"))]
use inherited_env as process_env;

#[cfg(feature = "exe-main")]
crate::vm::linked::linked_part!(
    kiln_linked_env,
    fn linked_inherited_env() -> Option<fn() -> Vec<(String, String)>>
);

/// [`inherited_env`] if `kiln build` linked it into this executable, else nothing (see
/// [`inherited_env_linked`]).
#[cfg(feature = "exe-main")]
fn process_env() -> Vec<(String, String)> {
    linked_inherited_env().map_or_else(Vec::new, |inherited| inherited())
}

/// Whether this executable can inherit the process's environment (see [`inherited_env`]).
#[cfg(feature = "exe-main")]
pub(crate) fn inherited_env_linked() -> bool {
    linked_inherited_env().is_some()
}

/// Opens the host directory `path` for a preopen. In the runtime of executables this is a
/// part linked on demand (`vm/linked.rs`): `kiln build` links it when it bakes in a `--dir`
/// grant, and only then does an executable carry the code that opens host paths.
///
/// Its errors all have a code or a message, as `error::IoMessage` needs in executables:
/// one without (a bare `ErrorKind`) gets std's description of it as its message, here, so
/// that only this part links those descriptions.
#[cfg_attr(feature = "exe-main", export_name = "kiln_open_preopen")]
fn open_ambient_dir(path: &Path) -> std::io::Result<cap_std::fs::Dir> {
    cap_std::fs::Dir::open_ambient_dir(path, cap_std::ambient_authority()).map_err(|error| {
        if error.raw_os_error().is_some() || error.get_ref().is_some() {
            return error;
        }
        std::io::Error::new(error.kind(), Described(error.to_string()))
    })
}

/// An error's description, as its own message (see [`open_ambient_dir`]). `Debug` writes
/// it as it is: a `String`'s would escape it, with the Unicode tables that takes.
struct Described(String);

impl std::fmt::Display for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Described {}

#[cfg(not(feature = "exe-main"))]
use open_ambient_dir as open_preopen;

#[cfg(feature = "exe-main")]
crate::vm::linked::linked_part!(
    kiln_linked_preopen,
    fn linked_open_preopen() -> Option<fn(&Path) -> std::io::Result<cap_std::fs::Dir>>
);

/// [`open_ambient_dir`] if `kiln build` linked it into this executable, else an error.
#[cfg(feature = "exe-main")]
fn open_preopen(path: &Path) -> std::io::Result<cap_std::fs::Dir> {
    match linked_open_preopen() {
        Some(open) => open(path),
        None => Err(std::io::Error::other(PreopenNotLinked)),
    }
}

/// A preopen in an executable linked without the code that opens directories (not by
/// `kiln build`, which links it whenever it bakes in a `--dir` grant).
#[cfg(feature = "exe-main")]
#[derive(Debug)]
struct PreopenNotLinked;

#[cfg(feature = "exe-main")]
impl std::fmt::Display for PreopenNotLinked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the executable was linked without the code that opens preopened directories")
    }
}

#[cfg(feature = "exe-main")]
impl std::error::Error for PreopenNotLinked {}

impl WasiCtx {
    /// No arguments, no environment variables, no directories, inherited stdio.
    pub fn new() -> WasiCtx {
        WasiCtx::default()
    }

    /// Sets the arguments; the first is the program name.
    pub fn args(mut self, args: Vec<String>) -> WasiCtx {
        self.args = args;
        self
    }

    /// Sets the environment variables given explicitly (they override inherited ones of
    /// the same name).
    pub fn env(mut self, vars: Vec<(String, String)>) -> WasiCtx {
        self.env = vars;
        self
    }

    /// Also gives the guest every environment variable of this process (those that are
    /// valid UTF-8).
    pub fn inherit_env(mut self) -> WasiCtx {
        self.inherit_env = true;
        self
    }

    /// Sets the working directory the guest starts in, a path in the guest's view (for
    /// example `/sandbox`): what WASI 0.2's `wasi:cli/environment.initial-cwd` returns
    /// (none by default, as in Wasmtime). It grants nothing: the guest still reaches only
    /// its preopens, and a guest's libc resolves relative paths against it.
    pub fn initial_cwd(mut self, path: impl Into<String>) -> WasiCtx {
        self.initial_cwd = Some(path.into());
        self
    }

    /// Connects stdio (fds 0, 1, 2) to the process's own, or to nothing.
    pub fn stdio(mut self, stdio: Stdio) -> WasiCtx {
        self.stdio = stdio;
        self
    }

    /// Makes the guest's view of time and randomness deterministic, for benchmarks,
    /// tests and reproducible runs: the four clocks read one virtual time that starts at
    /// 0 and advances 1 µs at each read and by the length of each `poll_oneoff` wait
    /// (which then does not sleep); `random_get` returns a fixed stream (SplitMix64 from
    /// state 0, each call taking the little-endian bytes of successive outputs and
    /// dropping the rest of the last). Two runs with the same arguments, environment,
    /// files and input then see the same values. Never for a guest that needs secrets.
    pub fn deterministic(mut self) -> WasiCtx {
        self.deterministic = true;
        self
    }

    /// Grants the guest the network uses `grants` names (WASI 0.2's `wasi:sockets`; none
    /// by default, see [`NetworkGrants`]).
    pub fn network(mut self, grants: NetworkGrants) -> WasiCtx {
        self.network = grants;
        self
    }

    /// Grants the host directory `host_path` to the guest as the preopened directory
    /// `guest_path` (for example `/`, `.` or `/data`). Preopens get descriptors 3, 4, ...
    /// in the order they are added.
    pub fn preopen_dir(
        self,
        host_path: impl AsRef<Path>,
        guest_path: &str,
    ) -> std::io::Result<WasiCtx> {
        self.push_preopen(host_path.as_ref(), guest_path, true)
    }

    /// Like [`WasiCtx::preopen_dir`], but the guest may only read beneath the directory:
    /// open, read, stat, list and read links. Every change beneath it (creating, writing,
    /// truncating, removing, renaming or linking from or into it, setting times or sizes,
    /// allocating) is refused with `EPERM` in preview 1 and `not-permitted` in WASI 0.2,
    /// as with Wasmtime's `DirPerms::READ` and `FilePerms::READ`; so is opening a file
    /// beneath it for writing. Directories opened beneath it are read-only too.
    pub fn preopen_dir_read_only(
        self,
        host_path: impl AsRef<Path>,
        guest_path: &str,
    ) -> std::io::Result<WasiCtx> {
        self.push_preopen(host_path.as_ref(), guest_path, false)
    }

    fn push_preopen(
        mut self,
        host_path: &Path,
        guest_path: &str,
        mutate: bool,
    ) -> std::io::Result<WasiCtx> {
        let dir = open_preopen(host_path)?;
        self.preopens.push(Preopen {
            dir,
            guest_path: guest_path.to_string(),
            mutate,
        });
        Ok(self)
    }

    /// The environment the guest sees: inherited variables (when asked for) overridden
    /// by explicit ones.
    fn environment(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        if self.inherit_env {
            vars.extend(process_env());
        }
        for (key, value) in &self.env {
            vars.retain(|(existing, _)| existing != key);
            vars.push((key.clone(), value.clone()));
        }
        vars
    }
}

/// The state the WASI functions of one store share.
pub(crate) struct WasiState {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub table: RefCell<FdTable>,
    pub clocks: clock::Clocks,
    pub random: random::Random,
    /// The store's time limit, which calls that block wait for at most.
    pub interrupt: Arc<InterruptState>,
    /// What WASI 0.2's sockets may reach.
    pub network: NetworkGrants,
    /// The guest's initial working directory ([`WasiCtx::initial_cwd`]).
    pub initial_cwd: Option<String>,
}

impl WasiState {
    pub fn new(ctx: WasiCtx, interrupt: Arc<InterruptState>) -> WasiState {
        let env = ctx.environment();
        let table = FdTable::new(ctx.stdio, ctx.preopens.into_iter());
        let (clocks, random) = if ctx.deterministic {
            (
                clock::Clocks::Virtual(Cell::new(0)),
                random::Random::Stream(Cell::new(0)),
            )
        } else {
            (clock::Clocks::Host, random::Random::Host)
        };
        WasiState {
            args: ctx.args,
            env,
            table: RefCell::new(table),
            clocks,
            random,
            interrupt,
            network: ctx.network,
            initial_cwd: ctx.initial_cwd,
        }
    }

    /// How long a call may block before the store's time limit runs out (zero once it
    /// has); `None` without a time limit.
    pub fn time_left(&self) -> Option<Duration> {
        let deadline = self.interrupt.deadline()?;
        Some(deadline.saturating_duration_since(Instant::now()))
    }
}

/// The type-erased implementation of a WASI function that needs the caller itself
/// (`proc_exit`): decodes the arguments and runs the typed function.
pub(crate) type RawFn = fn(&WasiState, &mut Caller<'_>, &[Val]) -> Result<(), HostError>;

/// The type-erased implementation of a WASI function that returns an errno: decodes the
/// arguments and runs the typed function on the guest's memory. The outer error is
/// arguments that do not decode (which stops the guest); the inner one is the errno the
/// guest gets.
pub(crate) type ErrnoFn =
    fn(&WasiState, &mut GuestMemory<'_>, &[Val]) -> Result<Result<(), Errno>, Mismatch>;

/// Arguments that do not match a WASI function's parameters. Nothing more, so that each
/// function's result fits in a register; [`call`] makes it an error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mismatch;

/// How a WASI function runs.
#[derive(Clone, Copy)]
pub(crate) enum Run {
    /// Gets the caller; returns nothing.
    Raw(RawFn),
    /// Gets the guest's memory; returns an errno (an `i32`).
    Errno(ErrnoFn),
}

/// A WASI function: its name, signature and implementation. Written only by [`errno_fn!`]
/// and [`raw_fn!`], which derive the signature from the Rust function's parameter types.
pub(crate) struct Definition {
    pub name: &'static str,
    /// The symbol under which the runtime of executables exports this definition (see
    /// [`import_symbol`]).
    #[cfg_attr(not(feature = "exe-main"), allow(dead_code))]
    pub symbol: &'static str,
    pub params: &'static [ValType],
    pub results: &'static [ValType],
    pub run: Run,
}

// Typed host functions, in the manner of Wasmtime's `Func::wrap`: a WASI function is a
// plain Rust function whose parameters after the state and the memory (or the caller) are
// the wasm parameters, each of a type implementing `WasmParam`. `ErrnoFunction` and
// `RawFunction` are implemented for every such function of 0 to 10 parameters; they give
// the wasm parameter types (`PARAMS`) and decode a `&[Val]` into the Rust arguments, so
// the signature is written once and the decoding cannot disagree with it.

/// A Rust type that stands for a wasm parameter: its wasm type and how a value decodes.
pub(crate) trait WasmParam: Sized {
    /// The wasm type of the parameter.
    const TYPE: ValType;
    /// The value as this type; `None` if it is not of type [`Self::TYPE`].
    fn decode(value: &Val) -> Option<Self>;
}

impl WasmParam for u32 {
    const TYPE: ValType = ValType::I32;
    fn decode(value: &Val) -> Option<u32> {
        match *value {
            Val::I32(value) => Some(value as u32),
            _ => None,
        }
    }
}

impl WasmParam for i32 {
    const TYPE: ValType = ValType::I32;
    fn decode(value: &Val) -> Option<i32> {
        match *value {
            Val::I32(value) => Some(value),
            _ => None,
        }
    }
}

impl WasmParam for u64 {
    const TYPE: ValType = ValType::I64;
    fn decode(value: &Val) -> Option<u64> {
        match *value {
            Val::I64(value) => Some(value as u64),
            _ => None,
        }
    }
}

impl WasmParam for i64 {
    const TYPE: ValType = ValType::I64;
    fn decode(value: &Val) -> Option<i64> {
        match *value {
            Val::I64(value) => Some(value),
            _ => None,
        }
    }
}

/// A function `fn(&WasiState, &mut GuestMemory<'_>, P1, P2, ...) -> Result<(), Errno>`
/// whose wasm parameters are `Params = (P1, P2, ...)`; its wasm result is the errno.
pub(crate) trait ErrnoFunction<Params> {
    /// The wasm parameter types.
    const PARAMS: &'static [ValType];
    /// Decodes `args` and calls the function (see [`ErrnoFn`]).
    fn call(
        &self,
        state: &WasiState,
        memory: &mut GuestMemory<'_>,
        args: &[Val],
    ) -> Result<Result<(), Errno>, Mismatch>;
}

/// A function `fn(&WasiState, &mut Caller<'_>, P1, P2, ...) -> Result<(), HostError>`
/// whose wasm parameters are `Params = (P1, P2, ...)`; it has no wasm results.
pub(crate) trait RawFunction<Params> {
    /// The wasm parameter types.
    const PARAMS: &'static [ValType];
    /// Decodes `args` and calls the function.
    fn call(
        &self,
        state: &WasiState,
        caller: &mut Caller<'_>,
        args: &[Val],
    ) -> Result<(), HostError>;
}

/// Implements [`ErrnoFunction`] and [`RawFunction`] for functions of the given parameters.
/// Every way the arguments can fail to decode (wrong count, wrong type) leads to one error
/// return, so each function's decoding is a few compares (at arity 0 the `()` pattern is
/// irrefutable).
macro_rules! impl_functions {
    ($($param:ident $arg:ident),*) => {
        #[allow(irrefutable_let_patterns)]
        impl<Function, $($param: WasmParam),*> ErrnoFunction<($($param,)*)> for Function
        where
            Function: Fn(&WasiState, &mut GuestMemory<'_>, $($param),*) -> Result<(), Errno>,
        {
            const PARAMS: &'static [ValType] = &[$($param::TYPE),*];
            fn call(
                &self,
                state: &WasiState,
                memory: &mut GuestMemory<'_>,
                args: &[Val],
            ) -> Result<Result<(), Errno>, Mismatch> {
                if let [$($arg),*] = args {
                    if let ($(Some($arg),)*) = ($($param::decode($arg),)*) {
                        return Ok(self(state, memory, $($arg),*));
                    }
                }
                Err(Mismatch)
            }
        }

        #[allow(irrefutable_let_patterns)]
        impl<Function, $($param: WasmParam),*> RawFunction<($($param,)*)> for Function
        where
            Function: Fn(&WasiState, &mut Caller<'_>, $($param),*) -> Result<(), HostError>,
        {
            const PARAMS: &'static [ValType] = &[$($param::TYPE),*];
            fn call(
                &self,
                state: &WasiState,
                caller: &mut Caller<'_>,
                args: &[Val],
            ) -> Result<(), HostError> {
                if let [$($arg),*] = args {
                    if let ($(Some($arg),)*) = ($($param::decode($arg),)*) {
                        return self(state, caller, $($arg),*);
                    }
                }
                Err(mismatch())
            }
        }
    };
}

impl_functions!();
impl_functions!(P1 a1);
impl_functions!(P1 a1, P2 a2);
impl_functions!(P1 a1, P2 a2, P3 a3);
impl_functions!(P1 a1, P2 a2, P3 a3, P4 a4);
impl_functions!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5);
impl_functions!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6);
impl_functions!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7);
impl_functions!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7, P8 a8);
impl_functions!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7, P8 a8, P9 a9);
impl_functions!(P1 a1, P2 a2, P3 a3, P4 a4, P5 a5, P6 a6, P7 a7, P8 a8, P9 a9, P10 a10);

/// The error for arguments that do not match a WASI function's parameters. The runtime
/// checks a guest's import against the function's type, so only a host calling the
/// function by hand with wrong values gets here. A fixed message: this is linked into
/// every executable, and listing the types would cost more code than all the decoding
/// (the caller knows which function it called).
#[cold]
#[inline(never)]
fn mismatch() -> HostError {
    HostError::Message("wasi: the arguments do not match the function's parameter types".into())
}

/// The wasm parameter types of `function` (for [`errno_fn!`], in constants).
pub(crate) const fn errno_params<Params, Function: ErrnoFunction<Params>>(
    _: &Function,
) -> &'static [ValType] {
    Function::PARAMS
}

/// The wasm parameter types of `function` (for [`raw_fn!`], in constants).
pub(crate) const fn raw_params<Params, Function: RawFunction<Params>>(
    _: &Function,
) -> &'static [ValType] {
    Function::PARAMS
}

/// The [`Definition`] of the errno-returning WASI function `$function` (a Rust function
/// of the same name, see [`ErrnoFunction`]), as a reference to a static of its own. In the
/// runtime of executables (feature `exe-main`) that static is exported as
/// `kiln_wasi_<prefix><function>` and nothing else refers to it: `kiln build` links only
/// the functions the module imports (see [`import_symbol`]).
#[rustfmt::skip] // rustfmt indents the attribute further on every run
macro_rules! errno_fn {
    ($function:ident) => {
        $crate::wasi::errno_fn!($function, "")
    };
    ($function:ident, $prefix:literal) => {{
        #[cfg_attr(
            feature = "exe-main",
            export_name = concat!("kiln_wasi_", $prefix, stringify!($function))
        )]
        static DEFINITION: $crate::wasi::Definition = $crate::wasi::Definition {
            name: stringify!($function),
            symbol: concat!("kiln_wasi_", $prefix, stringify!($function)),
            params: $crate::wasi::errno_params(&$function),
            results: &[kiln_abi::metadata::ValType::I32],
            run: $crate::wasi::Run::Errno(|state, memory, args| {
                $crate::wasi::ErrnoFunction::call(&$function, state, memory, args)
            }),
        };
        &DEFINITION
    }};
}
pub(crate) use errno_fn;

/// The [`Definition`] of the WASI function `$function` that needs the caller itself (a
/// Rust function of the same name, see [`RawFunction`]); a static as for [`errno_fn!`].
#[rustfmt::skip] // as errno_fn!
macro_rules! raw_fn {
    ($function:ident) => {{
        #[cfg_attr(
            feature = "exe-main",
            export_name = concat!("kiln_wasi_", stringify!($function))
        )]
        static DEFINITION: $crate::wasi::Definition = $crate::wasi::Definition {
            name: stringify!($function),
            symbol: concat!("kiln_wasi_", stringify!($function)),
            params: $crate::wasi::raw_params(&$function),
            results: &[],
            run: $crate::wasi::Run::Raw(|state, caller, args| {
                $crate::wasi::RawFunction::call(&$function, state, caller, args)
            }),
        };
        &DEFINITION
    }};
}
pub(crate) use raw_fn;

/// Every preview 1 function as `wasi_snapshot_preview1` defines it.
pub(crate) fn preview1() -> impl Iterator<Item = &'static Definition> {
    fd::DEFINITIONS
        .iter()
        .chain(file::DEFINITIONS)
        .chain(path::DEFINITIONS)
        .chain(poll::DEFINITIONS)
        .chain(sock::DEFINITIONS)
        .chain(proc::DEFINITIONS)
        .chain(args::DEFINITIONS)
        .chain(clock::DEFINITIONS)
        .chain(random::DEFINITIONS)
        .copied()
}

/// The functions of `wasi_unstable`: preview 1's, except those whose layouts differ.
pub(crate) fn unstable() -> impl Iterator<Item = &'static Definition> {
    preview1()
        .filter(|definition| !unstable::NAMES.contains(&definition.name))
        .chain(unstable::DEFINITIONS.iter().copied())
}

/// The symbol of the definition that serves the import `module`.`name` in an executable's
/// runtime (`kiln_wasi_fd_write`; `kiln_wasi_unstable_fd_seek` for the functions whose
/// `wasi_unstable` layouts differ), or `None` when `module` is not a WASI module. Worked
/// out from the names alone: `kiln build` links the symbols of a module's WASI imports
/// beside it (`kiln_wasi_imports`), so the executable's runtime holds no other WASI
/// function. Whether the function exists is checked when the module is instantiated.
pub fn import_symbol(module: &str, name: &str) -> Option<String> {
    if module == MODULE_NAMES[1] && unstable::NAMES.contains(&name) {
        Some(format!("kiln_wasi_unstable_{name}"))
    } else if MODULE_NAMES.contains(&module) {
        Some(format!("kiln_wasi_{name}"))
    } else {
        None
    }
}

/// The module names WASI preview 1 is imported under (defined once, in `kiln-abi`).
pub use kiln_abi::WASI_MODULE_NAMES as MODULE_NAMES;

/// Makes writes to a closed pipe fail with `EPIPE` (which the guest gets as an errno)
/// instead of killing the process with `SIGPIPE`. Process-wide, done once.
fn ignore_sigpipe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: setting a signal's disposition to "ignore" installs no handler code.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    });
}

/// Defines every preview 1 function in `linker` under both module names, as host
/// functions of `store` sharing `ctx`. Also makes the process ignore `SIGPIPE`.
pub fn add_to_linker(linker: &mut Linker, store: &mut Store, ctx: WasiCtx) {
    add_to_linker_filtered(linker, store, ctx, |_, _| true);
}

/// Like [`add_to_linker`], for the functions `module` imports only: a command's start-up
/// then builds a handful of host functions instead of all of both WASI modules.
pub fn add_imports_to_linker(
    linker: &mut Linker,
    store: &mut Store,
    ctx: WasiCtx,
    module: &crate::Module,
) {
    let imports = &module.metadata().imports;
    add_to_linker_filtered(linker, store, ctx, |module, name| {
        imports
            .iter()
            .any(|import| import.module == module && import.name == name)
    });
}

fn add_to_linker_filtered(
    linker: &mut Linker,
    store: &mut Store,
    ctx: WasiCtx,
    wanted: impl Fn(&str, &str) -> bool,
) {
    let definitions = preview1()
        .map(|definition| (MODULE_NAMES[0], definition))
        .chain(unstable().map(|definition| (MODULE_NAMES[1], definition)))
        .filter(|(module, definition)| wanted(module, definition.name));
    add_definitions(linker, store, ctx, definitions);
}

/// Like [`add_imports_to_linker`], for an executable whose WASI functions were linked
/// beside the module as `definitions` (see [`import_symbol`]): each import of `module`
/// is defined by the linked definition of its symbol.
#[cfg(feature = "exe-main")]
pub(crate) fn add_linked_to_linker(
    linker: &mut Linker,
    store: &mut Store,
    ctx: WasiCtx,
    module: &crate::Module,
    definitions: &[&'static Definition],
) {
    let imports = module.metadata().imports.iter().filter_map(|import| {
        let symbol = import_symbol(import.module, import.name)?;
        let definition = definitions.iter().find(|d| d.symbol == symbol)?;
        let module = MODULE_NAMES.iter().find(|m| **m == import.module)?;
        Some((*module, *definition))
    });
    add_definitions(linker, store, ctx, imports);
}

/// Defines each (module, definition) pair in `linker` as a host function of `store`
/// sharing `ctx`. Also makes the process ignore `SIGPIPE`.
fn add_definitions(
    linker: &mut Linker,
    store: &mut Store,
    ctx: WasiCtx,
    definitions: impl Iterator<Item = (&'static str, &'static Definition)>,
) {
    ignore_sigpipe();
    let state = Rc::new(WasiState::new(ctx, store.interrupt_state()));
    for (module, definition) in definitions {
        let ty = FuncType {
            params: definition.params.to_vec(),
            results: definition.results.to_vec(),
        };
        let state = state.clone();
        let func = Func::new_host_raw(store, ty, move |caller, values| {
            call_raw(definition, &state, caller, values)
        });
        linker.define(module, definition.name, Extern::Func(func));
    }
}

/// The most parameters a WASI function has (`impl_functions!` goes up to 10).
const MAX_PARAMS: usize = 10;

/// Runs the WASI function `definition` on a host call's value array: the arguments
/// decoded into `Val`s on the stack, the errno (if the function has one) written over the
/// first. Nothing is allocated: a guest reading a file in small pieces makes hundreds of
/// thousands of these calls.
fn call_raw(
    definition: &Definition,
    state: &WasiState,
    caller: &mut Caller<'_>,
    values: &mut [ValRaw],
) -> Result<(), HostError> {
    let mut args = [Val::I32(0); MAX_PARAMS];
    let args = args
        .get_mut(..definition.params.len())
        .ok_or_else(mismatch)?;
    for ((arg, &ty), raw) in args.iter_mut().zip(definition.params).zip(values.iter()) {
        *arg = match ty {
            ValType::I32 => Val::I32(raw.u32() as i32),
            ValType::I64 => Val::I64(raw.u64() as i64),
            _ => return Err(mismatch()),
        };
    }
    if let Some(errno) = call(definition.run, state, caller, args)? {
        // The host call's array holds at least one value when the function has a result.
        *values.first_mut().ok_or_else(mismatch)? = ValRaw::from_u64(u64::from(errno as u32));
    }
    Ok(())
}

/// Runs one WASI function for `caller`; returns its errno, `None` for a function without
/// a result (`proc_exit`). Not inlined: one copy serves every host function.
#[inline(never)]
pub(crate) fn call(
    run: Run,
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Option<i32>, HostError> {
    match run {
        Run::Raw(run) => run(state, caller, args).map(|()| None),
        Run::Errno(run) => {
            let mut memory = memory(caller)?;
            let errno = match run(state, &mut memory, args) {
                Ok(Ok(())) => 0,
                // A call that blocked until the store's time limit ran out.
                Ok(Err(Errno::INTR)) if state.time_left() == Some(Duration::ZERO) => {
                    return Err(HostError::Trap(TrapCode::TimeLimit))
                }
                Ok(Err(errno)) => errno.0,
                Err(Mismatch) => return Err(mismatch()),
            };
            Ok(Some(errno.into()))
        }
    }
}

/// The caller's memory, or an error stopping a guest that exports none.
pub(crate) fn memory<'a>(caller: &'a mut Caller<'_>) -> Result<GuestMemory<'a>, HostError> {
    caller.memory().map(GuestMemory).ok_or_else(|| {
        HostError::Message("wasi: the calling module does not export `memory`".into())
    })
}

/// A guest's memory with bounds-checked access; every failure is `EFAULT`.
pub(crate) struct GuestMemory<'a>(pub &'a mut [u8]);

impl GuestMemory<'_> {
    /// The range `[pointer, pointer + len)`.
    fn range(&self, pointer: u32, len: u32) -> Result<std::ops::Range<usize>, Errno> {
        let start = pointer as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::FAULT)?;
        if end > self.0.len() {
            return Err(Errno::FAULT);
        }
        Ok(start..end)
    }

    /// Checks that `len` bytes at `pointer` are in bounds.
    pub fn check(&self, pointer: u32, len: u32) -> Result<(), Errno> {
        self.range(pointer, len).map(drop)
    }

    /// Checks that `count` items of `size` bytes at `pointer` are in bounds.
    pub fn check_array(&self, pointer: u32, count: u32, size: u32) -> Result<(), Errno> {
        let len = count.checked_mul(size).ok_or(Errno::FAULT)?;
        self.check(pointer, len)
    }

    pub fn slice(&self, pointer: u32, len: u32) -> Result<&[u8], Errno> {
        Ok(&self.0[self.range(pointer, len)?])
    }

    pub fn slice_mut(&mut self, pointer: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(pointer, len)?;
        Ok(&mut self.0[range])
    }

    /// A guest string (UTF-8, `EILSEQ` otherwise).
    pub fn string(&self, pointer: u32, len: u32) -> Result<&str, Errno> {
        std::str::from_utf8(self.slice(pointer, len)?).map_err(|_| Errno::ILSEQ)
    }

    pub fn read_u16(&self, pointer: u32) -> Result<u16, Errno> {
        let bytes = self.slice(pointer, 2)?;
        Ok(u16::from_le_bytes(bytes.try_into().expect("2 bytes")))
    }

    pub fn read_u32(&self, pointer: u32) -> Result<u32, Errno> {
        let bytes = self.slice(pointer, 4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub fn read_u64(&self, pointer: u32) -> Result<u64, Errno> {
        let bytes = self.slice(pointer, 8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    pub fn write_bytes(&mut self, pointer: u32, bytes: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::FAULT)?;
        self.slice_mut(pointer, len)?.copy_from_slice(bytes);
        Ok(())
    }

    pub fn write_u32(&mut self, pointer: u32, value: u32) -> Result<(), Errno> {
        self.write_bytes(pointer, &value.to_le_bytes())
    }

    pub fn write_u64(&mut self, pointer: u32, value: u64) -> Result<(), Errno> {
        self.write_bytes(pointer, &value.to_le_bytes())
    }

    /// Buffer `index` of the guest's iovec array at `pointer` as `(buf, buf_len)`,
    /// checked to be in bounds (the array itself too).
    fn iovec(&self, pointer: u32, index: u32) -> Result<(u32, u32), Errno> {
        let entry = index
            .checked_mul(8)
            .and_then(|offset| pointer.checked_add(offset))
            .ok_or(Errno::FAULT)?;
        let (buf, len) = (
            self.read_u32(entry)?,
            self.read_u32(entry.saturating_add(4))?,
        );
        self.check(buf, len)?;
        Ok((buf, len))
    }

    /// Checks that the iovec array at `pointer` and every buffer it names are in bounds.
    pub fn check_iovecs(&self, pointer: u32, count: u32) -> Result<(), Errno> {
        self.check_array(pointer, count, 8)?;
        (0..count).try_for_each(|index| self.iovec(pointer, index).map(drop))
    }

    /// The guest's iovec array at `pointer` as host iovecs into this memory, for one
    /// `readv`/`writev`: empty buffers left out, at most `UIO_MAXIOV` of them (the host
    /// then transfers a prefix, which the guest sees as a short read or write). The buffers
    /// may overlap: only the kernel goes through these pointers, while `self` is borrowed.
    /// Every buffer is checked, also those past the `UIO_MAXIOV` the host gets.
    pub fn host_iovecs(&mut self, pointer: u32, count: u32) -> Result<HostIovecs, Errno> {
        self.check_array(pointer, count, 8)?;
        let base = self.0.as_mut_ptr();
        let mut iovecs = HostIovecs::default();
        for index in 0..count {
            let (buf, len) = self.iovec(pointer, index)?;
            if len > 0 && iovecs.len() < libc::UIO_MAXIOV as usize {
                iovecs.push(libc::iovec {
                    // SAFETY: `iovec` checked that `buf + len` is within the memory.
                    iov_base: unsafe { base.add(buf as usize) }.cast(),
                    iov_len: len as usize,
                });
            }
        }
        Ok(iovecs)
    }
}

/// The most host iovecs [`HostIovecs`] keeps on the stack: a guest's read or write names
/// one or two buffers almost always.
const INLINE_IOVECS: usize = 8;

/// Host iovecs for one `readv`/`writev` ([`GuestMemory::host_iovecs`]): up to
/// [`INLINE_IOVECS`] on the stack, more in a `Vec`, so that the common call allocates
/// nothing.
pub(crate) struct HostIovecs {
    inline: [libc::iovec; INLINE_IOVECS],
    inline_len: usize,
    /// Every iovec once there are more than [`INLINE_IOVECS`]; empty until then.
    heap: Vec<libc::iovec>,
}

impl Default for HostIovecs {
    fn default() -> HostIovecs {
        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        HostIovecs {
            inline: [empty; INLINE_IOVECS],
            inline_len: 0,
            heap: Vec::new(),
        }
    }
}

impl HostIovecs {
    fn push(&mut self, iovec: libc::iovec) {
        if self.heap.is_empty() && self.inline_len < INLINE_IOVECS {
            self.inline[self.inline_len] = iovec;
            self.inline_len += 1;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(iovec);
        }
    }
}

impl std::ops::Deref for HostIovecs {
    type Target = [libc::iovec];
    fn deref(&self) -> &[libc::iovec] {
        if self.heap.is_empty() {
            &self.inline[..self.inline_len]
        } else {
            &self.heap
        }
    }
}

impl std::ops::DerefMut for HostIovecs {
    fn deref_mut(&mut self) -> &mut [libc::iovec] {
        if self.heap.is_empty() {
            &mut self.inline[..self.inline_len]
        } else {
            &mut self.heap
        }
    }
}

#[cfg(test)]
mod tests;
