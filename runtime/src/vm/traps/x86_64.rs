//! The guarded-call primitive for x86_64 (System V), in assembly: `kiln_call_guarded`
//! saves the callee-saved registers, the stack pointer and its return address into a
//! `JmpBuf` (`state.rs`), then calls `f(arg)`; `kiln_resume_unwind` restores them and returns
//! 1 from that `kiln_call_guarded`. No C compiler and no `setjmp`.
//!
//! ```text
//!  JmpBuf word:  0    1    2    3    4    5    6                   7
//!                rbx  rbp  r12  r13  r14  r15  rsp after return    return address
//! ```

/// Word index of the saved stack pointer in the buffer.
pub(super) const SP_WORD: usize = 6;

core::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl kiln_call_guarded",
    ".hidden kiln_call_guarded",
    ".type kiln_call_guarded, @function",
    "kiln_call_guarded:",
    ".cfi_startproc",
    // rdi = buf, rsi = f, rdx = arg.
    "mov [rdi], rbx",
    "mov [rdi + 8], rbp",
    "mov [rdi + 16], r12",
    "mov [rdi + 24], r13",
    "mov [rdi + 32], r14",
    "mov [rdi + 40], r15",
    "lea rax, [rsp + 8]",
    "mov [rdi + 48], rax",
    "mov rax, [rsp]",
    "mov [rdi + 56], rax",
    // Realign the stack to 16 bytes for the call.
    "sub rsp, 8",
    ".cfi_adjust_cfa_offset 8",
    "mov rdi, rdx",
    "call rsi",
    "add rsp, 8",
    ".cfi_adjust_cfa_offset -8",
    "xor eax, eax",
    "ret",
    ".cfi_endproc",
    ".size kiln_call_guarded, . - kiln_call_guarded",
    "",
    ".p2align 4",
    ".globl kiln_resume_unwind",
    ".hidden kiln_resume_unwind",
    ".type kiln_resume_unwind, @function",
    "kiln_resume_unwind:",
    // rdi = buf. Entered from a rewritten signal context, never called.
    "mov rbx, [rdi]",
    "mov rbp, [rdi + 8]",
    "mov r12, [rdi + 16]",
    "mov r13, [rdi + 24]",
    "mov r14, [rdi + 32]",
    "mov r15, [rdi + 40]",
    "mov rsp, [rdi + 48]",
    "mov eax, 1",
    "jmp qword ptr [rdi + 56]",
    ".size kiln_resume_unwind, . - kiln_resume_unwind",
);
