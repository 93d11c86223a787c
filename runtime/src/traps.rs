//! Traps: turning a trapping instruction of compiled code into a returned value.
//!
//! Every entry from the host into wasm goes through [`call_guarded`], which records a
//! resume point with the assembly primitive `kiln_call_guarded` (see `traps/<arch>.rs`) and
//! publishes it in a thread-local. Compiled code traps by executing a trapping instruction
//! (`ud2`/`udf`, a faulting heap access in a guard region, x86 `idiv`), so the kernel
//! delivers SIGILL, SIGSEGV, SIGBUS or SIGFPE. The handler, running on a per-thread
//! alternate stack:
//!
//! 1. reads the PC, SP and frame pointer from the signal context;
//! 2. looks the PC up in the code registry (`code.rs`, lock-free);
//! 3. if the PC is a trap site and the thread is inside a guarded call, records the trap
//!    code and a frame-pointer backtrace in a fixed-size thread-local (no allocation), and
//!    rewrites the context so that returning from the handler continues in
//!    `kiln_resume_unwind` (first argument: the resume buffer), which makes
//!    `kiln_call_guarded` return 1; `sigreturn` restores the signal mask;
//! 4. otherwise reports a host crash on stderr with `write(2)` and re-raises the signal
//!    with the previous disposition (chaining to a previously installed handler, such as
//!    Rust's stack-overflow reporter).
//!
//! The frames skipped by the jump are compiled code, the trampolines and one
//! `extern "C"` shim with nothing to drop: no Rust frame with live state is skipped,
//! because host functions and builtins return to compiled code before it traps.
//!
//! Thread-locals read by the handler are const-initialised and have no destructor, so
//! touching them never allocates or registers anything. The alternate stack is the one
//! thread-local with a destructor; the handler never touches it.

use kiln_abi::vmctx::VMLimits;
use kiln_abi::TrapCode;
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::Once;

#[cfg(target_arch = "aarch64")]
#[path = "traps/aarch64.rs"]
mod arch;
#[cfg(target_arch = "x86_64")]
#[path = "traps/x86_64.rs"]
mod arch;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kiln-runtime supports x86_64 and aarch64 only");

/// Maximum number of frames a trap's backtrace records.
pub(crate) const MAX_FRAMES: usize = 64;

/// Size of the alternate signal stack of each thread (a guard page sits below it).
const ALT_STACK_SIZE: usize = 64 * 1024;

/// Stack kept free below the wasm stack limit for host functions and builtins that wasm
/// calls when it is close to the limit.
const HOST_STACK_MARGIN: usize = 128 * 1024;

/// Saved registers of a guarded call; the layout is the assembly's (see `traps/<arch>.rs`).
#[repr(C, align(16))]
pub(crate) struct JmpBuf([usize; 24]);

extern "C" {
    /// Saves the callee-saved registers, stack pointer and return address into `buf`, calls
    /// `f(arg)` and returns 0; returns 1 when `kiln_resume_unwind(buf)` runs instead.
    fn kiln_call_guarded(buf: *mut JmpBuf, f: unsafe extern "C" fn(*mut u8), arg: *mut u8) -> u32;
    /// Restores the state saved in `buf`; entered only from a rewritten signal context.
    fn kiln_resume_unwind(buf: *mut JmpBuf) -> !;
}

/// Per-thread trap state. Const-initialised, no destructor: the signal handler reads and
/// writes it.
struct ThreadState {
    /// The innermost active guarded call's buffer, or null outside wasm.
    guard: Cell<*mut JmpBuf>,
    /// The stack limit for wasm on this thread, set by the outermost guarded call.
    stack_limit: Cell<usize>,
    /// Lowest usable address of this thread's stack (0 until computed).
    stack_low: Cell<usize>,
    /// The last trap's code.
    trap_code: Cell<u8>,
    /// Number of valid entries in `frames`.
    n_frames: Cell<usize>,
    /// Whether the last trap had more wasm frames than `frames` holds.
    frames_truncated: Cell<bool>,
    /// The last trap's PC followed by return addresses into compiled code.
    frames: [Cell<usize>; MAX_FRAMES],
}

impl ThreadState {
    const fn new() -> ThreadState {
        ThreadState {
            guard: Cell::new(std::ptr::null_mut()),
            stack_limit: Cell::new(0),
            stack_low: Cell::new(0),
            trap_code: Cell::new(0),
            n_frames: Cell::new(0),
            frames_truncated: Cell::new(false),
            frames: [const { Cell::new(0) }; MAX_FRAMES],
        }
    }
}

