/* The measured-region markers of kiln's own C benchmark programs, the sightglass
 * contract: on wasm the imports `bench.start` and `bench.end`; natively, the region's
 * CLOCK_MONOTONIC length in nanoseconds appended as one line to the file named by
 * KILN_BENCH_TIMES, the format kiln executables and every engine of the harness write. */
#ifndef KILN_BENCH_H
#define KILN_BENCH_H

#include <stdint.h>

#ifdef __wasm__
__attribute__((import_module("bench"), import_name("start"))) void bench_start(void);
__attribute__((import_module("bench"), import_name("end"))) void bench_end(void);
#else
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct timespec bench_started;

static void bench_start(void) { clock_gettime(CLOCK_MONOTONIC, &bench_started); }

static void bench_end(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const char *path = getenv("KILN_BENCH_TIMES");
    if (path == NULL) return;
    FILE *out = fopen(path, "a");
    if (out == NULL) return;
    long long elapsed = (long long)(now.tv_sec - bench_started.tv_sec) * 1000000000LL +
                        (now.tv_nsec - bench_started.tv_nsec);
    fprintf(out, "%lld\n", elapsed);
    fclose(out);
}
#endif

/* A deterministic xorshift64* generator, so every engine sees the same input. */
static uint64_t bench_rng_state = 0x5eed;

static uint64_t bench_rng(void) {
    bench_rng_state ^= bench_rng_state >> 12;
    bench_rng_state ^= bench_rng_state << 25;
    bench_rng_state ^= bench_rng_state >> 27;
    return bench_rng_state * 0x2545f4914f6cdd1dULL;
}

#endif
