//! WASI 0.2 (preview 2) as a [`ComponentHost`]: [`WasiP2`] implements the interfaces of
//! the `wasi:cli/command` world over the same sandbox as preview 1 (a [`WasiCtx`]: its
//! arguments, environment, preopened `cap-std` directories, stdio, deterministic clocks
//! and randomness). One file per family:
//! - `cli.rs`: `wasi:cli` environment, exit, stdin/stdout/stderr, terminal-*;
//! - `io.rs`: `wasi:io` error, poll and streams;
//! - `clocks.rs`: `wasi:clocks` monotonic-clock and wall-clock;
//! - `random.rs`: `wasi:random` random, insecure, insecure-seed;
//! - `filesystem.rs`: `wasi:filesystem` types and preopens;
//! - `network.rs`: `wasi:sockets` network, instance-network, ip-name-lookup, and what
//!   the socket families share; `tcp.rs`: tcp and tcp-create-socket; `udp.rs`: udp and
//!   udp-create-socket. Denied unless the context's
//!   [`NetworkGrants`](super::NetworkGrants) allow;
//! - `resources.rs`: the host's resources (streams, pollables, descriptors...) by
//!   representation, with the parent/child rule;
//! - `values.rs`: decoding of lifted arguments and building of results.
//!
//! Each function is a Rust function `fn(&mut WasiP2, Args) -> Result<Vec<ComponentVal>,
//! HostCallError>` that its family's `FUNCTIONS` table names once, with its interface and
//! WIT name (`host_fn!`): a static of its own, exported from executables' runtime as
//! `kiln_wasip2_<function>` and referred to by nothing but that table, so that an
//! executable can link the functions its component imports and no others.
//!
//! Versions match as in Wasmtime: any `0.2.x` import binds to these implementations
//! (which follow the 0.2 WIT, identical across patch releases for what they implement);
//! other versions and unversioned names do not.

mod cli;
mod clocks;
mod filesystem;
mod io;
mod network;
mod random;
mod resources;
mod tcp;
mod udp;
mod values;

use super::{WasiCtx, WasiState};
use crate::component::{ComponentHost, ComponentVal, HostCallError};
use crate::vm::interrupt::InterruptState;
use kiln_abi::component::ImportName;
use resources::{Resource, ResourceKind, Resources};
use std::cell::RefCell;
use std::sync::Arc;
use values::Args;

/// What a host function returns: its results (at most one), or why it did not return.
type HostResult = Result<Vec<ComponentVal>, HostCallError>;

/// A WASI 0.2 host function: where it is, what it is called, how it runs.
pub(crate) struct HostFunction {
    /// Its interface without version: `wasi:cli/stdout`.
    pub interface: &'static str,
    /// Its name in the interface, as the component model spells it:
    /// `[method]output-stream.write`.
    pub name: &'static str,
    /// The symbol under which executables' runtime exports it: `kiln build` links the
    /// ones a component imports (see [`import_symbol`]).
    pub symbol: &'static str,
    pub run: fn(&mut WasiP2, Args) -> HostResult,
}

/// The [`HostFunction`] `$function` (a Rust function of this file's shape) implementing
/// `$name` of `$interface`, as a reference to a static of its own; in executables' runtime
/// (feature `exe-main`) exported as `kiln_wasip2_<function>`.
#[rustfmt::skip] // as errno_fn!
macro_rules! host_fn {
    ($interface:literal, $name:literal, $function:ident) => {{
        #[cfg_attr(
            feature = "exe-main",
            export_name = concat!("kiln_wasip2_", stringify!($function))
        )]
        static FUNCTION: $crate::wasi::p2::HostFunction = $crate::wasi::p2::HostFunction {
            interface: $interface,
            name: $name,
            symbol: concat!("kiln_wasip2_", stringify!($function)),
            run: $function,
        };
        &FUNCTION
    }};
}
pub(crate) use host_fn;

