/* A C host of a module precompiled by kiln: it links libcalc.a (the module and the kiln
 * runtime) and includes calc.h, both made by `kiln compile --emit staticlib --header` (or
 * kiln_build's library functions). No compiler or wasm file is needed at run time. */
#include "calc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The host function the module imports as env::log. */
static void host_log(void *env, int32_t length, int64_t total) {
    int *count = env;
    (*count)++;
    printf("[host] log(%" PRId32 ", %" PRId64 ")\n", length, total);
}

static int fail(const char *what, kiln_error *error) {
    fprintf(stderr, "%s: %s\n", what, error ? kiln_error_message(error) : "failed");
    kiln_error_delete(error);
    return 1;
}

int main(void) {
    int logs = 0;
    calc_imports imports = {.env = &logs, .log = host_log};
    kiln_error *error = NULL;
    calc_instance *calc = calc_new(&imports, &error);
    if (calc == NULL) return fail("calc_new", error);

    int32_t sum;
    if ((error = calc_add(calc, 2, 3, &sum))) return fail("calc_add", error);
    printf("calc_add(2, 3) = %" PRId32 "\n", sum);

    double scaled;
    if ((error = calc_scale(calc, 1.5, 4.0f, &scaled))) return fail("calc_scale", error);
    printf("calc_scale(1.5, 4) = %g\n", scaled);

    size_t length;
    uint8_t *memory = calc_memory(calc, &length);
    const char *text = "kiln";
    memcpy(memory, text, strlen(text));
    int64_t total;
    if ((error = calc_sum(calc, (int32_t)strlen(text), &total))) return fail("calc_sum", error);
    printf("calc_sum(\"kiln\") = %" PRId64 " (memory of %zu bytes, %d log calls)\n", total,
           length, logs);

    /* A trap is an error value with a code and a backtrace; the instance stays usable. */
    int32_t quotient;
    error = calc_divide(calc, 1, 0, &quotient);
    if (error == NULL || kiln_error_trap_code(error) < 0) return fail("expected a trap", error);
    printf("calc_divide(1, 0) trapped: code %" PRId32 ", innermost frame %s\n",
           kiln_error_trap_code(error), kiln_error_backtrace_name(error, 0));
    printf("%s\n", kiln_error_message(error));
    kiln_error_delete(error);
    if ((error = calc_divide(calc, 84, 2, &quotient))) return fail("calc_divide", error);
    printf("after the trap, calc_divide(84, 2) = %" PRId32 "\n", quotient);

    int32_t calls;
    if ((error = calc_calls(calc, &calls))) return fail("calc_calls", error);
    printf("calls = %" PRId32 "\n", calls);
    if ((error = calc_set_calls(calc, 100))) return fail("calc_set_calls", error);
    if ((error = calc_add(calc, 0, 0, NULL))) return fail("calc_add", error);
    if ((error = calc_calls(calc, &calls))) return fail("calc_calls", error);
    printf("calls after setting 100 and one more call = %" PRId32 "\n", calls);

    calc_free(calc);

    /* Limits: an instance whose store caps each memory at 32 KiB cannot be made, since
     * calc's memory starts with one 64 KiB page. */
    kiln_limits limits = {.max_memory_bytes = 32 << 10};
    calc_instance *small = calc_new_limited(&imports, &limits, &error);
    if (small != NULL) return fail("expected the memory cap to refuse calc", NULL);
    printf("under a 32 KiB memory cap: %s\n", kiln_error_message(error));
    kiln_error_delete(error);
    printf("done\n");
    return 0;
}
