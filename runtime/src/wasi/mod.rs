//! WASI preview 1 (`wasi_snapshot_preview1`, also defined as `wasi_unstable`) as host
//! functions.
//!
//! Implemented for real, one file per family:
//! - `fd.rs`: `fd_write` (fd 1 and 2: the process's stdout and stderr, full writes),
//!   `fd_read` (fd 0), `fd_close`, `fd_seek` and `fd_tell` (`ESPIPE` on stdio),
//!   `fd_fdstat_get` (stdio: character devices), `fd_prestat_get` and
//!   `fd_prestat_dir_name` (`EBADF`: there are no preopened directories yet);
//! - `proc.rs`: `proc_exit` (unwinds the guest with the exit code), `sched_yield`;
//! - `args.rs`: `args_sizes_get`, `args_get`, `environ_sizes_get`, `environ_get`;
//! - `clock.rs`: `clock_time_get`, `clock_res_get`;
//! - `random.rs`: `random_get`.
//!
//! Defined with their exact signatures but returning `ENOSYS` (52) until a later issue
//! implements them: `fd_advise`, `fd_allocate`, `fd_datasync`, `fd_fdstat_set_flags`,
//! `fd_fdstat_set_rights`, `fd_filestat_get`, `fd_filestat_set_size`,
//! `fd_filestat_set_times`, `fd_pread`, `fd_pwrite`, `fd_readdir`, `fd_renumber`,
//! `fd_sync`, `path_create_directory`, `path_filestat_get`, `path_filestat_set_times`,
//! `path_link`, `path_open`, `path_readlink`, `path_remove_directory`, `path_rename`,
//! `path_symlink`, `path_unlink_file`, `poll_oneoff`, `proc_raise`, `sock_accept`,
//! `sock_recv`, `sock_send`, `sock_shutdown`.
//!
//! Every guest pointer and length is checked against the caller's exported `memory`
//! before anything is read or written: out of bounds is `EFAULT` (21), never a host fault.
//! Errno values are the witx ones.

mod args;
mod clock;
mod fd;
mod proc;
mod random;

use crate::host::Caller;
use crate::linker::Linker;
use crate::store::{Extern, Func, Store};
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::{FuncType, ValType};
use std::cell::Cell;
use std::rc::Rc;

/// What a WASI guest sees of the world: its arguments and environment (stdio is the
/// process's own).
#[derive(Clone, Debug, Default)]
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl WasiCtx {
    /// No arguments, no environment variables.
    pub fn new() -> WasiCtx {
        WasiCtx::default()
    }

    /// Sets the arguments; the first is the program name.
    pub fn args(mut self, args: Vec<String>) -> WasiCtx {
        self.args = args;
        self
    }

    /// Sets the environment variables.
    pub fn env(mut self, vars: Vec<(String, String)>) -> WasiCtx {
        self.env = vars;
        self
    }
}

/// The state the WASI functions of one store share.
pub(crate) struct WasiState {
    pub ctx: WasiCtx,
    /// Whether fds 0, 1 and 2 are still open (the guest may close them).
    pub stdio_open: Cell<[bool; 3]>,
}

/// Errno values (witx `errno`, u16).
pub(crate) mod errno {
    pub const SUCCESS: u16 = 0;
    pub const BADF: u16 = 8;
    pub const FAULT: u16 = 21;
    pub const INVAL: u16 = 28;
    pub const IO: u16 = 29;
    pub const NOSYS: u16 = 52;
    pub const PIPE: u16 = 64;
    pub const SPIPE: u16 = 70;
}

