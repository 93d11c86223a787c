//! WASI arguments and environment: `args_sizes_get`/`args_get` and
//! `environ_sizes_get`/`environ_get`. Both lay out a list of NUL-terminated strings: an
//! array of guest pointers and a buffer the pointers point into. Everything is
//! bounds-checked before the first byte is written.

use super::{errno_fn, Definition, Errno, GuestMemory, WasiState};

pub(super) const DEFINITIONS: &[&Definition] = &[
    errno_fn!(args_sizes_get),
    errno_fn!(args_get),
    errno_fn!(environ_sizes_get),
    errno_fn!(environ_get),
];

fn args_list(state: &WasiState) -> Vec<Vec<u8>> {
    state
        .args
        .iter()
        .map(|arg| arg.as_bytes().to_vec())
        .collect()
}

fn environ_list(state: &WasiState) -> Vec<Vec<u8>> {
    state
        .env
        .iter()
        .map(|(key, value)| format!("{key}={value}").into_bytes())
        .collect()
}

/// Writes the count and total buffer size of `list` to `count_pointer` and `size_pointer`.
fn sizes_get(
    list: &[Vec<u8>],
    memory: &mut GuestMemory<'_>,
    count_pointer: u32,
    size_pointer: u32,
) -> Result<(), Errno> {
    let size: usize = list.iter().map(|item| item.len() + 1).sum();
    memory.check(count_pointer, 4)?;
    memory.check(size_pointer, 4)?;
    let size = u32::try_from(size).map_err(|_| Errno::OVERFLOW)?;
    memory.write_u32(count_pointer, list.len() as u32)?;
    memory.write_u32(size_pointer, size)
}

/// Writes `list` as pointers at `array_pointer` into strings at `buffer_pointer`.
fn list_get(
    list: &[Vec<u8>],
    memory: &mut GuestMemory<'_>,
    array_pointer: u32,
    buffer_pointer: u32,
) -> Result<(), Errno> {
    let size: usize = list.iter().map(|item| item.len() + 1).sum();
    let size = u32::try_from(size).map_err(|_| Errno::FAULT)?;
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
}

fn args_sizes_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    count_pointer: u32,
    size_pointer: u32,
) -> Result<(), Errno> {
    sizes_get(&args_list(state), memory, count_pointer, size_pointer)
}

fn args_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    array_pointer: u32,
    buffer_pointer: u32,
) -> Result<(), Errno> {
    list_get(&args_list(state), memory, array_pointer, buffer_pointer)
}

fn environ_sizes_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    count_pointer: u32,
    size_pointer: u32,
) -> Result<(), Errno> {
    sizes_get(&environ_list(state), memory, count_pointer, size_pointer)
}

fn environ_get(
    state: &WasiState,
    memory: &mut GuestMemory<'_>,
    array_pointer: u32,
    buffer_pointer: u32,
) -> Result<(), Errno> {
    list_get(&environ_list(state), memory, array_pointer, buffer_pointer)
}
