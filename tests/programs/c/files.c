/*
 * Files, directories, symlinks, hard links, timestamps, a directory of many entries, poll,
 * clocks and randomness through the C library: every result is printed as a deterministic
 * fact (sizes, contents, errno names, sorted listings), so the native build run in a fresh
 * scratch directory and the wasm build run with that directory preopened as the guest's
 * "." (or as "/sandbox", given as the first argument) print exactly the same.
 *
 * Usage: files [DIR]   (works in DIR, else in the current directory; relative paths only)
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

#include "errno_name.h"

/* Entries of the big directory: the names are long so that listing them takes several
 * `fd_readdir` calls of wasi-libc's buffer. */
enum { MANY_FILES = 1000, MANY_DIRS = 10 };

static int failures;

static void fail(const char *what) {
    printf("FAILED: %s (%s)\n", what, errno_name(errno));
    failures++;
}

/* Stops the program: a step that later steps depend on did not work. */
static void must(int ok, const char *what) {
    if (!ok) {
        fail(what);
        exit(1);
    }
}

static uint64_t fnv1a(uint64_t hash, const void *data, size_t length) {
    const unsigned char *bytes = data;
    for (size_t i = 0; i < length; i++) {
        hash = (hash ^ bytes[i]) * 0x100000001b3ull;
    }
    return hash;
}

static const uint64_t FNV_OFFSET = 0xcbf29ce484222325ull;

static const char *file_type(mode_t mode) {
    if (S_ISREG(mode)) return "regular";
    if (S_ISDIR(mode)) return "directory";
    if (S_ISLNK(mode)) return "symlink";
    return "other";
}

static int64_t now_ns(clockid_t clock) {
    struct timespec ts;
    must(clock_gettime(clock, &ts) == 0, "clock_gettime");
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void write_file(const char *path, const char *contents) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, path);
    size_t length = strlen(contents);
    must(write(fd, contents, length) == (ssize_t)length, "write_file: write");
    must(close(fd) == 0, "write_file: close");
}

/* The whole file (at most 255 bytes) as a string, or the errno name. */
static const char *read_file(const char *path) {
    static char contents[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return errno_name(errno);
    }
    ssize_t length = read(fd, contents, sizeof contents - 1);
    close(fd);
    if (length < 0) {
        return errno_name(errno);
    }
    contents[length] = 0;
    return contents;
}

static void print_stat(const char *label, const char *path, int follow) {
    struct stat st;
    int result = follow ? stat(path, &st) : lstat(path, &st);
    if (result != 0) {
        printf("%s: %s\n", label, errno_name(errno));
        return;
    }
    printf("%s: %s size=%lld\n", label, file_type(st.st_mode), (long long)st.st_size);
}

