//! Signal handling: the handlers for the signals compiled code traps with (SIGSEGV,
//! SIGBUS, SIGILL, SIGFPE), each thread's alternate signal stack, and the report of a
//! fault outside compiled code (a host crash). The handler takes no lock and allocates
//! nothing: it reads the code registry (lock-free) and the thread's trap state.

use super::arch;
use super::state::{kiln_resume_unwind, Guard, JmpBuf, STATE};
use crate::vm::code;
#[cfg(not(feature = "exe-main"))]
use crate::vm::mmap::{page_size, Mmap, Protection};
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::Once;

/// Size of the alternate signal stack of each thread (a guard page sits below it).
#[cfg(not(feature = "exe-main"))]
const ALT_STACK_SIZE: usize = 64 * 1024;

#[cfg(not(feature = "exe-main"))]
thread_local! {
    /// This thread's alternate signal stack, if we installed one for it; its destructor
    /// (registered with the thread's first use) unmaps it when the thread exits.
    static ALT_STACK: Cell<Option<AltStack>> = const { Cell::new(None) };
}

/// The signals compiled code traps with.
const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The dispositions our handlers replaced, per entry of [`SIGNALS`]; written once before
/// the handlers are installed, read by the handler to chain.
struct PreviousActions([std::cell::UnsafeCell<MaybeUninit<libc::sigaction>>; 4]);

// SAFETY: written only inside `INSTALL.call_once`, before any handler that reads them is
// installed (the `sigaction` system call orders the write before any delivery).
unsafe impl Sync for PreviousActions {}

static PREVIOUS: PreviousActions =
    PreviousActions([const { std::cell::UnsafeCell::new(MaybeUninit::zeroed()) }; 4]);
static INSTALL: Once = Once::new();

/// Installs the trap handlers for the process (once).
pub(super) fn install_handlers() {
    INSTALL.call_once(|| {
        for (index, &signal) in SIGNALS.iter().enumerate() {
            // SAFETY: a zeroed `sigaction` is a valid value; we fill in the handler, flags
            // and an empty mask, and the previous action goes to its `PREVIOUS` slot, which
            // nothing reads yet.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handle_signal as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let previous = (*PREVIOUS.0[index].get()).as_mut_ptr();
                if libc::sigaction(signal, &action, previous) != 0 {
                    panic!("kiln: cannot install the handler for signal {signal}");
                }
            }
        }
    });
}

/// An alternate signal stack: a guard page then `ALT_STACK_SIZE` usable bytes.
#[cfg(not(feature = "exe-main"))]
#[derive(Debug)]
struct AltStack {
    mapping: Mmap,
}

#[cfg(not(feature = "exe-main"))]
impl AltStack {
    /// The usable part, above the guard page.
    fn stack(&self) -> *mut libc::c_void {
        // SAFETY: the mapping is a guard page plus the stack.
        unsafe { self.mapping.as_ptr().add(page_size()).cast() }
    }
}

#[cfg(not(feature = "exe-main"))]
impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: we disable the alternate stack only if it is still ours; then the mapping,
        // which no handler can be running on (this thread is exiting), is unmapped.
        unsafe {
            let mut current = MaybeUninit::<libc::stack_t>::zeroed();
            if libc::sigaltstack(std::ptr::null(), current.as_mut_ptr()) == 0
                && current.assume_init().ss_sp == self.stack()
            {
                let disable = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: ALT_STACK_SIZE,
                };
                libc::sigaltstack(&disable, std::ptr::null_mut());
            }
        }
    }
}

/// Maps an alternate signal stack: a guard page, then `ALT_STACK_SIZE` usable bytes.
#[cfg(not(feature = "exe-main"))]
fn map_alt_stack() -> AltStack {
    let page = page_size();
    let mut mapping = Mmap::accessible(ALT_STACK_SIZE + page)
        .unwrap_or_else(|error| panic!("kiln: cannot map an alternate signal stack: {error}"));
    mapping
        .protect(0, page, Protection::None)
        .unwrap_or_else(|error| panic!("kiln: cannot map an alternate signal stack: {error}"));
    AltStack { mapping }
}

/// Makes `stack` this thread's alternate signal stack.
///
/// # Safety
/// `stack` must stay mapped for as long as it is installed.
#[cfg(not(feature = "exe-main"))]
unsafe fn install_alt_stack(stack: &AltStack) {
    let new = libc::stack_t {
        ss_sp: stack.stack(),
        ss_flags: 0,
        ss_size: ALT_STACK_SIZE,
    };
    // SAFETY: the stack is accessible; the caller keeps it mapped while installed.
    if unsafe { libc::sigaltstack(&new, std::ptr::null_mut()) } != 0 {
        panic!("kiln: cannot install an alternate signal stack");
    }
}

