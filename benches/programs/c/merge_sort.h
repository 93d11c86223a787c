/* A generic merge sort with qsort's interface, in a translation unit of its own
 * (merge_sort.c): the comparator is called through a pointer on both builds (call_indirect
 * on wasm), and native and wasm run the same sorting code rather than two C libraries'
 * qsort (glibc's merge sort and wasi-libc's smoothsort differ threefold). */
#ifndef KILN_MERGE_SORT_H
#define KILN_MERGE_SORT_H

#include <stddef.h>

/* Sorts `count` elements of `size` bytes at `base`, stable, with `compare` as qsort's.
 * Returns 0, or -1 if the scratch buffer could not be allocated. */
int merge_sort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *));

#endif
