//! WASI arguments and environment: `args_sizes_get`/`args_get` and
//! `environ_sizes_get`/`environ_get`. Both lay out a list of NUL-terminated strings: an
//! array of guest pointers and a buffer the pointers point into. Everything is
//! bounds-checked before the first byte is written.

use super::{arg_u32, errno, errno_result, memory, Definition, WasiState};
use crate::host::Caller;
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::ValType::I32;

pub(super) const DEFINITIONS: &[Definition] = &[
    Definition {
        name: "args_sizes_get",
        params: &[I32, I32],
        results: &[I32],
        run: args_sizes_get,
    },
    Definition {
        name: "args_get",
        params: &[I32, I32],
        results: &[I32],
        run: args_get,
    },
    Definition {
        name: "environ_sizes_get",
        params: &[I32, I32],
        results: &[I32],
        run: environ_sizes_get,
    },
    Definition {
        name: "environ_get",
        params: &[I32, I32],
        results: &[I32],
        run: environ_get,
    },
];

fn args_list(state: &WasiState) -> Vec<Vec<u8>> {
    state
        .ctx
        .args
        .iter()
        .map(|arg| arg.as_bytes().to_vec())
        .collect()
}

fn environ_list(state: &WasiState) -> Vec<Vec<u8>> {
    state
        .ctx
        .env
        .iter()
        .map(|(key, value)| format!("{key}={value}").into_bytes())
        .collect()
}

/// Writes the count and total buffer size of `list` to `count_pointer` and `size_pointer`.
fn sizes_get(
    list: &[Vec<u8>],
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (count_pointer, size_pointer) = (arg_u32(args, 0), arg_u32(args, 1));
    let mut memory = memory(caller)?;
    let size: usize = list.iter().map(|item| item.len() + 1).sum();
    errno_result((|| {
        memory.check(count_pointer, 4)?;
        memory.check(size_pointer, 4)?;
        let size = u32::try_from(size).map_err(|_| errno::INVAL)?;
        memory.write_u32(count_pointer, list.len() as u32)?;
        memory.write_u32(size_pointer, size)
    })())
}

/// Writes `list` as pointers at `array_pointer` into strings at `buffer_pointer`.
fn list_get(
    list: &[Vec<u8>],
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    let (array_pointer, buffer_pointer) = (arg_u32(args, 0), arg_u32(args, 1));
    let mut memory = memory(caller)?;
    let size: usize = list.iter().map(|item| item.len() + 1).sum();
    errno_result((|| {
        let size = u32::try_from(size).map_err(|_| errno::FAULT)?;
        memory.check_array(array_pointer, list.len() as u32, 4)?;
        memory.check(buffer_pointer, size)?;
        let mut offset = buffer_pointer;
        for (index, item) in list.iter().enumerate() {
            memory.write_u32(array_pointer + 4 * index as u32, offset)?;
            memory.write_bytes(offset, item)?;
            memory.write_bytes(offset + item.len() as u32, &[0])?;
            offset += item.len() as u32 + 1;
        }
        Ok(())
    })())
}

fn args_sizes_get(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    sizes_get(&args_list(state), caller, args)
}

fn args_get(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    list_get(&args_list(state), caller, args)
}

fn environ_sizes_get(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    sizes_get(&environ_list(state), caller, args)
}

fn environ_get(
    state: &WasiState,
    caller: &mut Caller<'_>,
    args: &[Val],
) -> Result<Vec<Val>, HostError> {
    list_get(&environ_list(state), caller, args)
}
