//! The wasm stack limit: how deep compiled code may go below the outermost call into it
//! on a thread. Compiled code compares its stack pointer against `VMLimits::stack_limit`
//! in every function prologue (but those of small leaf functions, which may use
//! `kiln_abi::vmctx::UNCHECKED_STACK_BYTES` below it) and traps with `StackOverflow` below
//! it; the limit leaves [`HOST_STACK_MARGIN`] for the host functions and builtins that
//! wasm calls near it.

use super::state::STATE;
use crate::vm::mmap::page_size;
use std::mem::MaybeUninit;

/// Stack kept free below the wasm stack limit for host functions and builtins that wasm
/// calls when it is close to the limit.
const HOST_STACK_MARGIN: usize = 128 * 1024;

// Leaf functions compiled without a stack check use up to this much below the limit.
const _: () = assert!(HOST_STACK_MARGIN >= 2 * kiln_abi::vmctx::UNCHECKED_STACK_BYTES);

/// The current stack pointer (approximately: the address of a local).
#[inline(never)]
pub(super) fn current_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&raw const marker) as usize
}

/// The wasm stack limit for a guarded call starting here.
pub(super) fn compute_stack_limit(max_wasm_stack: usize) -> usize {
    let sp = current_sp();
    let stack_low = STATE.with(|state| {
        if state.stack_low.get() == 0 {
            state.stack_low.set(stack_low(sp));
        }
        state.stack_low.get()
    });
    let floor = stack_low.saturating_add(HOST_STACK_MARGIN);
    let limit = sp.saturating_sub(max_wasm_stack).max(floor);
    // With less stack than the margin, every wasm call overflows immediately.
    limit.min(sp)
}

/// The lowest usable address of the current thread's stack (1 when unknown), as seen from
/// a frame whose stack pointer is `sp`.
fn stack_low(sp: usize) -> usize {
    // An executable runs wasm on its main thread only (and saves the two system calls).
    #[cfg(feature = "exe-main")]
    let main_thread = true;
    // SAFETY: `getpid` and `gettid` have no preconditions.
    #[cfg(not(feature = "exe-main"))]
    let main_thread = unsafe { libc::getpid() == libc::gettid() };
    if main_thread {
        main_thread_stack_low(sp)
    } else {
        thread_stack_low().filter(|&low| low < sp).unwrap_or(1)
    }
}

/// The main thread's stack grows on demand up to `RLIMIT_STACK` below its top, so its
/// bottom follows from its top and the limit. The top is found from the program's file
/// name (`AT_EXECFN`), a string the kernel copies to the top of the stack above the
/// arguments and environment, rounded up to a page. `pthread_getattr_np` is not asked:
/// glibc answers by reading `/proc/self/maps` (a tenth of a hello-world's start-up), musl
/// reports only the part mapped so far, and under qemu-user glibc may report a bottom above
/// the stack pointer. Without `AT_EXECFN`, or when it does not lie just above `sp`, the
/// used part above `sp` is estimated instead.
fn main_thread_stack_low(sp: usize) -> usize {
    let mut limit = MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: `getrlimit` writes the limit into `limit` when it returns 0.
    let stack_size = if unsafe { libc::getrlimit(libc::RLIMIT_STACK, limit.as_mut_ptr()) } == 0 {
        // SAFETY: initialised by the successful call above.
        let current = unsafe { limit.assume_init() }.rlim_cur;
        if current == libc::RLIM_INFINITY {
            64 << 20
        } else {
            usize::try_from(current).unwrap_or(usize::MAX)
        }
    } else {
        8 << 20
    };
    // SAFETY: `getauxval` has no preconditions; it returns 0 for an absent entry.
    let execfn = unsafe { libc::getauxval(libc::AT_EXECFN) } as usize;
    let top = execfn.checked_next_multiple_of(page_size());
    match top {
        // The stack cannot be larger than its limit, so a top further above is not ours.
        Some(top) if top > sp && top - sp < stack_size => top - stack_size,
        _ => {
            // Above `sp` lie the arguments and environment (Linux caps them at a quarter
            // of the limit) and the start-up frames.
            let used_above = stack_size / 4 + 256 * 1024;
            sp.saturating_sub(stack_size.saturating_sub(used_above))
        }
    }
    .max(1)
}

/// The lowest address of the current (non-main) thread's stack.
fn thread_stack_low() -> Option<usize> {
    let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before use and destroyed after.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut address = std::ptr::null_mut();
        let mut size = 0;
        let status = libc::pthread_attr_getstack(attr.as_ptr(), &mut address, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        (status == 0).then_some(address as usize)
    }
}
