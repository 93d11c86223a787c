/* Sorting 2 million pseudo-random 64-bit keys with a qsort-style merge sort (merge_sort.c,
 * its own translation unit: indirect calls to the comparator, call_indirect on wasm) and a
 * hand-written heapsort of 1 million 32-bit keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "merge_sort.h"

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void sift_down(uint32_t *keys, size_t root, size_t end) {
    while (2 * root + 1 < end) {
        size_t child = 2 * root + 1;
        if (child + 1 < end && keys[child] < keys[child + 1]) child++;
        if (keys[root] >= keys[child]) return;
        uint32_t swap = keys[root];
        keys[root] = keys[child];
        keys[child] = swap;
        root = child;
    }
}

static void heapsort_u32(uint32_t *keys, size_t count) {
    for (size_t start = count / 2; start-- > 0;) sift_down(keys, start, count);
    for (size_t end = count; end-- > 1;) {
        uint32_t swap = keys[0];
        keys[0] = keys[end];
        keys[end] = swap;
        sift_down(keys, 0, end);
    }
}

int main(void) {
    const size_t wide_count = 2000000, narrow_count = 1000000;
    uint64_t *wide = malloc(wide_count * sizeof *wide);
    uint32_t *narrow = malloc(narrow_count * sizeof *narrow);
    for (size_t i = 0; i < wide_count; i++) wide[i] = bench_rng();
    for (size_t i = 0; i < narrow_count; i++) narrow[i] = (uint32_t)bench_rng();

    bench_start();
    if (merge_sort(wide, wide_count, sizeof *wide, compare_u64) != 0) return 2;
    heapsort_u32(narrow, narrow_count);
    bench_end();

    uint64_t checksum = 0;
    for (size_t i = 0; i < wide_count; i += 1000) checksum = ((checksum << 5) | (checksum >> 59)) ^ wide[i];
    for (size_t i = 0; i < narrow_count; i += 997) checksum = checksum * 31 + narrow[i];
    for (size_t i = 1; i < wide_count; i++)
        if (wide[i - 1] > wide[i]) return 1;
    printf("sorted %zu %zu checksum %016llx\n", wide_count, narrow_count, (unsigned long long)checksum);
    free(wide);
    free(narrow);
    return 0;
}
