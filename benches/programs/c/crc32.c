/* CRC-32 (table-driven, reflected polynomial 0xEDB88320) and Adler-32 over an 8 MiB
 * buffer, several passes: byte loads, table lookups, shifts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define SIZE (8u << 20)

int main(void) {
    uint32_t table[256];
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    uint8_t *buffer = malloc(SIZE);
    for (uint32_t i = 0; i < SIZE; i++) buffer[i] = (uint8_t)bench_rng();

    bench_start();
    uint32_t crc = 0, adler_a = 1, adler_b = 0;
    for (int pass = 0; pass < 8; pass++) {
        uint32_t c = crc ^ 0xFFFFFFFFu;
        for (uint32_t i = 0; i < SIZE; i++) c = table[(c ^ buffer[i]) & 0xFF] ^ (c >> 8);
        crc = c ^ 0xFFFFFFFFu;
        for (uint32_t i = 0; i < SIZE; i++) {
            adler_a = (adler_a + buffer[i]) % 65521u;
            adler_b = (adler_b + adler_a) % 65521u;
        }
    }
    bench_end();

    printf("crc32 %08x adler32 %08x\n", crc, (adler_b << 16) | adler_a);
    free(buffer);
    return 0;
}
