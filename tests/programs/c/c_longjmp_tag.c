// The Wasm tag longjmp throws with under `-mllvm -wasm-enable-sjlj`, payload the i32
// address of the jump's arguments (wasm32). zig 0.17's clang 22 and its wasi-libc
// (`__wasm_longjmp` in `libc-top-half/musl/src/setjmp/wasm32/rt.c`) both refer to
// `__c_longjmp` and leave defining it to the program, so cli/tests/other_languages.rs links
// this with `setjmp.c`.
__asm__(".globl __c_longjmp\n"
        ".tagtype __c_longjmp i32\n"
        "__c_longjmp:\n");