/// The functions a [`WasiP2`] resolves imports among: all of them (`kiln run`, embedders),
/// or in an executable only those `kiln build` linked, so that the others are left out.
pub(crate) type Catalog = &'static [&'static HostFunction];

/// Every WASI 0.2 function kiln implements, as a [`Catalog`].
pub(crate) fn all_functions() -> Catalog {
    static ALL: std::sync::OnceLock<Vec<&'static HostFunction>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| functions().collect())
}

/// The symbol of the WASI 0.2 function that implements `name` (`kiln_wasip2_<fn>`, see
/// `host_fn!`), if kiln implements it: what `kiln build` links for a component's import.
pub fn import_symbol(name: &ImportName) -> Option<&'static str> {
    if !version_matches(name.version.as_deref()) {
        return None;
    }
    let function = functions()
        .find(|function| function.interface == name.interface && function.name == name.function)?;
    Some(function.symbol)
}

/// Every WASI 0.2 function kiln implements, family by family.
pub(crate) fn functions() -> impl Iterator<Item = &'static HostFunction> {
    cli::FUNCTIONS
        .iter()
        .chain(io::FUNCTIONS)
        .chain(clocks::FUNCTIONS)
        .chain(random::FUNCTIONS)
        .chain(filesystem::FUNCTIONS)
        .chain(network::FUNCTIONS)
        .chain(tcp::FUNCTIONS)
        .chain(udp::FUNCTIONS)
        .copied()
}

/// Whether an import's version is one these implementations serve: `0.2.x`, as Wasmtime
/// matches semver-compatible versions (for `0.y` versions, the same `y`). Pre-releases
/// and build metadata do not match, nor does a missing version.
pub(crate) fn version_matches(version: Option<&str>) -> bool {
    let Some(version) = version else {
        return false;
    };
    let mut parts = version.split('.');
    let numeric = |part: Option<&str>| {
        part.is_some_and(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    };
    let (major, minor, patch) = (parts.next(), parts.next(), parts.next());
    major == Some("0")
        && minor == Some("2")
        && numeric(patch)
        && parts.next().is_none()
        && patch.is_some_and(|patch| patch == "0" || !patch.starts_with('0'))
}

/// The WASI 0.2 host: a [`ComponentHost`] over a [`WasiCtx`].
///
/// ```no_run
/// use kiln_runtime::wasi::{p2::WasiP2, WasiCtx};
/// let host = WasiP2::new(WasiCtx::new().args(vec!["app".into()]));
/// # drop(host);
/// ```
///
/// # Resources and their children
/// A pollable from `subscribe` is a child of its stream: dropping the stream while the
/// pollable lives traps, as in Wasmtime ("resource has children"). Streams of a
/// descriptor share its open file and do not keep the descriptor borrowed: the
/// descriptor may be dropped first and the streams keep working, as in Wasmtime.
pub struct WasiP2 {
    state: WasiState,
    resources: Resources,
    /// The host fds of stdin, stdout and stderr (`None` when stdio goes nowhere).
    stdio: [Option<std::os::fd::RawFd>; 3],
    /// The preopened directories: the directory, its guest path and whether things
    /// beneath it may be changed (false for a read-only preopen).
    preopens: Vec<(std::rc::Rc<cap_std::fs::Dir>, String, bool)>,
    /// The functions imports resolve among.
    catalog: Catalog,
    /// The functions resolution handed out, by the index it gave.
    resolved: RefCell<Vec<&'static HostFunction>>,
    /// What `insecure-seed` returns, drawn at its first call: every call returns the
    /// same pair, as in Wasmtime.
    insecure_seed: Option<(u64, u64)>,
    /// What the sockets share (the TCP writes still being sent).
    sockets: network::Sockets,
}

impl std::fmt::Debug for WasiP2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiP2")
            .field("args", &self.state.args)
            .field("resources", &self.resources.len())
            .finish_non_exhaustive()
    }
}

impl WasiP2 {
    /// A host for a guest that may see what `ctx` grants, without a time limit.
    pub fn new(ctx: WasiCtx) -> WasiP2 {
        WasiP2::with_interrupt(ctx, Default::default())
    }

