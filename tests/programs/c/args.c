/*
 * Prints its arguments (not argv[0], which differs between a native run, a kiln-built
 * executable and `kiln run`) and the size of its environment, writes one line to stderr,
 * and exits with the code given as the first argument.
 *
 * A first argument of the form `xN` exits with N through `exit()` called two functions
 * deep; a plain number `N` is returned from `main`. Both end in WASI `proc_exit`.
 */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

static void finish(int code) {
    fflush(stdout);
    exit(code);
}

static void maybe_exit_early(const char *arg) {
    if (arg[0] == 'x') {
        printf("exiting early with %d\n", atoi(arg + 1));
        finish(atoi(arg + 1));
    }
}

int main(int argc, char **argv) {
    int n_environ = 0;
    for (char **entry = environ; entry && *entry; entry++) {
        n_environ++;
    }
    printf("argc=%d environ=%d\n", argc, n_environ);
    for (int i = 1; i < argc; i++) {
        printf("argv[%d]=\"%s\"\n", i, argv[i]);
    }
    fprintf(stderr, "args: this line goes to stderr\n");
    if (argc < 2) {
        return 0;
    }
    maybe_exit_early(argv[1]);
    return atoi(argv[1]);
}
