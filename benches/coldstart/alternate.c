/* Cold start of two programs, measured with alternating spawns:
 * `alternate ROUNDS PROGRAM_A PROGRAM_B` runs A then B, ROUNDS times, each with
 * posix_spawn and its stdout on /dev/null, and prints for each the median and the
 * 10th/90th percentiles of spawn-to-reap wall time, and the median of the pairwise ratios
 * A/B. Alternating puts both under the same machine load, so the ratio holds on a shared
 * machine where the times do not. (Peak RSS is not measured here: a child spawned with
 * vfork semantics reports its parent's resident set; run.sh asks GNU time.) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One spawn of `program`: its wall time in µs. */
static double spawn_once(const char *program) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)program, NULL};
    double started = now_us();
    pid_t pid;
    if (posix_spawn(&pid, program, &actions, NULL, argv, environ) != 0) {
        perror(program);
        exit(2);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "%s did not exit with 0\n", program);
        exit(2);
    }
    double wall = now_us() - started;
    posix_spawn_file_actions_destroy(&actions);
    return wall;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *values, int n, int p) {
    qsort(values, n, sizeof *values, by_value);
    return values[(n - 1) * p / 100];
}

int main(int argc, char **argv) {
    if (argc != 4 || atoi(argv[1]) < 1) {
        fprintf(stderr, "usage: alternate ROUNDS PROGRAM_A PROGRAM_B\n");
        return 2;
    }
    int rounds = atoi(argv[1]);
    double *a = malloc(rounds * sizeof *a), *b = malloc(rounds * sizeof *b);
    double *ratio = malloc(rounds * sizeof *ratio);
    for (int i = 0; i < rounds; i++) {
        a[i] = spawn_once(argv[2]);
        b[i] = spawn_once(argv[3]);
        ratio[i] = a[i] / b[i];
    }
    const char *names[] = {argv[2], argv[3]};
    double *times[] = {a, b};
    for (int k = 0; k < 2; k++) {
        double p10 = percentile(times[k], rounds, 10), p90 = percentile(times[k], rounds, 90);
        printf("%s: median %.1f us (p10 %.1f, p90 %.1f)\n", names[k],
               percentile(times[k], rounds, 50), p10, p90);
    }
    printf("median of A/B: %.3f\n", percentile(ratio, rounds, 50));
    return 0;
}
