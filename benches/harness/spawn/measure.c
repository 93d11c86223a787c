/* The harness's spawner: `measure RESULT_FILE TIMEOUT_S PROGRAM ARGS...` forks, runs
 * PROGRAM with the inherited stdio, working directory and environment, waits for it with
 * wait4 and writes `WALL_NS MAXRSS_KIB STATUS` to RESULT_FILE. A program still running
 * after TIMEOUT_S seconds is killed (SIGKILL: STATUS 137).
 *
 * Why a separate small program: Linux carries a process's peak RSS across exec, and a
 * child created by fork or vfork starts from its parent's resident set, so a child of
 * the harness (which embeds Wasmtime) would report at least the harness's own peak. A
 * child of this small process starts from almost nothing. STATUS is the exit code, or
 * 128 + the signal that ended the program. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

static pid_t child;

static void on_alarm(int signal_number) {
    (void)signal_number;
    kill(child, SIGKILL);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: measure RESULT_FILE TIMEOUT_S PROGRAM [ARGS...]\n");
        return 2;
    }
    unsigned timeout = (unsigned)strtoul(argv[2], NULL, 10);
    struct timespec started, finished;
    clock_gettime(CLOCK_MONOTONIC, &started);
    pid_t pid = child = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        perror("measure: exec");
        _exit(127);
    }
    signal(SIGALRM, on_alarm);
    alarm(timeout);
    int status = 0;
    struct rusage usage;
    pid_t waited;
    do {
        waited = wait4(pid, &status, 0, &usage);
    } while (waited < 0 && errno == EINTR);
    alarm(0);
    if (waited != pid) {
        perror("measure: wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &finished);
    long long wall = (long long)(finished.tv_sec - started.tv_sec) * 1000000000LL +
                     (finished.tv_nsec - started.tv_nsec);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *out = fopen(argv[1], "w");
    if (out == NULL) {
        perror("measure: result file");
        return 2;
    }
    fprintf(out, "%lld %ld %d\n", wall, usage.ru_maxrss, code);
    fclose(out);
    return 0;
}
