//! WASI randomness: `random_get` fills guest memory from the host's `getrandom(2)`.

use super::{arg_u32, errno, errno_result, memory, Definition, WasiState};
use crate::host::Caller;
use crate::values::Val;
use crate::HostError;
use kiln_abi::metadata::ValType::I32;

pub(super) const DEFINITIONS: &[Definition] = &[Definition {
    name: "random_get",
    params: &[I32, I32],
    results: &[I32],
    run: random_get,
}];

fn random_get(_: &WasiState, caller: &mut Caller<'_>, args: &[Val]) -> Result<Vec<Val>, HostError> {
    let (pointer, len) = (arg_u32(args, 0), arg_u32(args, 1));
    let mut memory = memory(caller)?;
    errno_result((|| {
        let mut buffer = memory.slice_mut(pointer, len)?;
        while !buffer.is_empty() {
            // SAFETY: filling a valid buffer of `buffer.len()` bytes.
            let filled = unsafe { libc::getrandom(buffer.as_mut_ptr().cast(), buffer.len(), 0) };
            if filled < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(errno::IO);
            }
            buffer = &mut buffer[filled as usize..];
        }
        Ok(())
    })())
}
