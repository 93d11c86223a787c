// A WASI reactor in C: the C guest that `examples/embed` embeds. It uses wasi-libc
// (printf, getenv), so the host gives it a WASI context, and it imports one host function.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The host's score of a name.
__attribute__((import_module("host"), import_name("score")))
int32_t host_score(int32_t length, int32_t vowels);

static char name[256];

// The address of a 256-byte buffer where the host writes a name.
__attribute__((export_name("name_buffer")))
char *name_buffer(void) { return name; }

// Greets the name of `length` bytes in the buffer, with the greeting from the
// environment variable GREETING ("hello" when unset); returns the host's score.
__attribute__((export_name("greet")))
int32_t greet(int32_t length) {
    if (length < 0 || length >= (int32_t)sizeof name) length = 0;
    name[length] = '\0';
    int32_t vowels = 0;
    for (int32_t i = 0; i < length; i++) {
        if (strchr("aeiouAEIOU", name[i]) != NULL) vowels++;
    }
    const char *greeting = getenv("GREETING");
    int32_t score = host_score(length, vowels);
    printf("[guest] %s, %s! (%d vowels, score %d)\n", greeting ? greeting : "hello", name,
           vowels, score);
    fflush(stdout);
    return score;
}

// Reads past the end of linear memory: traps with an out-of-bounds access.
__attribute__((export_name("peek")))
int32_t peek(int32_t offset) {
    return *(volatile int32_t *)(uintptr_t)(0xfffffff0u + (uint32_t)offset);
}
