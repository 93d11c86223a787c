//! The guarded-call primitive for aarch64 (AAPCS64), in assembly: `kiln_call_guarded`
//! saves the callee-saved registers (x19-x28, fp, lr, sp, d8-d15) into a
//! `JmpBuf` (`state.rs`), then calls `f(arg)`; `kiln_resume_unwind` restores them and returns
//! 1 from that `kiln_call_guarded`. No C compiler and no `setjmp`.
//!
//! ```text
//!  JmpBuf word:  0..=9      10   11   12   13..=20
//!                x19..x28   x29  x30  sp   d8..d15
//! ```

/// Word index of the saved stack pointer in the buffer.
pub(super) const SP_WORD: usize = 12;

core::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl kiln_call_guarded",
    ".hidden kiln_call_guarded",
    ".type kiln_call_guarded, %function",
    "kiln_call_guarded:",
    ".cfi_startproc",
    // x0 = buf, x1 = f, x2 = arg.
    "stp x19, x20, [x0, #0]",
    "stp x21, x22, [x0, #16]",
    "stp x23, x24, [x0, #32]",
    "stp x25, x26, [x0, #48]",
    "stp x27, x28, [x0, #64]",
    "stp x29, x30, [x0, #80]",
    "mov x9, sp",
    "str x9, [x0, #96]",
    "stp d8, d9, [x0, #104]",
    "stp d10, d11, [x0, #120]",
    "stp d12, d13, [x0, #136]",
    "stp d14, d15, [x0, #152]",
    "stp x29, x30, [sp, #-16]!",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset x29, -16",
    ".cfi_offset x30, -8",
    "mov x29, sp",
    "mov x0, x2",
    "blr x1",
    "ldp x29, x30, [sp], #16",
    ".cfi_def_cfa_offset 0",
    "mov w0, #0",
    "ret",
    ".cfi_endproc",
    ".size kiln_call_guarded, . - kiln_call_guarded",
    "",
    ".p2align 4",
    ".globl kiln_resume_unwind",
    ".hidden kiln_resume_unwind",
    ".type kiln_resume_unwind, %function",
    "kiln_resume_unwind:",
    // x0 = buf. Entered from a rewritten signal context, never called.
    "ldp x19, x20, [x0, #0]",
    "ldp x21, x22, [x0, #16]",
    "ldp x23, x24, [x0, #32]",
    "ldp x25, x26, [x0, #48]",
    "ldp x27, x28, [x0, #64]",
    "ldp x29, x30, [x0, #80]",
    "ldr x9, [x0, #96]",
    "mov sp, x9",
    "ldp d8, d9, [x0, #104]",
    "ldp d10, d11, [x0, #120]",
    "ldp d12, d13, [x0, #136]",
    "ldp d14, d15, [x0, #152]",
    "mov w0, #1",
    "ret",
    ".size kiln_resume_unwind, . - kiln_resume_unwind",
);
