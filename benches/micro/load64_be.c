/* Big-endian 64-bit reads over a 4 MiB buffer, 40 passes: libsodium's load64_be, the
 * shape of SHA-512's message input. Wasm has no byte swap, so LLVM writes
 * __builtin_bswap64 out as eight shifts and masks; kiln turns them back into one bswap
 * (compiler/src/translate/byte_loads.rs). See benches/README.md, "Byte loads combined".
 *   clang -O2 --target=wasm32-wasi benches/micro/load64_be.c -o load64_be.wasm */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static inline uint64_t load64_be(const uint8_t src[8]) {
    uint64_t w;
    memcpy(&w, src, 8);
    return __builtin_bswap64(w);
}
int main(void) {
    size_t n = 1 << 22;
    uint8_t *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(i * 131 + 7);
    uint64_t acc = 0;
    for (int pass = 0; pass < 40; pass++)
        for (size_t i = 0; i + 8 <= n; i += 8) acc = (acc ^ load64_be(buf + i)) * 0x100000001b3ULL;
    printf("%llx\n", (unsigned long long)acc);
    return 0;
}
