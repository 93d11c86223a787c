//! Throwing: the `throw_ref` builtin, which finds the landing pad of the innermost wasm
//! frame whose call is covered by a handler and resumes there.
//!
//! Compiled code enters through `kiln_throw_ref` (assembly, below), which adds the
//! thrower's frame pointer and the return address into it to the builtin's arguments and
//! jumps to [`throw_ref_unwind`]. That walks the frame-pointer chain (kiln always keeps
//! frame pointers: `[fp]` is the caller's frame pointer, `[fp + 8]` the return address on
//! both targets), looking up each return address in the code registry's call-site table:
//!
//! - a call site with a handler (`CallSiteEntry::handler`): resume at the landing pad with
//!   `sp = fp - frame_offset`, the frame pointer `fp` and the exception in the first
//!   payload register (`rax` / `x0`), with `kiln_resume_exception`. The code there decides
//!   which catch clause applies (`compiler/src/translate/exceptions.rs`) and may throw on;
//! - a return address outside wasm functions (an entry trampoline: the host called wasm
//!   there): the exception is uncaught. The builtin records it in the store and returns 1,
//!   and the thrower traps with `UncaughtException`.
//!
//! The first time an exception is thrown the builtin also records the return addresses of
//! all wasm frames on the stack (`VMStore::throw_origin`): an exception that a handler
//! examines and throws on (its tags did not match) reaches the host from that handler's
//! frame, but its report shows where it was first thrown.
//!
//! The frames skipped by a resume are wasm frames and this builtin's, which owns nothing:
//! no Rust frame with state is ever skipped, and no host frame is ever unwound. A call
//! covered by a handler is a Cranelift `try_call`, across which no register is assumed to
//! survive, so the resume restores only the stack and frame pointers.

use super::code::{self, CodeKind};
use super::instance::InstanceData;
use super::store::{VMStore, MAX_THROW_FRAMES};
use kiln_abi::vmctx::{VMContextHeader, VMExceptionHeader, EXCEPTION_THROWN};

extern "C" {
    /// The `throw_ref` builtin's entry point (the builtin table holds it): called by
    /// compiled code with its context and a non-null exception.
    pub(crate) fn kiln_throw_ref(vmctx: *mut u8, exception: usize) -> u32;

    /// Resumes compiled code at `pc` with the stack pointer `sp`, the frame pointer `fp`
    /// and `exception` in the first payload register. Never returns.
    fn kiln_resume_exception(pc: usize, sp: usize, fp: usize, exception: usize) -> !;
}

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    // Each function in a section of its own, which the linker drops from an executable
    // whose code never throws (`vm/linked.rs`, "builtins"), and with it the unwinder.
    ".pushsection .text.kiln_throw_ref,\"ax\",@progbits",
    ".p2align 4",
    ".globl kiln_throw_ref",
    ".hidden kiln_throw_ref",
    ".type kiln_throw_ref, @function",
    "kiln_throw_ref:",
    // The name executables' builtin tables use (`vm/linked.rs`).
    ".globl kiln_builtin_throw_ref",
    ".hidden kiln_builtin_throw_ref",
    "kiln_builtin_throw_ref:",
    // rdi = vmctx, rsi = exception; rbp is still the thrower's frame pointer and [rsp]
    // the return address into it.
    "mov rdx, rbp",
    "mov rcx, [rsp]",
    "jmp {unwind}",
    ".size kiln_throw_ref, . - kiln_throw_ref",
    ".popsection",
    ".pushsection .text.kiln_resume_exception,\"ax\",@progbits",
    ".p2align 4",
    ".globl kiln_resume_exception",
    ".hidden kiln_resume_exception",
    ".type kiln_resume_exception, @function",
    "kiln_resume_exception:",
    // rdi = pc, rsi = sp, rdx = fp, rcx = exception.
    "mov rsp, rsi",
    "mov rbp, rdx",
    "mov rax, rcx",
    "jmp rdi",
    ".size kiln_resume_exception, . - kiln_resume_exception",
    ".popsection",
    unwind = sym throw_ref_unwind,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    // Each function in a section of its own, which the linker drops from an executable
    // whose code never throws (`vm/linked.rs`, "builtins"), and with it the unwinder.
    ".pushsection .text.kiln_throw_ref,\"ax\",%progbits",
    ".p2align 4",
    ".globl kiln_throw_ref",
    ".hidden kiln_throw_ref",
    ".type kiln_throw_ref, %function",
    "kiln_throw_ref:",
    // The name executables' builtin tables use (`vm/linked.rs`).
    ".globl kiln_builtin_throw_ref",
    ".hidden kiln_builtin_throw_ref",
    "kiln_builtin_throw_ref:",
    // x0 = vmctx, x1 = exception; x29 is still the thrower's frame pointer and x30 the
    // return address into it.
    "mov x2, x29",
    "mov x3, x30",
    "b {unwind}",
    ".size kiln_throw_ref, . - kiln_throw_ref",
    ".popsection",
    ".pushsection .text.kiln_resume_exception,\"ax\",%progbits",
    ".p2align 4",
    ".globl kiln_resume_exception",
    ".hidden kiln_resume_exception",
    ".type kiln_resume_exception, %function",
    "kiln_resume_exception:",
    // x0 = pc, x1 = sp, x2 = fp, x3 = exception.
    "mov sp, x1",
    "mov x29, x2",
    "mov x16, x0",
    "mov x0, x3",
    "br x16",
    ".size kiln_resume_exception, . - kiln_resume_exception",
    ".popsection",
    unwind = sym throw_ref_unwind,
);