/// Gives this thread an alternate signal stack of at least `ALT_STACK_SIZE` bytes, unless
/// it already has one that large.
#[cfg(not(feature = "exe-main"))]
pub(super) fn ensure_alt_stack() {
    if STATE.with(|state| state.has_alt_stack.get()) {
        return;
    }
    // SAFETY: querying the current alternate stack has no preconditions.
    let current = unsafe {
        let mut current = MaybeUninit::<libc::stack_t>::zeroed();
        libc::sigaltstack(std::ptr::null(), current.as_mut_ptr());
        current.assume_init()
    };
    if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= ALT_STACK_SIZE {
        STATE.with(|state| state.has_alt_stack.set(true));
        return;
    }
    let alt_stack = map_alt_stack();
    // SAFETY: `ALT_STACK` keeps the stack mapped while it is installed (its destructor
    // disables it before unmapping).
    unsafe { install_alt_stack(&alt_stack) };
    ALT_STACK.set(Some(alt_stack));
    STATE.with(|state| state.has_alt_stack.set(true));
}

/// The executable's alternate signal stack, given by its `main` before any wasm runs
/// ([`set_executable_signal_stack`]): address and size (null until then).
#[cfg(feature = "exe-main")]
static EXECUTABLE_STACK: (
    std::sync::atomic::AtomicPtr<u8>,
    std::sync::atomic::AtomicUsize,
) = (
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
    std::sync::atomic::AtomicUsize::new(0),
);

/// Gives the executable's alternate signal stack: a static buffer (`startup_heap`'s, after
/// the arena), whose pages cost nothing until a signal arrives.
///
/// # Safety
/// `stack` must be `size` bytes that nothing else uses, for the rest of the process.
#[cfg(feature = "exe-main")]
pub(crate) unsafe fn set_executable_signal_stack(stack: *mut u8, size: usize) {
    use std::sync::atomic::Ordering;
    EXECUTABLE_STACK.1.store(size, Ordering::Relaxed);
    EXECUTABLE_STACK.0.store(stack, Ordering::Release);
}

/// Installs the executable's alternate signal stack ([`set_executable_signal_stack`]). An
/// executable runs wasm on its main thread only, whose end is the process's, and nothing
/// else in it installs an alternate stack, so it is installed once and never released.
/// This saves the start-up a mapping, a `mprotect` for a guard page and a query (see
/// `benches/coldstart/`). It has no guard page, which the handler, a frame of a few
/// hundred bytes that neither recurses nor allocates (its deepest path, the report of a
/// host crash, stays far below the stack's 64 KiB), does not need. Without one given, the
/// handler runs on the thread's own stack, which the wasm stack limit leaves room on.
#[cfg(feature = "exe-main")]
pub(super) fn ensure_alt_stack() {
    use std::sync::atomic::Ordering;
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let stack = EXECUTABLE_STACK.0.load(Ordering::Acquire);
        if stack.is_null() {
            return;
        }
        let new = libc::stack_t {
            ss_sp: stack.cast(),
            ss_flags: 0,
            ss_size: EXECUTABLE_STACK.1.load(Ordering::Relaxed),
        };
        // SAFETY: the stack is the executable's for the rest of the process (the contract
        // of `set_executable_signal_stack`), so it stays accessible while installed.
        if unsafe { libc::sigaltstack(&new, std::ptr::null_mut()) } != 0 {
            panic!("kiln: cannot install an alternate signal stack");
        }
    });
    STATE.with(|state| state.has_alt_stack.set(true));
}

/// PC, SP and frame pointer of an interrupted context.
///
/// # Safety
/// `context` must be the `ucontext_t` a signal handler received.
unsafe fn context_registers(context: *mut libc::c_void) -> (usize, usize, usize) {
    let context = context.cast::<libc::ucontext_t>();
    // SAFETY: the caller passes the handler's context.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        {
            let registers = &(*context).uc_mcontext.gregs;
            (
                registers[libc::REG_RIP as usize] as usize,
                registers[libc::REG_RSP as usize] as usize,
                registers[libc::REG_RBP as usize] as usize,
            )
        }
        #[cfg(target_arch = "aarch64")]
        {
            let mcontext = &(*context).uc_mcontext;
            (
                mcontext.pc as usize,
                mcontext.sp as usize,
                mcontext.regs[29] as usize,
            )
        }
    }
}

/// Makes the interrupted context continue in `kiln_resume_unwind(buf)` on the guarded
/// call's stack.
///
/// # Safety
/// `context` must be the handler's `ucontext_t`; `buf` the active guard buffer.
unsafe fn redirect_to_resume(context: *mut libc::c_void, buf: *mut JmpBuf) {
    let context = context.cast::<libc::ucontext_t>();
    // SAFETY: the caller passes the handler's context and a live buffer.
    unsafe {
        let sp = (*buf).0[arch::SP_WORD];
        let resume = kiln_resume_unwind as *const () as usize;
        #[cfg(target_arch = "x86_64")]
        {
            let registers = &mut (*context).uc_mcontext.gregs;
            registers[libc::REG_RIP as usize] = resume as i64;
            registers[libc::REG_RDI as usize] = buf as i64;
            registers[libc::REG_RSP as usize] = sp as i64;
        }
        #[cfg(target_arch = "aarch64")]
        {
            let mcontext = &mut (*context).uc_mcontext;
            mcontext.pc = resume as u64;
            mcontext.regs[0] = buf as u64;
            mcontext.sp = sp as u64;
        }
    }
}