thread_local! {
    static STATE: ThreadState = const { ThreadState::new() };
    /// This thread's alternate signal stack, once installed.
    static ALT_STACK: Cell<Option<AltStack>> = const { Cell::new(None) };
}

/// A trap caught by [`call_guarded`], before symbolisation.
#[derive(Clone, Debug)]
pub(crate) struct CaughtTrap {
    /// Why compiled code trapped.
    pub code: TrapCode,
    /// The trapping PC, then return addresses into compiled code, innermost first.
    pub frames: Vec<usize>,
    /// Whether outer wasm frames were left out ([`MAX_FRAMES`] were recorded).
    pub truncated: bool,
}

/// Runs `f`, which calls compiled code, so that a trap in that code (on this thread)
/// returns `Err` here instead of killing the process.
///
/// The outermost guarded call of a thread sets the wasm stack limit to the current stack
/// pointer minus `max_wasm_stack` (less if the thread's stack is smaller); every guarded
/// call writes that limit into `*limits` for its duration.
///
/// # Safety
/// `limits` must point to the `VMLimits` the compiled code called by `f` reads. `f` must
/// not own anything that needs dropping across its call into compiled code: when the code
/// traps, the frames between here and the trap are discarded without unwinding.
pub(crate) unsafe fn call_guarded(
    limits: *mut VMLimits,
    max_wasm_stack: usize,
    f: &mut dyn FnMut(),
) -> Result<(), CaughtTrap> {
    install_handlers();
    ensure_alt_stack();
    let outermost = STATE.with(|state| state.guard.get().is_null());
    if outermost {
        let limit = compute_stack_limit(max_wasm_stack);
        STATE.with(|state| state.stack_limit.set(limit));
    }
    let limit = STATE.with(|state| state.stack_limit.get());
    // SAFETY: the caller guarantees `limits` is valid.
    let saved_limit = unsafe { std::ptr::replace(&raw mut (*limits).stack_limit, limit) };

    let mut buf = JmpBuf([0; 24]);
    let previous = STATE.with(|state| state.guard.replace(&mut buf));
    let mut f: &mut dyn FnMut() = f;
    // SAFETY: `buf` outlives the call; `call_closure` receives a pointer to `f` (a
    // `&mut dyn FnMut()`), which lives on this frame for the whole call.
    let status = unsafe { kiln_call_guarded(&mut buf, call_closure, (&raw mut f).cast::<u8>()) };
    STATE.with(|state| state.guard.set(previous));
    // SAFETY: as above.
    unsafe { (*limits).stack_limit = saved_limit };

    if status == 0 {
        return Ok(());
    }
    Err(STATE.with(|state| {
        let n_frames = state.n_frames.get().min(MAX_FRAMES);
        CaughtTrap {
            code: TrapCode::from_u8(state.trap_code.get()).unwrap_or(TrapCode::Unreachable),
            frames: state.frames[..n_frames].iter().map(Cell::get).collect(),
            truncated: state.frames_truncated.get(),
        }
    }))
}

/// Calls the `&mut dyn FnMut()` that `closure` points to.
///
/// # Safety
/// `closure` must point to a live `&mut dyn FnMut()`.
unsafe extern "C" fn call_closure(closure: *mut u8) {
    // SAFETY: the caller passes a pointer to a `&mut dyn FnMut()` (see `call_guarded`).
    let f = unsafe { &mut *closure.cast::<&mut dyn FnMut()>() };
    f();
}

/// The current stack pointer (approximately: the address of a local).
#[inline(never)]
fn current_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&raw const marker) as usize
}

/// The wasm stack limit for a guarded call starting here.
fn compute_stack_limit(max_wasm_stack: usize) -> usize {
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
    // SAFETY: `getpid` and `gettid` have no preconditions.
    let main_thread = unsafe { libc::getpid() == libc::gettid() };
    if main_thread {
        main_thread_stack_low(sp)
    } else {
        thread_stack_low().filter(|&low| low < sp).unwrap_or(1)
    }
}

