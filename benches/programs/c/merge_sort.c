/* See merge_sort.h. Top-down merge sort into a scratch buffer of the same size, elements
 * moved a 64-bit word at a time when their size allows, else a byte at a time (no memcpy
 * call, so the two builds' C libraries do not enter the measurement). */
#include "merge_sort.h"

#include <stdint.h>
#include <stdlib.h>

static void move_element(unsigned char *to, const unsigned char *from, size_t size) {
    if (size % sizeof(uint64_t) == 0) {
        uint64_t *to_words = (uint64_t *)to;
        const uint64_t *from_words = (const uint64_t *)from;
        for (size_t i = 0; i < size / sizeof(uint64_t); i++) to_words[i] = from_words[i];
    } else {
        for (size_t i = 0; i < size; i++) to[i] = from[i];
    }
}

/* Sorts `count` elements of `items` using `scratch` (as large) as the merge buffer. */
static void sort_range(unsigned char *items, unsigned char *scratch, size_t count, size_t size,
                       int (*compare)(const void *, const void *)) {
    if (count < 2) return;
    size_t left = count / 2, right = count - left;
    unsigned char *middle = items + left * size;
    sort_range(items, scratch, left, size, compare);
    sort_range(middle, scratch, right, size, compare);
    if (compare(middle - size, middle) <= 0) return; /* already in order */
    unsigned char *a = items, *a_end = middle, *b = middle, *b_end = items + count * size;
    unsigned char *out = scratch;
    while (a < a_end && b < b_end) {
        if (compare(b, a) < 0) {
            move_element(out, b, size);
            b += size;
        } else {
            move_element(out, a, size);
            a += size;
        }
        out += size;
    }
    for (; a < a_end; a += size, out += size) move_element(out, a, size);
    /* What is left of the right half is already in place. */
    for (unsigned char *from = scratch; from < out; from += size, items += size)
        move_element(items, from, size);
}

int merge_sort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *)) {
    if (count < 2) return 0;
    if (size != 0 && count > SIZE_MAX / size) return -1;
    unsigned char *scratch = malloc(count * size);
    if (scratch == NULL) return -1;
    sort_range(base, scratch, count, size, compare);
    free(scratch);
    return 0;
}
