/*
 * stdio through pipes, for cli/tests/wasi_programs.rs, which runs it natively, under
 * `kiln run` and as a `kiln build` executable with the same pipes and compares what each
 * prints. The first argument picks what to do:
 *
 * - `poll`: polls stdin (a pipe the test holds open) while it is empty: poll returns 0
 *   after its timeout; makes stdin non-blocking (a read fails with EAGAIN); says
 *   `ready for data` and polls until the test writes a line, which it reads; says `ready
 *   for eof` and polls until the test closes the pipe: ready, and read returns 0.
 * - `read`: reads stdin to its end with 1 MiB reads, prints the byte count and an FNV-1a
 *   hash.
 * - `write N`: writes N bytes of a pattern to stdout (first a few odd-sized writes, then
 *   the rest in one call, retrying short writes) and the count to stderr.
 * - `epipe`: reads stdin to its end (the test closes the reading end of stdout first),
 *   then writes to stdout, small and large: each write fails with EPIPE instead of the
 *   process dying of SIGPIPE. The native build ignores SIGPIPE, as kiln does for its guests.
 *
 * Everything goes through write(2)/read(2)/poll(2) (WASI fd_write, fd_read, poll_oneoff);
 * timing facts are printed as yes/no against generous bounds.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errno_name.h"

#ifndef __wasi__
#include <signal.h>
#endif

static void say(int fd, const char *text) {
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t n = write(fd, text, length);
        if (n <= 0) {
            return;
        }
        text += n;
        length -= (size_t)n;
    }
}

static void sayf(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void sayf(const char *format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    say(1, line);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *yes_no(int condition) { return condition ? "yes" : "no"; }

/* Polls stdin for reading with `timeout_ms`, printing what came back as `label`. */
static int poll_stdin(const char *label, int timeout_ms) {
    struct pollfd fds = {.fd = 0, .events = POLLIN};
    int64_t start = now_ms();
    int result = poll(&fds, 1, timeout_ms);
    int64_t waited = now_ms() - start;
    int error = result < 0 ? errno : 0;
    sayf("%s: poll=%d errno=%s ready=%s", label, result, errno_name(error),
         yes_no(result == 1 && (fds.revents & (POLLIN | POLLHUP)) != 0));
    if (result == 0) {
        sayf(", waited at least %d ms: %s", timeout_ms, yes_no(waited >= timeout_ms));
    }
    say(1, "\n");
    return result;
}

static int mode_poll(void) {
    poll_stdin("empty pipe, 100 ms", 100);
    poll_stdin("empty pipe, 0 ms", 0);

    int flags = fcntl(0, F_GETFL);
    int set = fcntl(0, F_SETFL, flags | O_NONBLOCK);
    sayf("set O_NONBLOCK: %d, now non-blocking: %s\n", set,
         yes_no((fcntl(0, F_GETFL) & O_NONBLOCK) != 0));
    char buffer[256];
    ssize_t n = read(0, buffer, sizeof buffer);
    sayf("non-blocking read of the empty pipe: %zd %s\n", n, errno_name(n < 0 ? errno : 0));

    say(1, "ready for data\n");
    poll_stdin("data written", 30000);
    n = read(0, buffer, sizeof buffer);
    sayf("read: %zd [%.*s]\n", n, n > 0 ? (int)n - 1 : 0, buffer);
    n = read(0, buffer, sizeof buffer);
    sayf("read again: %zd %s\n", n, errno_name(n < 0 ? errno : 0));

    say(1, "ready for eof\n");
    poll_stdin("writer closed", 30000);
    n = read(0, buffer, sizeof buffer);
    sayf("read at eof: %zd %s\n", n, errno_name(n < 0 ? errno : 0));
    return 0;
}

static int mode_read(void) {
    size_t size = 1 << 20;
    unsigned char *buffer = malloc(size);
    uint64_t hash = 0xcbf29ce484222325ull;
    uint64_t total = 0;
    ssize_t n;
    while ((n = read(0, buffer, size)) != 0) {
        if (n < 0) {
            sayf("read failed: %s\n", errno_name(errno));
            return 1;
        }
        for (ssize_t i = 0; i < n; i++) {
            hash = (hash ^ buffer[i]) * 0x100000001b3ull;
        }
        total += (uint64_t)n;
    }
    sayf("read %" PRIu64 " bytes, fnv1a=%016" PRIx64 "\n", total, hash);
    free(buffer);
    return 0;
}

/* The byte at `offset` of what `write N` writes; the test computes the same. */
static unsigned char pattern(uint64_t offset) {
    return (unsigned char)(offset ^ (offset >> 8) ^ (offset >> 16));
}

static int mode_write(uint64_t size) {
    unsigned char *buffer = malloc(size ? size : 1);
    for (uint64_t i = 0; i < size; i++) {
        buffer[i] = pattern(i);
    }
    /* Odd sizes first (including an empty write), then all that is left at once. */
    static const uint64_t pieces[] = {0, 1, 4095, 4097, 65537};
    uint64_t offset = 0;
    for (size_t piece = 0; piece <= sizeof pieces / sizeof pieces[0]; piece++) {
        uint64_t end = piece < sizeof pieces / sizeof pieces[0] ? offset + pieces[piece] : size;
        if (end > size) {
            end = size;
        }
        while (offset < end) {
            ssize_t n = write(1, buffer + offset, end - offset);
            if (n <= 0) {
                char line[128];
                snprintf(line, sizeof line, "write failed at %" PRIu64 ": %s\n", offset,
                         errno_name(n < 0 ? errno : 0));
                say(2, line);
                return 1;
            }
            offset += (uint64_t)n;
        }
    }
    char line[128];
    snprintf(line, sizeof line, "wrote %" PRIu64 " bytes\n", offset);
    say(2, line);
    free(buffer);
    return 0;
}

static int mode_epipe(void) {
    char buffer[4096];
    while (read(0, buffer, sizeof buffer) > 0) {
    }
    static char large[1 << 20];
    memset(large, 'x', sizeof large);
    const struct {
        const char *name;
        const void *data;
        size_t size;
    } writes[] = {{"small", "x\n", 2}, {"large", large, sizeof large}, {"again", "y", 1}};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        ssize_t n = write(1, writes[i].data, writes[i].size);
        char line[128];
        snprintf(line, sizeof line, "%s write to a closed pipe: %zd %s\n", writes[i].name, n,
                 errno_name(n < 0 ? errno : 0));
        say(2, line);
    }
    say(2, "still running\n");
    return 3;
}

int main(int argc, char **argv) {
#ifndef __wasi__
    signal(SIGPIPE, SIG_IGN);
#endif
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "poll") == 0) {
        return mode_poll();
    }
    if (strcmp(mode, "read") == 0) {
        return mode_read();
    }
    if (strcmp(mode, "write") == 0 && argc > 2) {
        return mode_write(strtoull(argv[2], NULL, 10));
    }
    if (strcmp(mode, "epipe") == 0) {
        return mode_epipe();
    }
    say(2, "usage: stdio poll | read | write N | epipe\n");
    return 2;
}
