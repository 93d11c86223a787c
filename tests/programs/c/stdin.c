/*
 * Reads all of stdin and prints its size, line count and an FNV-1a 64 hash, so WASI
 * fd_read on stdin is checked against a native run.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

int main(void) {
    uint64_t hash = 0xcbf29ce484222325ull;
    uint64_t n_bytes = 0;
    uint64_t n_lines = 0;
    char buffer[1000];
    size_t n_read;
    while ((n_read = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
        for (size_t i = 0; i < n_read; i++) {
            hash = (hash ^ (unsigned char)buffer[i]) * 0x100000001b3ull;
            n_lines += buffer[i] == '\n';
        }
        n_bytes += n_read;
    }
    printf("bytes=%" PRIu64 " lines=%" PRIu64 " fnv1a=%016" PRIx64 "\n", n_bytes, n_lines, hash);
    return 0;
}
