/*
 * A read-only preopen from the guest's side, through the C library: everything that reads
 * beneath it works, every change beneath it fails. Prints one line per step with its
 * outcome (an errno name, see errno_name.h), then `done`.
 *
 * wasm only. Usage: read_only RO RW, where RO is a directory preopened read-only holding
 * `data` ("read only\n"), `sub/inner` ("inner") and the empty directory `empty`, and RW a
 * directory preopened read-write holding `mine` ("mine\n"). cli/tests/read_only_dirs.rs
 * runs it with `--dir-read-only` and `--dir` under `kiln run` and as a `kiln build`
 * executable, and checks that neither directory changed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_name.h"

static const char *ro;
static const char *rw;

/* `dir/name` in a static buffer of its own per slot. */
static const char *in(const char *dir, const char *name, int slot) {
    static char paths[4][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    return paths[slot];
}

static void step(const char *label, int result) { printf("%s: %s\n", label, outcome(result)); }

/* Opens `path` with `flags`; prints the outcome and closes what was opened. */
static void try_open(const char *label, const char *path, int flags) {
    int fd = open(path, flags, 0644);
    step(label, fd);
    if (fd >= 0) close(fd);
}

/* Prints the contents of `path` (at most 63 bytes). */
static void read_file(const char *label, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        step(label, fd);
        return;
    }
    char contents[64] = "";
    ssize_t n = read(fd, contents, sizeof contents - 1);
    close(fd);
    if (n < 0) {
        step(label, -1);
        return;
    }
    contents[n] = '\0';
    printf("%s: %zd [%s]\n", label, n, contents);
}

static int compare(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the names in `dir` but `.` and `..`, sorted. */
static void list(const char *label, const char *dir) {
    DIR *stream = opendir(dir);
    if (!stream) {
        step(label, -1);
        return;
    }
    char *names[16];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(stream)) && count < 16) {
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) {
            names[count++] = strdup(entry->d_name);
        }
    }
    closedir(stream);
    qsort(names, count, sizeof names[0], compare);
    printf("%s:", label);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: read_only RO RW\n");
        return 2;
    }
    ro = argv[1];
    rw = argv[2];

    /* Reads. */
    read_file("read data", in(ro, "data", 0));
    read_file("read sub/inner", in(ro, "sub/inner", 0));
    struct stat st;
    int result = stat(in(ro, "data", 0), &st);
    printf("stat data: %s, size %lld\n", outcome(result), result == 0 ? (long long)st.st_size : -1LL);
    list("list", ro);
    list("list sub", in(ro, "sub", 0));

    /* Opening for a change. */
    try_open("open data O_WRONLY", in(ro, "data", 0), O_WRONLY);
    try_open("open data O_RDWR", in(ro, "data", 0), O_RDWR);
    try_open("open data O_TRUNC", in(ro, "data", 0), O_RDONLY | O_TRUNC);
    try_open("open data O_APPEND", in(ro, "data", 0), O_WRONLY | O_APPEND);
    try_open("create new", in(ro, "new", 0), O_WRONLY | O_CREAT);
    try_open("create sub/new", in(ro, "sub/new", 0), O_WRONLY | O_CREAT | O_EXCL);

    /* Changes by path. */
    step("mkdir made", mkdir(in(ro, "made", 0), 0755));
    step("mkdir sub/made", mkdir(in(ro, "sub/made", 0), 0755));
    step("rmdir empty", rmdir(in(ro, "empty", 0)));
    step("unlink data", unlink(in(ro, "data", 0)));
    step("unlink sub/inner", unlink(in(ro, "sub/inner", 0)));
    step("symlink soft", symlink("data", in(ro, "soft", 0)));
    step("rename within", rename(in(ro, "data", 0), in(ro, "moved", 1)));
    step("rename out", rename(in(ro, "data", 0), in(rw, "moved", 1)));
    step("rename in", rename(in(rw, "mine", 0), in(ro, "mine", 1)));
    step("link out", link(in(ro, "data", 0), in(rw, "alias", 1)));
    step("link in", link(in(rw, "mine", 0), in(ro, "alias", 1)));
    step("utimensat data", utimensat(AT_FDCWD, in(ro, "data", 0), NULL, 0));
    step("truncate data", truncate(in(ro, "data", 0), 0));

    /* Changes through a descriptor opened for reading. */
    int fd = open(in(ro, "data", 0), O_RDONLY);
    step("open data O_RDONLY", fd);
    step("write", write(fd, "owned", 5) == -1 ? -1 : 0);
    step("ftruncate", ftruncate(fd, 0));
    step("futimens", futimens(fd, NULL));
    close(fd);

    /* The read-write preopen beside it is untouched by all that, and still readable. */
    read_file("read mine", in(rw, "mine", 0));
    printf("done\n");
    return 0;
}