/// The main thread's stack grows on demand up to `RLIMIT_STACK` below its top, so its
/// bottom follows from the limit. `pthread_getattr_np` is not asked: glibc answers by
/// reading `/proc/self/maps` (a tenth of a hello-world's start-up), musl reports only the
/// part mapped so far, and under qemu-user glibc may report a bottom above the stack
/// pointer.
fn main_thread_stack_low(sp: usize) -> usize {
    let mut limit = MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: `getrlimit` writes the limit into `limit` when it returns 0.
    let stack_size = if unsafe { libc::getrlimit(libc::RLIMIT_STACK, limit.as_mut_ptr()) } == 0 {
        // SAFETY: initialised by the successful call above.
        let current = unsafe { limit.assume_init() }.rlim_cur;
        if current == libc::RLIM_INFINITY {
            64 << 20
        } else {
            current as usize
        }
    } else {
        8 << 20
    };
    // Above `sp` lie the arguments and environment (Linux caps them at a quarter of the
    // limit) and the start-up frames.
    let used_above = stack_size / 4 + 256 * 1024;
    sp.saturating_sub(stack_size.saturating_sub(used_above))
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
pub(crate) fn install_handlers() {
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
#[derive(Debug)]
struct AltStack {
    mapping: *mut libc::c_void,
    mapping_len: usize,
    stack: *mut libc::c_void,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: we disable the alternate stack only if it is still ours, then unmap our
        // own mapping, which no handler can be running on (this thread is exiting).
        unsafe {
            let mut current = MaybeUninit::<libc::stack_t>::zeroed();
            if libc::sigaltstack(std::ptr::null(), current.as_mut_ptr()) == 0
                && current.assume_init().ss_sp == self.stack
            {
                let disable = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: ALT_STACK_SIZE,
                };
                libc::sigaltstack(&disable, std::ptr::null_mut());
            }
            libc::munmap(self.mapping, self.mapping_len);
        }
    }
}

/// Gives this thread an alternate signal stack of at least `ALT_STACK_SIZE` bytes, unless
/// it already has one that large.
fn ensure_alt_stack() {
    ALT_STACK.with(|slot| {
        let existing = slot.take();
        let installed = existing.is_some();
        slot.set(existing);
        if installed {
            return;
        }
        // SAFETY: querying the current alternate stack has no preconditions.
        let current = unsafe {
            let mut current = MaybeUninit::<libc::stack_t>::zeroed();
            libc::sigaltstack(std::ptr::null(), current.as_mut_ptr());
            current.assume_init()
        };
        if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= ALT_STACK_SIZE {
            return;
        }
        let page = page_size();
        let mapping_len = ALT_STACK_SIZE + page;
        // SAFETY: a fresh anonymous mapping; the first page stays PROT_NONE as a guard and
        // the rest becomes the stack, installed with `sigaltstack`.
        unsafe {
            let mapping = libc::mmap(
                std::ptr::null_mut(),
                mapping_len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if mapping == libc::MAP_FAILED {
                panic!("kiln: cannot map an alternate signal stack");
            }
            let stack = mapping.cast::<u8>().add(page).cast::<libc::c_void>();
            if libc::mprotect(stack, ALT_STACK_SIZE, libc::PROT_READ | libc::PROT_WRITE) != 0 {
                panic!("kiln: cannot map an alternate signal stack");
            }
            let new = libc::stack_t {
                ss_sp: stack,
                ss_flags: 0,
                ss_size: ALT_STACK_SIZE,
            };
            if libc::sigaltstack(&new, std::ptr::null_mut()) != 0 {
                panic!("kiln: cannot install an alternate signal stack");
            }
            slot.set(Some(AltStack {
                mapping,
                mapping_len,
                stack,
            }));
        }
    });
}

/// The system page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|size| *size > 0)
        .unwrap_or(4096)
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
        let trap_code = crate::code::lookup(pc).and_then(|location| location.trap_code());
        if let Some(trap_code) = trap_code {
            // SAFETY: `guard` is the live buffer of the innermost guarded call.
            let stack_top = unsafe { (*guard).0[arch::SP_WORD] };
            STATE.with(|state| {
                state.trap_code.set(trap_code as u8);
                state.frames[0].set(pc);
                // SAFETY: the walk only reads frames between the trapping SP and the guarded
                // call's SP, which are this thread's live stack.
                let (n_frames, truncated) =
                    unsafe { walk_frames(&state.frames[1..], fp, sp, stack_top) };
                state.n_frames.set(1 + n_frames);
                state.frames_truncated.set(truncated);
            });
            // SAFETY: valid context and live buffer.
            unsafe { redirect_to_resume(context, guard) };
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
        if return_address == 0 || crate::code::lookup(return_address - 1).is_none() {
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
mod tests;
