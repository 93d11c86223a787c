/*
 * A compute workload whose output must match a native build bit for bit: a sieve (byte
 * loads and stores), qsort of pseudo-random 64-bit numbers (indirect calls through the
 * comparator), a table of function pointers, 64- and 128-bit integer math, and doubles
 * printed with printf. Only operations that are exactly specified are used (no libm
 * transcendental functions, whose last bits differ between C libraries). It also checks
 * that WASI clocks and randomness answer.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift64(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static uint64_t fnv1a(const void *data, size_t length) {
    const unsigned char *bytes = data;
    uint64_t hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < length; i++) {
        hash = (hash ^ bytes[i]) * 0x100000001b3ull;
    }
    return hash;
}

static void sieve(void) {
    enum { LIMIT = 200000 };
    static unsigned char composite[LIMIT + 1];
    uint32_t count = 0;
    uint64_t sum = 0;
    uint32_t largest = 0;
    for (uint32_t i = 2; i <= LIMIT; i++) {
        if (composite[i]) {
            continue;
        }
        count++;
        sum += i;
        largest = i;
        for (uint64_t j = (uint64_t)i * i; j <= LIMIT; j += i) {
            composite[j] = 1;
        }
    }
    printf("sieve: %" PRIu32 " primes below %d, sum %" PRIu64 ", largest %" PRIu32 "\n", count,
           LIMIT, sum, largest);
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int compare_u64_descending(const void *a, const void *b) {
    return compare_u64(b, a);
}

static void sorting(void) {
    enum { COUNT = 20000 };
    uint64_t *values = malloc(COUNT * sizeof *values);
    for (int i = 0; i < COUNT; i++) {
        values[i] = xorshift64() % 1000000007ull;
    }
    int (*comparators[2])(const void *, const void *) = {compare_u64, compare_u64_descending};
    for (int which = 0; which < 2; which++) {
        qsort(values, COUNT, sizeof *values, comparators[which]);
        printf("qsort %s: first %" PRIu64 ", median %" PRIu64 ", last %" PRIu64
               ", fnv1a %016" PRIx64 "\n",
               which == 0 ? "ascending" : "descending", values[0], values[COUNT / 2],
               values[COUNT - 1], fnv1a(values, COUNT * sizeof *values));
    }
    free(values);
}

typedef int64_t (*binary_op)(int64_t, int64_t);

static int64_t op_add(int64_t a, int64_t b) { return a + b; }
static int64_t op_sub(int64_t a, int64_t b) { return a - b; }
static int64_t op_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static int64_t op_div(int64_t a, int64_t b) { return b == 0 ? 0 : a / b; }
static int64_t op_rem(int64_t a, int64_t b) { return b == 0 ? 0 : a % b; }
static int64_t op_xor_rotate(int64_t a, int64_t b) {
    uint64_t x = (uint64_t)a ^ (uint64_t)b;
    return (int64_t)((x << 23) | (x >> 41));
}

static void integer_math(void) {
    static const struct {
        const char *name;
        binary_op op;
    } ops[] = {
        {"add", op_add}, {"sub", op_sub}, {"mul", op_mul},
        {"div", op_div}, {"rem", op_rem}, {"xor_rotate", op_xor_rotate},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        int64_t accumulator = -1234567890123ll;
        for (int step = 0; step < 1000; step++) {
            int64_t operand = (int64_t)(xorshift64() >> 40) - (1ll << 23);
            accumulator = ops[i].op(accumulator, operand) ^ (accumulator >> 3);
        }
        printf("int64 %-10s %" PRId64 "\n", ops[i].name, accumulator);
    }

    /* 128-bit products through compiler-rt's __multi3 on wasm32. No 128-bit division:
     * Debian's wasm32 compiler-rt builds it with a stack protector wasi-libc lacks. */
    unsigned __int128 product = 1;
    uint64_t high_sum = 0;
    for (int i = 0; i < 100; i++) {
        product = product * (xorshift64() | 1);
        product ^= product >> 71;
        high_sum += (uint64_t)(product >> 64);
    }
    printf("int128: low %016" PRIx64 ", high %016" PRIx64 ", high sum %" PRIu64 "\n",
           (uint64_t)product, (uint64_t)(product >> 64), high_sum);

    uint32_t bits = 0;
    for (uint64_t x = 1; x != 0; x <<= 3) {
        bits += (uint32_t)__builtin_popcountll(x * 0x0101010101010101ull);
        bits += (uint32_t)__builtin_clzll(x) + (uint32_t)__builtin_ctzll(x);
    }
    printf("bit counts: %" PRIu32 "\n", bits);
}

static void floating_point(void) {
    double pi = 0.0;
    for (int k = 0; k < 1000000; k++) {
        pi += (k % 2 == 0 ? 4.0 : -4.0) / (2.0 * k + 1.0);
    }
    printf("leibniz pi: %.12f\n", pi);

    double sum_sqrt = 0.0;
    float sum_float = 0.0f;
    for (int i = 1; i <= 10000; i++) {
        sum_sqrt += sqrt((double)i);
        sum_float += 1.0f / (float)i;
    }
    printf("sum sqrt: %.17g, harmonic float: %.9g\n", sum_sqrt, (double)sum_float);

    double values[] = {0.1 + 0.2, 1.0 / 3.0, 6.02214076e23, -1.5e-300, 1e300 * 1e10, -0.0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        printf("double %zu: %.17g %e %.3f\n", i, values[i], values[i], values[i]);
    }

    int64_t truncated = (int64_t)(pi * 1e15);
    uint32_t as_u32 = (uint32_t)(sum_sqrt * 1000.0);
    printf("conversions: %" PRId64 " %" PRIu32 " %.17g\n", truncated, as_u32,
           (double)(uint64_t)18446744073709549568ull);
}

static void system_interfaces(void) {
    struct timespec now;
    int clock_ok = clock_gettime(CLOCK_REALTIME, &now) == 0 && now.tv_sec > 1600000000;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    clock_gettime(CLOCK_MONOTONIC, &end);
    clock_ok = clock_ok && (end.tv_sec > start.tv_sec ||
                            (end.tv_sec == start.tv_sec && end.tv_nsec >= start.tv_nsec));
    printf("clocks: %s\n", clock_ok ? "ok" : "FAILED");

    unsigned char first[32], second[32];
    memset(first, 0, sizeof first);
    memset(second, 0, sizeof second);
    int random_ok = getentropy(first, sizeof first) == 0 &&
                    getentropy(second, sizeof second) == 0 &&
                    memcmp(first, second, sizeof first) != 0;
    printf("random: %s\n", random_ok ? "ok" : "FAILED");
}

int main(void) {
    sieve();
    sorting();
    integer_math();
    floating_point();
    system_interfaces();
    return 0;
}