    /// A host whose blocking calls wait no longer than the store's time limit
    /// (`interrupt`, as [`WasiState`] has it).
    pub(crate) fn with_interrupt(ctx: WasiCtx, interrupt: Arc<InterruptState>) -> WasiP2 {
        WasiP2::with_catalog(ctx, interrupt, all_functions())
    }

    /// [`WasiP2::with_interrupt`] resolving imports among `catalog` only.
    pub(crate) fn with_catalog(
        ctx: WasiCtx,
        interrupt: Arc<InterruptState>,
        catalog: Catalog,
    ) -> WasiP2 {
        super::ignore_sigpipe();
        let state = WasiState::new(ctx, interrupt);
        let mut stdio = [None; 3];
        let mut preopens = Vec::new();
        for (_, descriptor) in state.table.borrow_mut().take_all() {
            match descriptor {
                super::table::Descriptor::Stdio { stream, host_fd } => {
                    stdio[stream as usize] = host_fd;
                }
                super::table::Descriptor::Dir {
                    dir,
                    preopen: Some(guest_path),
                    mutate,
                } => preopens.push((std::rc::Rc::new(dir), guest_path, mutate)),
                _ => {}
            }
        }
        WasiP2 {
            state,
            resources: Resources::default(),
            stdio,
            preopens,
            catalog,
            resolved: RefCell::new(Vec::new()),
            insecure_seed: None,
            sockets: network::Sockets::default(),
        }
    }

    /// Sets the most host resources (streams, pollables, descriptors, sockets...) the
    /// guest may hold at once; creating one more traps with `wasi: the guest holds N host
    /// resources, the most it may`. The default, and the most this takes, is 2^20
    /// (Wasmtime's `-Smax-resources`).
    pub fn set_max_resources(&mut self, max: u32) {
        self.resources.set_max(max);
    }

    /// How long a call may block before the store's time limit runs out; `None` without
    /// a limit (or in deterministic mode, where waits take no real time).
    fn time_left(&self) -> Option<std::time::Duration> {
        if self.state.clocks.is_virtual() {
            return None;
        }
        self.state.time_left()
    }
}

impl ComponentHost for WasiP2 {
    fn resolve_function(&self, name: &ImportName) -> Option<u32> {
        if !version_matches(name.version.as_deref()) {
            return None;
        }
        let function = self.catalog.iter().copied().find(|function| {
            function.interface == name.interface && function.name == name.function
        })?;
        let mut resolved = self.resolved.borrow_mut();
        let index = match resolved.iter().position(|f| std::ptr::eq(*f, function)) {
            Some(index) => index,
            None => {
                resolved.push(function);
                resolved.len() - 1
            }
        };
        u32::try_from(index).ok()
    }

    fn resolve_resource(&self, name: &ImportName) -> Option<u32> {
        if !version_matches(name.version.as_deref()) {
            return None;
        }
        ResourceKind::ALL
            .iter()
            .find(|kind| kind.interface() == name.interface && kind.name() == name.function)
            .map(|kind| *kind as u32)
    }

    fn call(&mut self, function: u32, params: Vec<ComponentVal>) -> HostResult {
        let function = *self
            .resolved
            .borrow()
            .get(function as usize)
            .ok_or_else(|| {
                HostCallError::Failed(format!("wasi: no host function was resolved as {function}"))
            })?;
        (function.run)(self, Args::new(function, params))
    }

    fn drop_resource(&mut self, resource: u32, rep: u32) -> Result<(), HostCallError> {
        let kind = ResourceKind::ALL
            .get(resource as usize)
            .copied()
            .ok_or_else(|| {
                HostCallError::Failed(format!("wasi: no resource type was resolved as {resource}"))
            })?;
        if kind == ResourceKind::OutputStream {
            // As Wasmtime, which waits for a dropped stream's background writes.
            tcp::drain_before_drop(self, rep)?;
        }
        self.resources.drop(kind, rep)
    }
}

#[cfg(test)]
mod tests;
