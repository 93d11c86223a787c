/* Dense matrix multiply, double, 384 x 384, i-k-j loop order, eight times. Build without
 * FMA contraction (-ffp-contract=off) so native and wasm round alike. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define N 384

int main(void) {
    double *a = malloc(N * N * sizeof *a), *b = malloc(N * N * sizeof *b), *c = malloc(N * N * sizeof *c);
    for (int i = 0; i < N * N; i++) a[i] = (double)(bench_rng() % 1000) / 100.0;
    for (int i = 0; i < N * N; i++) b[i] = (double)(bench_rng() % 1000) / 100.0;

    bench_start();
    for (int rep = 0; rep < 8; rep++) {
        for (int i = 0; i < N * N; i++) c[i] = 0.0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double a_ik = a[i * N + k];
                for (int j = 0; j < N; j++) c[i * N + j] += a_ik * b[k * N + j];
            }
    }
    bench_end();

    double trace = 0.0, total = 0.0;
    for (int i = 0; i < N; i++) trace += c[i * N + i];
    for (int i = 0; i < N * N; i++) total += c[i];
    printf("matmul %dx%d trace %.3f sum %.3f\n", N, N, trace, total);
    return 0;
}