/// The implementation of a WASI function.
pub(crate) type WasiFn = fn(&WasiState, &mut Caller<'_>, &[Val]) -> Result<Vec<Val>, HostError>;

/// A WASI function: its name, signature and implementation.
pub(crate) struct Definition {
    pub name: &'static str,
    pub params: &'static [ValType],
    pub results: &'static [ValType],
    pub run: WasiFn,
}

use ValType::{I32, I64};

/// The preview 1 functions not implemented yet, with their parameters; all return an
/// errno (`ENOSYS`).
const UNIMPLEMENTED: &[(&str, &[ValType])] = &[
    ("fd_advise", &[I32, I64, I64, I32]),
    ("fd_allocate", &[I32, I64, I64]),
    ("fd_datasync", &[I32]),
    ("fd_fdstat_set_flags", &[I32, I32]),
    ("fd_fdstat_set_rights", &[I32, I64, I64]),
    ("fd_filestat_get", &[I32, I32]),
    ("fd_filestat_set_size", &[I32, I64]),
    ("fd_filestat_set_times", &[I32, I64, I64, I32]),
    ("fd_pread", &[I32, I32, I32, I64, I32]),
    ("fd_pwrite", &[I32, I32, I32, I64, I32]),
    ("fd_readdir", &[I32, I32, I32, I64, I32]),
    ("fd_renumber", &[I32, I32]),
    ("fd_sync", &[I32]),
    ("path_create_directory", &[I32, I32, I32]),
    ("path_filestat_get", &[I32, I32, I32, I32, I32]),
    (
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
    ),
    ("path_link", &[I32, I32, I32, I32, I32, I32, I32]),
    ("path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32]),
    ("path_readlink", &[I32, I32, I32, I32, I32, I32]),
    ("path_remove_directory", &[I32, I32, I32]),
    ("path_rename", &[I32, I32, I32, I32, I32, I32]),
    ("path_symlink", &[I32, I32, I32, I32, I32]),
    ("path_unlink_file", &[I32, I32, I32]),
    ("poll_oneoff", &[I32, I32, I32, I32]),
    ("proc_raise", &[I32]),
    ("sock_accept", &[I32, I32, I32]),
    ("sock_recv", &[I32, I32, I32, I32, I32, I32]),
    ("sock_send", &[I32, I32, I32, I32, I32]),
    ("sock_shutdown", &[I32, I32]),
];

/// Every implemented function.
fn implemented() -> impl Iterator<Item = &'static Definition> {
    fd::DEFINITIONS
        .iter()
        .chain(proc::DEFINITIONS)
        .chain(args::DEFINITIONS)
        .chain(clock::DEFINITIONS)
        .chain(random::DEFINITIONS)
}

/// The module names WASI preview 1 is imported under.
pub const MODULE_NAMES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

/// Defines every preview 1 function in `linker` under both module names, as host
/// functions of `store` sharing `ctx`.
pub fn add_to_linker(linker: &mut Linker, store: &mut Store, ctx: WasiCtx) {
    let state = Rc::new(WasiState {
        ctx,
        stdio_open: Cell::new([true; 3]),
    });
    let mut funcs: Vec<(&'static str, Func)> = Vec::new();
    for definition in implemented() {
        let ty = FuncType {
            params: definition.params.to_vec(),
            results: definition.results.to_vec(),
        };
        let state = state.clone();
        let run = definition.run;
        let func = Func::new_host(store, ty, move |caller, args| run(&state, caller, args));
        funcs.push((definition.name, func));
    }
    for &(name, params) in UNIMPLEMENTED {
        let ty = FuncType {
            params: params.to_vec(),
            results: vec![I32],
        };
        let func = Func::new_host(store, ty, |_, _| Ok(vec![Val::I32(errno::NOSYS.into())]));
        funcs.push((name, func));
    }
    for module in MODULE_NAMES {
        for &(name, func) in &funcs {
            linker.define(module, name, Extern::Func(func));
        }
    }
}

/// Argument `index` as an unsigned 32-bit value (a guest pointer, length or fd).
pub(crate) fn arg_u32(args: &[Val], index: usize) -> u32 {
    match args.get(index) {
        Some(Val::I32(value)) => *value as u32,
        _ => 0,
    }
}

/// The result of a function returning an errno.
pub(crate) fn errno_result(result: Result<(), u16>) -> Result<Vec<Val>, HostError> {
    let errno = match result {
        Ok(()) => errno::SUCCESS,
        Err(errno) => errno,
    };
    Ok(vec![Val::I32(errno.into())])
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
    fn range(&self, pointer: u32, len: u32) -> Result<std::ops::Range<usize>, u16> {
        let start = pointer as usize;
        let end = start.checked_add(len as usize).ok_or(errno::FAULT)?;
        if end > self.0.len() {
            return Err(errno::FAULT);
        }
        Ok(start..end)
    }

    /// Checks that `len` bytes at `pointer` are in bounds.
    pub fn check(&self, pointer: u32, len: u32) -> Result<(), u16> {
        self.range(pointer, len).map(drop)
    }

    /// Checks that `count` items of `size` bytes at `pointer` are in bounds.
    pub fn check_array(&self, pointer: u32, count: u32, size: u32) -> Result<(), u16> {
        let len = count.checked_mul(size).ok_or(errno::FAULT)?;
        self.check(pointer, len)
    }

    pub fn slice(&self, pointer: u32, len: u32) -> Result<&[u8], u16> {
        Ok(&self.0[self.range(pointer, len)?])
    }

    pub fn slice_mut(&mut self, pointer: u32, len: u32) -> Result<&mut [u8], u16> {
        let range = self.range(pointer, len)?;
        Ok(&mut self.0[range])
    }

    pub fn read_u32(&self, pointer: u32) -> Result<u32, u16> {
        let bytes = self.slice(pointer, 4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub fn write_bytes(&mut self, pointer: u32, bytes: &[u8]) -> Result<(), u16> {
        let len = u32::try_from(bytes.len()).map_err(|_| errno::FAULT)?;
        self.slice_mut(pointer, len)?.copy_from_slice(bytes);
        Ok(())
    }

    pub fn write_u32(&mut self, pointer: u32, value: u32) -> Result<(), u16> {
        self.write_bytes(pointer, &value.to_le_bytes())
    }

    pub fn write_u64(&mut self, pointer: u32, value: u64) -> Result<(), u16> {
        self.write_bytes(pointer, &value.to_le_bytes())
    }

    /// The `(buf, buf_len)` pairs of an iovec array, all checked to be in bounds.
    pub fn iovecs(&self, pointer: u32, count: u32) -> Result<Vec<(u32, u32)>, u16> {
        self.check_array(pointer, count, 8)?;
        (0..count)
            .map(|index| {
                let entry = pointer + index * 8;
                let (buf, len) = (self.read_u32(entry)?, self.read_u32(entry + 4)?);
                self.check(buf, len)?;
                Ok((buf, len))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
