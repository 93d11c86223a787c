// The Wasm tag C++ exceptions are thrown with, payload the i32 address of the
// _Unwind_Exception (wasm32). clang 14 gave every object that throws or catches a weak
// definition of `__cpp_exception`; zig 0.17's clang 22 only refers to it (the objects list
// it as an undefined tag) and expects the runtime library to define it, which the copy of
// libunwind's Unwind-wasm.c in zig 0.17 does not. The EH runtime that
// cli/tests/other_languages.rs builds therefore defines it here.
__asm__(".globl __cpp_exception\n"
        ".tagtype __cpp_exception i32\n"
        "__cpp_exception:\n");