/// The landing pad for an exception thrown from the frame with frame pointer `fp` at
/// return address `pc`, or from one of its callers: `(pc, sp, fp)` to resume at, or `None`
/// when the walk reaches code that is not a wasm function.
///
/// # Safety
/// `fp` and `pc` must be a frame of compiled wasm code on this thread's stack, whose
/// callers up to the host's entry are compiled code with frame records.
unsafe fn find_handler(mut fp: usize, mut pc: usize) -> Option<(usize, usize, usize)> {
    loop {
        // A return address may be the first byte after its function: look up the call's
        // last byte.
        let location = code::lookup(pc.checked_sub(1)?)?;
        let CodeKind::Function(_) = location.range.kind else {
            return None;
        };
        let call_site = location.range.call_site(location.offset + 1);
        if let Some((entry, handler)) = call_site.and_then(|entry| Some((entry, entry.handler()?)))
        {
            let sp = fp - entry.frame_offset as usize;
            return Some((location.range.start + handler as usize, sp, fp));
        }
        // SAFETY: a wasm function's frame pointer points to its frame record (caller's
        // frame pointer, return address), by the caller's contract.
        unsafe {
            pc = *((fp + 8) as *const usize);
            fp = *(fp as *const usize);
        }
    }
}

/// Records in `store` the return addresses of the wasm frames from `(fp, pc)` outwards, as
/// where `exception` was thrown, if it is thrown for the first time (marked in its
/// header's flags, `EXCEPTION_THROWN`).
///
/// # Safety
/// As for [`find_handler`]; `exception` is a live exception object of `store`.
unsafe fn record_throw_origin(store: &mut VMStore, exception: usize, mut fp: usize, mut pc: usize) {
    let header = exception as *mut VMExceptionHeader;
    // SAFETY: a live exception object (caller's contract).
    unsafe {
        if (*header).flags & EXCEPTION_THROWN != 0 {
            return;
        }
        (*header).flags |= EXCEPTION_THROWN;
    }
    let (origin, frames, truncated) = &mut store.throw_origin;
    *origin = exception;
    frames.clear();
    *truncated = false;
    while let Some(location) = pc.checked_sub(1).and_then(code::lookup) {
        if !matches!(location.range.kind, CodeKind::Function(_)) {
            break;
        }
        if frames.len() == MAX_THROW_FRAMES {
            *truncated = true;
            break;
        }
        frames.push(pc);
        // SAFETY: a wasm function's frame record (caller's contract).
        unsafe {
            pc = *((fp + 8) as *const usize);
            fp = *(fp as *const usize);
        }
    }
}

/// The body of `kiln_throw_ref`: unwinds to the handler, or returns 1 with the exception's
/// tag recorded in the store.
///
/// # Safety
/// Called only through `kiln_throw_ref` by compiled code, with its context, a live
/// exception object of its store, its frame pointer and the return address into it.
unsafe extern "C" fn throw_ref_unwind(
    vmctx: *mut u8,
    exception: usize,
    fp: usize,
    pc: usize,
) -> u32 {
    // SAFETY: compiled code passes its own context, whose header we wrote; its instance
    // and store are live and not borrowed while wasm runs (this borrow ends before the
    // resume below).
    let store = unsafe {
        let instance = (*vmctx.cast::<VMContextHeader>())
            .instance
            .cast::<InstanceData>();
        &mut *(*instance).store
    };
    // SAFETY: the thrower is compiled wasm code, the exception one of its store's
    // (caller's contract).
    unsafe { record_throw_origin(store, exception, fp, pc) };
    // The exception last caught without a reference, if any, is not this one: an
    // `exnref` (thrown by `throw_ref`) or a legacy `rethrow` marks its exception escaped.
    store.release_caught_exception();
    // SAFETY: as above.
    if let Some((pc, sp, fp)) = unsafe { find_handler(fp, pc) } {
        // SAFETY: the landing pad of a `try_call` expects exactly this state; the frames
        // between here and there are wasm frames and this one, which owns nothing (the
        // store's buffer belongs to the store).
        unsafe { kiln_resume_exception(pc, sp, fp, exception) }
    }
    store.pending_exception = Some(exception);
    1
}
