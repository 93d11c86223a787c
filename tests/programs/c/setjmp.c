// setjmp/longjmp end to end: built natively (cc) and for wasm32-wasi with zig's clang and
// `-mllvm -wasm-enable-sjlj` (longjmp throws a Wasm exception with the `__c_longjmp` tag,
// which the functions that call setjmp catch), it must print the same transcript. Only
// volatile locals are read after a longjmp returns to their function, as C requires.

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

// ---- 1. through several frames --------------------------------------------------------

static jmp_buf deep_env;

static int descend(int depth, int jump_at) {
    if (depth == jump_at) {
        printf("  longjmp from depth %d\n", depth);
        longjmp(deep_env, depth * 100);
    }
    int below = descend(depth + 1, jump_at);
    printf("  not reached: depth %d got %d\n", depth, below);
    return below + 1;
}

static void several_frames(void) {
    printf("several frames\n");
    volatile int rounds = 0;
    int value = setjmp(deep_env);
    printf("  setjmp returned %d (round %d)\n", value, rounds);
    if (rounds < 4) {
        rounds = rounds + 1;
        descend(0, rounds * 3);
    }
    printf("  after %d rounds\n", rounds);
}

// ---- 2. longjmp(env, 0) returns 1 ------------------------------------------------------

static void zero_value(void) {
    printf("longjmp with 0\n");
    jmp_buf env;
    volatile int jumped = 0;
    int value = setjmp(env);
    if (!jumped) {
        jumped = 1;
        longjmp(env, 0);
    }
    printf("  setjmp returned %d\n", value);
}

// ---- 3. an exception-like error stack ----------------------------------------------

struct handler {
    jmp_buf env;
    struct handler *outer;
};

static struct handler *current_handler;
static char error_message[64];

static void raise_error(int code, const char *message) {
    snprintf(error_message, sizeof error_message, "%s", message);
    longjmp(current_handler->env, code);
}

// Passes the error being handled on to the next handler out.
static void rethrow_error(int code) {
    longjmp(current_handler->env, code);
}

static int parse_digit(char c) {
    if (c < '0' || c > '9') {
        char message[48];
        snprintf(message, sizeof message, "not a digit: '%c'", c);
        raise_error(2, message);
    }
    return c - '0';
}

static int parse_number(const char *text) {
    if (*text == '\0') {
        raise_error(1, "empty number");
    }
    int value = 0;
    for (; *text != '\0'; ++text) {
        value = value * 10 + parse_digit(*text);
        if (value > 9999) {
            raise_error(3, "number too large");
        }
    }
    return value;
}

// Sums the numbers, each parse guarded by a handler of its own; a bad one is skipped with
// its error, and the outer handler sees only what the inner one rethrows (code 3).
static int sum_numbers(const char *const *numbers, int count) {
    struct handler outer;
    outer.outer = current_handler;
    current_handler = &outer;
    volatile int sum = 0;
    volatile int index = 0;
    int code = setjmp(outer.env);
    if (code != 0) {
        printf("  outer handler: code %d \"%s\" at index %d\n", code, error_message, index);
        current_handler = outer.outer;
        return -sum;
    }
    for (; index < count; index = index + 1) {
        struct handler inner;
        inner.outer = current_handler;
        current_handler = &inner;
        int inner_code = setjmp(inner.env);
        if (inner_code == 0) {
            int value = parse_number(numbers[index]);
            sum = sum + value;
            printf("  %s -> %d\n", numbers[index], value);
        } else if (inner_code == 3) {
            printf("  inner handler rethrows code %d\n", inner_code);
            current_handler = inner.outer;
            rethrow_error(inner_code);
        } else {
            printf("  skipped \"%s\": code %d \"%s\"\n", numbers[index], inner_code,
                   error_message);
        }
        current_handler = inner.outer;
    }
    current_handler = outer.outer;
    return sum;
}

static void error_stack(void) {
    printf("error stack\n");
    const char *const good[] = {"12", "x7", "", "305", "4"};
    printf("  sum %d\n", sum_numbers(good, 5));
    const char *const bad[] = {"1", "2", "123456", "3"};
    printf("  sum %d\n", sum_numbers(bad, 4));
    printf("  handlers left: %s\n", current_handler == NULL ? "none" : "some");
}

// ---- 4. many jumps -----------------------------------------------------------------

static jmp_buf loop_env;

static void jump_back(int depth, int value) {
    if (depth == 0) {
        longjmp(loop_env, value);
    }
    jump_back(depth - 1, value);
}

static void many_jumps(void) {
    printf("many jumps\n");
    volatile long long sum = 0;
    volatile int i = 0;
    int value = setjmp(loop_env);
    if (value != 0) {
        sum = sum + value;
        i = i + 1;
    }
    if (i < 50000) {
        jump_back(i % 8, i + 1);
    }
    printf("  %d jumps, sum %lld\n", i, sum);
}

int main(void) {
    several_frames();
    zero_value();
    error_stack();
    many_jumps();
    return 0;
}
