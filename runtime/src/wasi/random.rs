//! WASI randomness: `random_get` fills guest memory from the host's `getrandom(2)`.

use super::{arg_u32, errno_fn, Definition, Errno, GuestMemory, WasiState};
use crate::values::Val;

pub(super) const DEFINITIONS: &[Definition] = &[errno_fn!(random_get(I32, I32))];

fn random_get(_: &WasiState, memory: &mut GuestMemory<'_>, args: &[Val]) -> Result<(), Errno> {
    let (pointer, len) = (arg_u32(args, 0), arg_u32(args, 1));
    let mut buffer = memory.slice_mut(pointer, len)?;
    while !buffer.is_empty() {
        // SAFETY: filling a valid buffer of `buffer.len()` bytes.
        let filled = unsafe { libc::getrandom(buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if filled < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Errno::IO);
        }
        buffer = &mut buffer[filled as usize..];
    }
    Ok(())
}