/// The signal handler. Takes no lock and allocates nothing.
unsafe extern "C" fn handle_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid context.
    let (pc, sp, fp) = unsafe { context_registers(context) };
    let guard = STATE.with(|state| state.guard.get());
    if !guard.is_null() {
        let trap_code = code::lookup(pc).and_then(|location| location.trap_code());
        if let Some(trap_code) = trap_code {
            // SAFETY: `guard` is the live guard of the innermost guarded call, on its
            // frame; its trap record is written through `Cell`s only.
            let record: &Guard = unsafe { &*guard };
            let stack_top = record.buf.0[arch::SP_WORD];
            record.trap_code.set(trap_code as u8);
            record.frames[0].set(pc);
            // SAFETY: the walk only reads frames between the trapping SP and the guarded
            // call's SP, which are this thread's live stack.
            let (n_frames, truncated) =
                unsafe { walk_frames(&record.frames[1..], fp, sp, stack_top) };
            record.n_frames.set(1 + n_frames);
            record.frames_truncated.set(truncated);
            // SAFETY: valid context and live buffer.
            unsafe { redirect_to_resume(context, &raw mut (*guard).buf) };
            return;
        }
    }
    // SAFETY: forwarding the handler's own arguments.
    unsafe { host_crash(signal, info, context, pc) };
}

/// Records the return addresses into compiled code by walking the frame-pointer chain
/// from `fp`; returns how many it wrote into `frames`, and whether more wasm frames
/// followed when `frames` was full.
///
/// # Safety
/// `[low, high)` must be readable stack memory of this thread.
unsafe fn walk_frames(
    frames: &[Cell<usize>],
    mut fp: usize,
    low: usize,
    high: usize,
) -> (usize, bool) {
    let mut count = 0;
    while fp >= low && fp.checked_add(16).is_some_and(|end| end <= high) && fp.is_multiple_of(8) {
        // SAFETY: `fp` and `fp + 8` lie within `[low, high)`, checked above.
        let (next_fp, return_address) =
            unsafe { (*(fp as *const usize), *(fp as *const usize).add(1)) };
        if return_address == 0 || code::lookup(return_address - 1).is_none() {
            break;
        }
        if count == frames.len() {
            return (count, true);
        }
        frames[count].set(return_address);
        count += 1;
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
    (count, false)
}

/// Reports a fault outside compiled code and lets the previous disposition handle it.
///
/// # Safety
/// The handler's own arguments.
unsafe fn host_crash(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
    pc: usize,
) {
    let mut message = MessageBuffer::new();
    message.push(b"kiln: host crash: signal ");
    message.push_decimal(signal as u64);
    message.push(b" at pc 0x");
    message.push_hex(pc as u64);
    message.push(b"\n");
    // SAFETY: write(2) is async-signal-safe; the buffer is valid.
    unsafe { libc::write(2, message.bytes.as_ptr().cast(), message.len) };

    let Some(index) = SIGNALS.iter().position(|&s| s == signal) else {
        return;
    };
    // SAFETY: `PREVIOUS` was written before this handler was installed.
    let previous = unsafe { (*PREVIOUS.0[index].get()).assume_init_ref() };
    let handler = previous.sa_sigaction;
    if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
        // SAFETY: chaining to the handler installed before ours, with its convention.
        unsafe {
            if previous.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(handler);
                f(signal, info, context);
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                f(signal);
            }
        }
        return;
    }
    // Back to the default action: returning re-executes the faulting instruction, and a
    // signal sent with kill(2) is raised again (it stays blocked until we return).
    // SAFETY: sigaction, signal and raise are async-signal-safe.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

/// A fixed-size message assembled without allocating.
struct MessageBuffer {
    bytes: [u8; 96],
    len: usize,
}

impl MessageBuffer {
    fn new() -> MessageBuffer {
        MessageBuffer {
            bytes: [0; 96],
            len: 0,
        }
    }

    fn push(&mut self, text: &[u8]) {
        for &byte in text {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = byte;
                self.len += 1;
            }
        }
    }

    fn push_decimal(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push(&digits[start..]);
    }

    fn push_hex(&mut self, value: u64) {
        let mut digits = [0u8; 16];
        for (index, digit) in digits.iter_mut().enumerate() {
            let nibble = (value >> (60 - 4 * index)) & 0xf;
            *digit = b"0123456789abcdef"[nibble as usize];
        }
        self.push(&digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_buffer_formats_numbers() {
        let mut message = MessageBuffer::new();
        message.push_decimal(0);
        message.push(b" ");
        message.push_decimal(1234);
        message.push(b" ");
        message.push_hex(0xdead_beef);
        assert_eq!(&message.bytes[..message.len], b"0 1234 00000000deadbeef");
    }
}