static void reads_and_writes(void) {
    unsigned char pattern[10000];
    for (size_t i = 0; i < sizeof pattern; i++) {
        pattern[i] = (unsigned char)(i * 7 + i / 256);
    }
    int fd = open("data.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    must(fd >= 0, "open data.bin");
    printf("write: %zd\n", write(fd, pattern, sizeof pattern));
    struct stat st;
    must(fstat(fd, &st) == 0, "fstat");
    printf("fstat: %s size=%lld nlink=%lld\n", file_type(st.st_mode), (long long)st.st_size,
           (long long)st.st_nlink);

    unsigned char buffer[12000];
    printf("lseek set 0: %lld\n", (long long)lseek(fd, 0, SEEK_SET));
    ssize_t n = read(fd, buffer, sizeof buffer);
    printf("read: %zd, same bytes: %s\n", n,
           n == (ssize_t)sizeof pattern && memcmp(buffer, pattern, sizeof pattern) == 0 ? "yes"
                                                                                       : "no");
    printf("read at end: %zd\n", read(fd, buffer, sizeof buffer));
    printf("lseek end -100: %lld\n", (long long)lseek(fd, -100, SEEK_END));
    printf("lseek cur +10: %lld\n", (long long)lseek(fd, 10, SEEK_CUR));
    n = read(fd, buffer, sizeof buffer);
    printf("read after seek: %zd, same bytes: %s\n", n,
           n == 90 && memcmp(buffer, pattern + 9910, 90) == 0 ? "yes" : "no");
    printf("lseek to -1: %s\n", outcome((int)lseek(fd, -1, SEEK_SET)));

    /* pread and pwrite leave the file offset alone. */
    must(lseek(fd, 1234, SEEK_SET) == 1234, "lseek 1234");
    printf("pwrite at 100: %zd\n", pwrite(fd, "HELLO", 5, 100));
    printf("pread at 98: %zd ", pread(fd, buffer, 9, 98));
    printf("[%02x %02x %.5s %02x %02x]\n", buffer[0], buffer[1], (char *)buffer + 2, buffer[7],
           buffer[8]);
    printf("offset after pread/pwrite: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    printf("pwrite at 20000: %zd\n", pwrite(fd, "END", 3, 20000));
    must(fstat(fd, &st) == 0, "fstat");
    printf("size with a hole: %lld\n", (long long)st.st_size);
    memset(buffer, 0xff, 100);
    n = pread(fd, buffer, 100, 15000);
    int zeros = 1;
    for (ssize_t i = 0; i < n; i++) {
        zeros &= buffer[i] == 0;
    }
    printf("pread in the hole: %zd, zeros: %s\n", n, zeros ? "yes" : "no");
    printf("pread past the end: %zd\n", pread(fd, buffer, 10, 30000));
    printf("pread at -1: %s\n", outcome((int)pread(fd, buffer, 10, -1)));

    /* ftruncate shrinks, then grows with zeros. */
    printf("ftruncate 50: %s\n", outcome(ftruncate(fd, 50)));
    must(fstat(fd, &st) == 0, "fstat");
    printf("size: %lld\n", (long long)st.st_size);
    printf("ftruncate 4096: %s\n", outcome(ftruncate(fd, 4096)));
    must(fstat(fd, &st) == 0, "fstat");
    n = pread(fd, buffer, 4096, 0);
    zeros = 1;
    for (ssize_t i = 50; i < n; i++) {
        zeros &= buffer[i] == 0;
    }
    printf("size: %lld, read %zd, first 50 kept: %s, rest zeros: %s\n", (long long)st.st_size,
           n, memcmp(buffer, pattern, 50) == 0 ? "yes" : "no", zeros ? "yes" : "no");
    printf("posix_fallocate 0+8192: %d\n", posix_fallocate(fd, 0, 8192));
    must(fstat(fd, &st) == 0, "fstat");
    printf("size: %lld\n", (long long)st.st_size);
    printf("fsync: %s, fdatasync: %s\n", outcome(fsync(fd)), outcome(fdatasync(fd)));
    int flags = fcntl(fd, F_GETFL);
    printf("F_GETFL: rdwr=%s append=%s\n", (flags & O_ACCMODE) == O_RDWR ? "yes" : "no",
           flags & O_APPEND ? "yes" : "no");
    must(close(fd) == 0, "close");
    printf("read after close: %s\n", outcome((int)read(fd, buffer, 1)));

    /* O_APPEND writes at the end whatever the offset. */
    fd = open("data.bin", O_WRONLY | O_APPEND);
    must(fd >= 0, "open append");
    flags = fcntl(fd, F_GETFL);
    printf("F_GETFL: wronly=%s append=%s\n", (flags & O_ACCMODE) == O_WRONLY ? "yes" : "no",
           flags & O_APPEND ? "yes" : "no");
    lseek(fd, 0, SEEK_SET);
    printf("append write: %zd\n", write(fd, "tail", 4));
    must(fstat(fd, &st) == 0, "fstat");
    printf("size after append: %lld\n", (long long)st.st_size);
    close(fd);
    fd = open("data.bin", O_RDONLY);
    printf("write to a read-only descriptor: %s\n", outcome((int)write(fd, "x", 1)));
    printf("pread end: %zd [%.4s]\n", pread(fd, buffer, 10, 8192), (char *)buffer);
    close(fd);

    /* stdio on top: buffered writes, fseek, ftell, fgets. */
    FILE *file = fopen("lines.txt", "w+");
    must(file != NULL, "fopen");
    for (int i = 0; i < 500; i++) {
        fprintf(file, "line %d of the stdio file\n", i);
    }
    printf("ftell: %ld\n", ftell(file));
    fseek(file, 0, SEEK_SET);
    char line[64];
    int lines = 0;
    uint64_t hash = FNV_OFFSET;
    while (fgets(line, sizeof line, file)) {
        lines++;
        hash = fnv1a(hash, line, strlen(line));
    }
    printf("fgets: %d lines, fnv1a %016" PRIx64 "\n", lines, hash);
    fseek(file, -26, SEEK_END);
    printf("last line: %s", fgets(line, sizeof line, file));
    fclose(file);
}

static void errors(void) {
    write_file("exists.txt", "here");
    must(mkdir("a-directory", 0755) == 0, "mkdir a-directory");
    printf("open missing: %s\n", outcome(open("missing.txt", O_RDONLY)));
    printf("open O_EXCL existing: %s\n",
           outcome(open("exists.txt", O_WRONLY | O_CREAT | O_EXCL, 0644)));
    printf("open directory for writing: %s\n", outcome(open("a-directory", O_WRONLY)));
    printf("open file as directory: %s\n", outcome(open("exists.txt", O_RDONLY | O_DIRECTORY)));
    printf("open through a file: %s\n", outcome(open("exists.txt/x", O_RDONLY)));
    printf("open in a missing directory: %s\n",
           outcome(open("missing/x", O_WRONLY | O_CREAT, 0644)));
    printf("unlink missing: %s\n", outcome(unlink("missing.txt")));
    printf("rmdir a file: %s\n", outcome(rmdir("exists.txt")));
    printf("mkdir existing: %s\n", outcome(mkdir("a-directory", 0755)));
    printf("mkdir over a file: %s\n", outcome(mkdir("exists.txt", 0755)));
    printf("rename missing: %s\n", outcome(rename("missing.txt", "other.txt")));
    printf("rename a directory over a file: %s\n", outcome(rename("a-directory", "exists.txt")));
    printf("rename a file over a directory: %s\n", outcome(rename("exists.txt", "a-directory")));
    printf("close(-1): %s\n", outcome(close(-1)));
    printf("read(12345): %s\n", outcome((int)read(12345, (char[1]){0}, 1)));
    must(rmdir("a-directory") == 0, "rmdir a-directory");
    must(unlink("exists.txt") == 0, "unlink exists.txt");
}

static void directories(void) {
    printf("mkdir dir: %s\n", outcome(mkdir("dir", 0755)));
    printf("mkdir dir/sub: %s\n", outcome(mkdir("dir/sub", 0755)));
    write_file("dir/sub/file.txt", "in sub");
    print_stat("stat dir", "dir", 1);
    printf("rmdir non-empty: %s\n", outcome(rmdir("dir")));
    printf("rename file up: %s\n", outcome(rename("dir/sub/file.txt", "dir/moved.txt")));
    printf("rename directory: %s\n", outcome(rename("dir/sub", "dir/renamed")));
    print_stat("stat old name", "dir/sub", 1);
    print_stat("stat new name", "dir/renamed", 1);
    printf("read moved: %s\n", read_file("dir/moved.txt"));
    printf("read through ..: %s\n", read_file("dir/renamed/../moved.txt"));
    printf("read through .: %s\n", read_file("./dir/./moved.txt"));

    /* Renaming over an existing file replaces it. */
    write_file("dir/replaced.txt", "old contents");
    printf("rename over a file: %s\n", outcome(rename("dir/moved.txt", "dir/replaced.txt")));
    printf("read replaced: %s\n", read_file("dir/replaced.txt"));
    print_stat("stat source", "dir/moved.txt", 1);
    /* ... and over an empty directory, when the source is a directory. */
    must(mkdir("dir/empty", 0755) == 0, "mkdir dir/empty");
    printf("rename directory over an empty one: %s\n",
           outcome(rename("dir/renamed", "dir/empty")));
    print_stat("stat target", "dir/empty", 1);

    printf("unlink: %s\n", outcome(unlink("dir/replaced.txt")));
    printf("rmdir empty: %s\n", outcome(rmdir("dir/empty")));
    printf("rmdir dir: %s\n", outcome(rmdir("dir")));
    print_stat("stat removed", "dir", 1);
}

static void hard_links(void) {
    write_file("original.txt", "shared contents");
    printf("link: %s\n", outcome(link("original.txt", "hardlink.txt")));
    struct stat a, b;
    must(stat("original.txt", &a) == 0 && stat("hardlink.txt", &b) == 0, "stat links");
    printf("nlink: %lld %lld, same inode: %s\n", (long long)a.st_nlink, (long long)b.st_nlink,
           a.st_ino == b.st_ino && a.st_dev == b.st_dev ? "yes" : "no");
    int fd = open("hardlink.txt", O_WRONLY | O_APPEND);
    must(fd >= 0, "open hardlink");
    must(write(fd, "!", 1) == 1, "write hardlink");
    close(fd);
    printf("read original: %s\n", read_file("original.txt"));
    printf("link over existing: %s\n", outcome(link("original.txt", "hardlink.txt")));
    printf("unlink original: %s\n", outcome(unlink("original.txt")));
    must(stat("hardlink.txt", &b) == 0, "stat hardlink");
    printf("nlink after unlink: %lld\n", (long long)b.st_nlink);
    must(unlink("hardlink.txt") == 0, "unlink hardlink");
}

static void symlinks(void) {
    write_file("target.txt", "symlink target");
    must(mkdir("sub", 0755) == 0, "mkdir sub");
    write_file("sub/inner.txt", "inner file");

    printf("symlink: %s\n", outcome(symlink("target.txt", "link.txt")));
    char target[64];
    ssize_t n = readlink("link.txt", target, sizeof target);
    printf("readlink: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), target);
    n = readlink("link.txt", target, 4);
    printf("readlink into 4 bytes: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), target);
    print_stat("lstat link", "link.txt", 0);
    print_stat("stat link", "link.txt", 1);
    printf("read through link: %s\n", read_file("link.txt"));
    printf("readlink a file: %s\n", outcome((int)readlink("target.txt", target, sizeof target)));
    printf("symlink over existing: %s\n", outcome(symlink("anything", "target.txt")));

    printf("symlink to a directory: %s\n", outcome(symlink("sub", "dirlink")));
    printf("read through directory link: %s\n", read_file("dirlink/inner.txt"));
    printf("symlink with ..: %s\n", outcome(symlink("../target.txt", "sub/up.txt")));
    printf("read sub/up.txt: %s\n", read_file("sub/up.txt"));
    printf("symlink to a symlink: %s\n", outcome(symlink("link.txt", "chain.txt")));
    printf("read chain: %s\n", read_file("chain.txt"));

    printf("dangling symlink: %s\n", outcome(symlink("nowhere.txt", "dangling")));
    print_stat("stat dangling", "dangling", 1);
    print_stat("lstat dangling", "dangling", 0);
    printf("open dangling: %s\n", read_file("dangling"));
    printf("open O_CREAT through dangling: %s\n",
           outcome(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644)));
    printf("open link O_NOFOLLOW: %s\n", outcome(open("link.txt", O_RDONLY | O_NOFOLLOW)));
    printf("loop: %s", outcome(symlink("loop-b", "loop-a")));
    printf(" %s\n", outcome(symlink("loop-a", "loop-b")));
    printf("open loop: %s\n", read_file("loop-a"));

    /* Unlinking a symlink removes the link, never its target. */
    printf("unlink link: %s\n", outcome(unlink("link.txt")));
    print_stat("stat target", "target.txt", 1);
    printf("rmdir directory link: %s\n", outcome(rmdir("dirlink")));
    printf("unlink directory link: %s\n", outcome(unlink("dirlink")));
    print_stat("stat sub", "sub", 1);
    const char *links[] = {"sub/up.txt", "chain.txt", "dangling", "loop-a", "loop-b"};
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        must(unlink(links[i]) == 0, links[i]);
    }
    must(unlink("sub/inner.txt") == 0 && rmdir("sub") == 0, "remove sub");
    must(unlink("target.txt") == 0, "unlink target.txt");
}

static void print_times(const char *label, const char *path, int follow) {
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) {
        printf("%s: %s\n", label, errno_name(errno));
        return;
    }
    printf("%s: atime %lld.%09ld mtime %lld.%09ld\n", label, (long long)st.st_atim.tv_sec,
           st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void print_mtime(const char *label, const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        printf("%s: %s\n", label, errno_name(errno));
        return;
    }
    printf("%s: mtime %lld.%09ld\n", label, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void timestamps(void) {
    write_file("times.txt", "timestamps");
    struct timespec times[2] = {{1000000000, 111111111}, {1234567890, 987654321}};
    printf("utimensat: %s\n", outcome(utimensat(AT_FDCWD, "times.txt", times, 0)));
    print_times("after utimensat", "times.txt", 1);

    int fd = open("times.txt", O_RDWR);
    must(fd >= 0, "open times.txt");
    struct timespec mtime_only[2] = {{0, UTIME_OMIT}, {1500000000, 5}};
    printf("futimens, atime omitted: %s\n", outcome(futimens(fd, mtime_only)));
    print_times("after futimens", "times.txt", 1);

    /* Both times now. Debian 12's wasi-libc gets `futimens` with UTIME_NOW or NULL wrong
     * whatever the runtime (EINVAL, or it reads the times from address 0), so the wasm
     * build asks WASI directly. */
    int64_t before = now_ns(CLOCK_REALTIME) / 1000000000;
#ifdef __wasi__
    __wasi_errno_t set_now = __wasi_fd_filestat_set_times(
        fd, 0, 0, __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW);
    printf("set both times to now: %s\n", set_now == 0 ? "OK" : "failed");
#else
    printf("set both times to now: %s\n", outcome(futimens(fd, NULL)));
#endif
    int64_t after = now_ns(CLOCK_REALTIME) / 1000000000;
    struct stat st;
    must(fstat(fd, &st) == 0, "fstat times.txt");
    printf("times are now: %s %s\n",
           st.st_atim.tv_sec >= before && st.st_atim.tv_sec <= after + 1 ? "yes" : "no",
           st.st_mtim.tv_sec >= before && st.st_mtim.tv_sec <= after + 1 ? "yes" : "no");
    close(fd);

    /* On a symlink itself, and through it. */
    must(symlink("times.txt", "times-link") == 0, "symlink times-link");
    struct timespec link_times[2] = {{1100000000, 0}, {1200000000, 0}};
    printf("utimensat AT_SYMLINK_NOFOLLOW: %s\n",
           outcome(utimensat(AT_FDCWD, "times-link", link_times, AT_SYMLINK_NOFOLLOW)));
    print_mtime("link", "times-link");
    struct timespec target_times[2] = {{1300000000, 1}, {1400000000, 2}};
    printf("utimensat through link: %s\n",
           outcome(utimensat(AT_FDCWD, "times-link", target_times, 0)));
    print_times("target", "times.txt", 1);
    /* Only the link's mtime: resolving it may have updated its atime. */
    print_mtime("link unchanged", "times-link");

    must(mkdir("times-dir", 0755) == 0, "mkdir times-dir");
    struct timespec dir_times[2] = {{2000000000, 0}, {2100000000, 999999999}};
    printf("utimensat a directory: %s\n", outcome(utimensat(AT_FDCWD, "times-dir", dir_times, 0)));
    print_times("directory", "times-dir", 1);
    printf("utimensat missing: %s\n", outcome(utimensat(AT_FDCWD, "missing", dir_times, 0)));
    must(rmdir("times-dir") == 0 && unlink("times-link") == 0 && unlink("times.txt") == 0,
         "remove timestamp files");
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void many_entries(void) {
    must(mkdir("many", 0755) == 0, "mkdir many");
    char path[128];
    long long expected_bytes = 0;
    for (int i = 0; i < MANY_FILES; i++) {
        snprintf(path, sizeof path, "many/entry-%04d-with-a-name-long-enough-to-fill-buffers", i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        must(fd >= 0, path);
        must(write(fd, path, (size_t)(i % 37)) == i % 37, "write entry");
        expected_bytes += i % 37;
        close(fd);
    }
    for (int i = 0; i < MANY_DIRS; i++) {
        snprintf(path, sizeof path, "many/subdirectory-%d", i);
        must(mkdir(path, 0755) == 0, path);
    }

    DIR *dir = opendir("many");
    must(dir != NULL, "opendir many");
    char **names = malloc((MANY_FILES + MANY_DIRS + 2) * sizeof *names);
    int count = 0, regular = 0, directories = 0, dot = 0, dot_dot = 0, unknown = 0;
    long long bytes = 0;
    long position = -1;
    char name_after_position[256] = "";
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (count == 500) {
            position = telldir(dir);
        }
        if (count == 501) {
            snprintf(name_after_position, sizeof name_after_position, "%s", entry->d_name);
        }
        must(count < MANY_FILES + MANY_DIRS + 2, "too many entries");
        names[count++] = strdup(entry->d_name);
        dot += strcmp(entry->d_name, ".") == 0;
        dot_dot += strcmp(entry->d_name, "..") == 0;
        switch (entry->d_type) {
        case DT_REG: regular++; break;
        case DT_DIR: directories++; break;
        default: unknown++; break;
        }
        struct stat st;
        if (entry->d_type == DT_REG) {
            must(fstatat(dirfd(dir), entry->d_name, &st, 0) == 0, "fstatat");
            bytes += st.st_size;
        }
    }
    printf("readdir: %d entries, errno %s\n", count, errno_name(errno));
    printf("regular %d, directories %d (with . %d and .. %d), other %d\n", regular, directories,
           dot, dot_dot, unknown);
    printf("bytes in files: %lld of %lld\n", bytes, expected_bytes);
    qsort(names, (size_t)count, sizeof *names, compare_strings);
    uint64_t hash = FNV_OFFSET;
    for (int i = 0; i < count; i++) {
        hash = fnv1a(hash, names[i], strlen(names[i]) + 1);
    }
    printf("sorted names: first %s, last %s, fnv1a %016" PRIx64 "\n", names[0], names[count - 1],
           hash);

    seekdir(dir, position);
    entry = readdir(dir);
    printf("seekdir back to entry 501: %s\n",
           entry && strcmp(entry->d_name, name_after_position) == 0 ? "same entry" : "different");
    rewinddir(dir);
    int again = 0;
    while (readdir(dir) != NULL) {
        again++;
    }
    printf("after rewinddir: %d entries\n", again);
    closedir(dir);

    for (int i = 0; i < count; i++) {
        if (strcmp(names[i], ".") == 0 || strcmp(names[i], "..") == 0) {
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof path, "many/%s", names[i]);
        int removed = strncmp(names[i], "subdirectory-", 13) == 0 ? rmdir(path) : unlink(path);
        if (removed != 0) {
            fail(path);
        }
        free(names[i]);
    }
    free(names);
    printf("rmdir many: %s\n", outcome(rmdir("many")));
}

static void poll_and_clocks(void) {
    /* Nothing to wait for but the timeout. */
    int64_t start = now_ns(CLOCK_MONOTONIC);
    int ready = poll(NULL, 0, 50);
    int64_t elapsed = now_ns(CLOCK_MONOTONIC) - start;
    printf("poll with nothing, 50 ms: %d, waited at least 50 ms: %s, less than 5 s: %s\n", ready,
           elapsed >= 50000000 ? "yes" : "no", elapsed < 5000000000 ? "yes" : "no");

    /* A regular file is always ready. */
    write_file("poll.txt", "ready");
    int fd = open("poll.txt", O_RDWR);
    must(fd >= 0, "open poll.txt");
    struct pollfd fds[2] = {{fd, POLLIN, 0}, {fd, POLLOUT, 0}};
    start = now_ns(CLOCK_MONOTONIC);
    ready = poll(fds, 2, 10000);
    elapsed = now_ns(CLOCK_MONOTONIC) - start;
    printf("poll a file: %d, readable %s, writable %s, at once: %s\n", ready,
           fds[0].revents & POLLIN ? "yes" : "no", fds[1].revents & POLLOUT ? "yes" : "no",
           elapsed < 2000000000 ? "yes" : "no");
    close(fd);
    must(unlink("poll.txt") == 0, "unlink poll.txt");

    start = now_ns(CLOCK_MONOTONIC);
    struct timespec sleep_for = {0, 20000000};
    printf("nanosleep 20 ms: %s", outcome(nanosleep(&sleep_for, NULL)));
    elapsed = now_ns(CLOCK_MONOTONIC) - start;
    printf(", slept at least 20 ms: %s\n", elapsed >= 20000000 ? "yes" : "no");

    int64_t previous = now_ns(CLOCK_MONOTONIC);
    int decreased = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t t = now_ns(CLOCK_MONOTONIC);
        decreased |= t < previous;
        previous = t;
    }
    printf("monotonic clock never decreases: %s\n", decreased ? "no" : "yes");
    int64_t realtime = now_ns(CLOCK_REALTIME) / 1000000000;
    time_t seconds = time(NULL);
    printf("realtime after 2020: %s, time() agrees: %s\n", realtime > 1577836800 ? "yes" : "no",
           seconds - realtime >= 0 && seconds - realtime <= 2 ? "yes" : "no");
    struct timespec resolution;
    clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (int i = 0; i < 2; i++) {
        must(clock_getres(clocks[i], &resolution) == 0, "clock_getres");
        int64_t ns = (int64_t)resolution.tv_sec * 1000000000 + resolution.tv_nsec;
        printf("%s resolution between 1 ns and 1 ms: %s\n", i == 0 ? "monotonic" : "realtime",
               ns >= 1 && ns <= 1000000 ? "yes" : "no");
    }

    unsigned char first[512], second[256];
    must(getentropy(first, 256) == 0 && getentropy(second, 256) == 0,
         "getentropy");
    int nonzero = 0;
    for (size_t i = 0; i < 256; i++) {
        nonzero += first[i] != 0;
    }
    printf("getentropy: non-zero bytes: %s, two calls differ: %s\n", nonzero > 200 ? "yes" : "no",
           memcmp(first, second, 256) != 0 ? "yes" : "no");
    printf("getentropy of 257 bytes: %s\n", outcome(getentropy(first, 257)));
}

/* What is left in the working directory, sorted: only the files kept on purpose. */
static void listing(void) {
    DIR *dir = opendir(".");
    must(dir != NULL, "opendir .");
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 64) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
            names[count++] = strdup(entry->d_name);
        }
    }
    closedir(dir);
    qsort(names, (size_t)count, sizeof *names, compare_strings);
    printf("left in the directory:");
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1) {
        must(chdir(argv[1]) == 0, "chdir");
    }
    printf("== reads and writes\n");
    reads_and_writes();
    printf("== errors\n");
    errors();
    printf("== directories\n");
    directories();
    printf("== hard links\n");
    hard_links();
    printf("== symlinks\n");
    symlinks();
    printf("== timestamps\n");
    timestamps();
    printf("== many entries\n");
    many_entries();
    printf("== poll and clocks\n");
    poll_and_clocks();
    listing();
    printf("failures: %d\n", failures);
    return failures == 0 ? 0 : 1;
}
