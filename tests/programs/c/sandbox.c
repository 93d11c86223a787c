/*
 * The sandbox from the guest's side, through raw WASI preview1 calls (wasi-libc would
 * rewrite some paths before the runtime sees them): every way out of the preopened
 * directory (`..`, absolute paths, symlinks made by the host or by the guest that point
 * outside, hard links and renames across the boundary) must fail, while the same kinds of
 * paths that stay inside must work. Prints one line per attempt with the WASI errno name.
 *
 * wasm only. The test (cli/tests/wasi_programs.rs) preopens ROOT/sandbox as "." (the
 * first preopen, fd 3), with ROOT/outside.txt beside it and these made by the host inside:
 * inside.txt, sub/, and the symlinks up-link -> ../outside.txt, abs-link -> ROOT/outside.txt
 * (absolute), sub/up-up -> ../../outside.txt, dir-up -> .., root-link -> /.
 */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static const __wasi_fd_t PREOPEN = 3;

static const char *name(__wasi_errno_t error) {
    switch (error) {
    case __WASI_ERRNO_SUCCESS: return "OK";
    case __WASI_ERRNO_ACCES: return "ACCES";
    case __WASI_ERRNO_BADF: return "BADF";
    case __WASI_ERRNO_EXIST: return "EXIST";
    case __WASI_ERRNO_INVAL: return "INVAL";
    case __WASI_ERRNO_ISDIR: return "ISDIR";
    case __WASI_ERRNO_LOOP: return "LOOP";
    case __WASI_ERRNO_NOENT: return "NOENT";
    case __WASI_ERRNO_NOTCAPABLE: return "NOTCAPABLE";
    case __WASI_ERRNO_NOTDIR: return "NOTDIR";
    case __WASI_ERRNO_NOTEMPTY: return "NOTEMPTY";
    case __WASI_ERRNO_NOTSUP: return "NOTSUP";
    case __WASI_ERRNO_PERM: return "PERM";
    case __WASI_ERRNO_XDEV: return "XDEV";
    default: {
        static char unknown[32];
        snprintf(unknown, sizeof unknown, "errno %d", error);
        return unknown;
    }
    }
}

static const __wasi_rights_t READ = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
                                    __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_READDIR;
static const __wasi_rights_t WRITE = __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_FILESTAT_GET;

/* Opens `path` beneath the preopen; prints the errno and, on success, the first line. */
static void open_file(const char *label, const char *path, __wasi_lookupflags_t lookup,
                      __wasi_oflags_t oflags) {
    __wasi_fd_t fd;
    __wasi_rights_t rights = oflags & __WASI_OFLAGS_CREAT ? WRITE : READ;
    __wasi_errno_t error =
        __wasi_path_open(PREOPEN, lookup, path, oflags, rights, 0, 0, &fd);
    if (error != 0) {
        printf("%s: %s\n", label, name(error));
        return;
    }
    char contents[64] = "";
    __wasi_iovec_t iov = {(uint8_t *)contents, sizeof contents - 1};
    __wasi_size_t n = 0;
    if (!(oflags & (__WASI_OFLAGS_CREAT | __WASI_OFLAGS_DIRECTORY))) {
        (void)__wasi_fd_read(fd, &iov, 1, &n);
    }
    contents[n] = 0;
    contents[strcspn(contents, "\n")] = 0;
    printf("%s: OK [%s]\n", label, contents);
    (void)__wasi_fd_close(fd);
}

static void open_read(const char *label, const char *path) {
    open_file(label, path, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0);
}

static void filestat(const char *label, const char *path, __wasi_lookupflags_t lookup) {
    __wasi_filestat_t stat;
    __wasi_errno_t error = __wasi_path_filestat_get(PREOPEN, lookup, path, &stat);
    if (error != 0) {
        printf("%s: %s\n", label, name(error));
        return;
    }
    const char *type = stat.filetype == __WASI_FILETYPE_REGULAR_FILE    ? "regular"
                       : stat.filetype == __WASI_FILETYPE_DIRECTORY     ? "directory"
                       : stat.filetype == __WASI_FILETYPE_SYMBOLIC_LINK ? "symlink"
                                                                        : "other";
    printf("%s: OK %s\n", label, type);
}

static void result(const char *label, __wasi_errno_t error) {
    printf("%s: %s\n", label, name(error));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    __wasi_prestat_t prestat;
    __wasi_errno_t error = __wasi_fd_prestat_get(PREOPEN, &prestat);
    char dir_name[64] = "";
    if (error == 0 && prestat.u.dir.pr_name_len < sizeof dir_name) {
        (void)__wasi_fd_prestat_dir_name(PREOPEN, (uint8_t *)dir_name, prestat.u.dir.pr_name_len);
    }
    printf("preopen 3: %s [%s]\n", name(error), dir_name);
    result("preopen 4", __wasi_fd_prestat_get(4, &prestat));

    printf("== inside: allowed\n");
    open_read("inside.txt", "inside.txt");
    open_read("sub/../inside.txt", "sub/../inside.txt");
    open_read("./sub/./../inside.txt", "./sub/./../inside.txt");
    open_file(".", ".", 0, __WASI_OFLAGS_DIRECTORY);
    open_file("sub/..", "sub/..", 0, __WASI_OFLAGS_DIRECTORY);
    filestat("stat sub/..", "sub/..", 0);
    result("symlink sub/back -> ../inside.txt",
           __wasi_path_symlink("../inside.txt", PREOPEN, "sub/back"));
    open_read("open sub/back", "sub/back");
    result("link inside.txt to sub/hard.txt",
           __wasi_path_link(PREOPEN, 0, "inside.txt", PREOPEN, "sub/hard.txt"));
    open_read("open sub/hard.txt", "sub/hard.txt");
    result("rename sub/hard.txt to hard.txt",
           __wasi_path_rename(PREOPEN, "sub/hard.txt", PREOPEN, "hard.txt"));
    char target[64];
    __wasi_size_t length = 0;
    error = __wasi_path_readlink(PREOPEN, "up-link", (uint8_t *)target, sizeof target, &length);
    printf("readlink up-link: %s [%.*s]\n", name(error), (int)length, target);
    filestat("lstat up-link", "up-link", 0);

    printf("== dot-dot\n");
    open_read("open ../outside.txt", "../outside.txt");
    open_read("open sub/../../outside.txt", "sub/../../outside.txt");
    open_file("open .. as a directory", "..", 0, __WASI_OFLAGS_DIRECTORY);
    filestat("stat ..", "..", 0);
    open_file("create ../created.txt", "../created.txt", 0, __WASI_OFLAGS_CREAT);
    result("mkdir ../new-directory", __wasi_path_create_directory(PREOPEN, "../new-directory"));
    result("unlink ../outside.txt", __wasi_path_unlink_file(PREOPEN, "../outside.txt"));
    result("rmdir ../sandbox", __wasi_path_remove_directory(PREOPEN, "../sandbox"));
    result("set times of ../outside.txt",
           __wasi_path_filestat_set_times(PREOPEN, 0, "../outside.txt", 0, 0,
                                          __WASI_FSTFLAGS_MTIM_NOW));

    printf("== absolute paths\n");
    open_read("open /etc/passwd", "/etc/passwd");
    open_file("open /", "/", 0, __WASI_OFLAGS_DIRECTORY);
    filestat("stat /inside.txt", "/inside.txt", 0);
    open_file("create /tmp/created.txt", "/tmp/created.txt", 0, __WASI_OFLAGS_CREAT);

    printf("== symlinks made by the host\n");
    open_read("open up-link", "up-link");
    open_read("open abs-link", "abs-link");
    open_read("open sub/up-up", "sub/up-up");
    open_read("open dir-up/outside.txt", "dir-up/outside.txt");
    open_read("open root-link/etc/passwd", "root-link/etc/passwd");
    filestat("stat up-link", "up-link", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    filestat("stat dir-up", "dir-up", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    open_file("create through dir-up", "dir-up/created.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
              __WASI_OFLAGS_CREAT);
    open_file("open abs-link without following", "abs-link", 0, 0);
    result("set times through up-link",
           __wasi_path_filestat_set_times(PREOPEN, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "up-link",
                                          0, 0, __WASI_FSTFLAGS_MTIM_NOW));

    printf("== symlinks made by the guest\n");
    result("symlink made-up -> ../outside.txt",
           __wasi_path_symlink("../outside.txt", PREOPEN, "made-up"));
    open_read("open made-up", "made-up");
    result("symlink made-abs -> /etc/passwd",
           __wasi_path_symlink("/etc/passwd", PREOPEN, "made-abs"));
    open_read("open made-abs", "made-abs");
    result("symlink ../made-out -> inside.txt",
           __wasi_path_symlink("inside.txt", PREOPEN, "../made-out"));

    printf("== hard links\n");
    result("link inside.txt to ../linked-out.txt",
           __wasi_path_link(PREOPEN, 0, "inside.txt", PREOPEN, "../linked-out.txt"));
    result("link ../outside.txt to linked-in.txt",
           __wasi_path_link(PREOPEN, 0, "../outside.txt", PREOPEN, "linked-in.txt"));
    result("link dir-up/outside.txt to linked-in.txt",
           __wasi_path_link(PREOPEN, 0, "dir-up/outside.txt", PREOPEN, "linked-in.txt"));
    result("link inside.txt to dir-up/linked-out.txt",
           __wasi_path_link(PREOPEN, 0, "inside.txt", PREOPEN, "dir-up/linked-out.txt"));
    result("link up-link, followed, to linked-in.txt",
           __wasi_path_link(PREOPEN, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "up-link", PREOPEN,
                            "linked-in.txt"));
    open_read("open linked-in.txt", "linked-in.txt");

    printf("== renames\n");
    result("rename inside.txt to ../renamed-out.txt",
           __wasi_path_rename(PREOPEN, "inside.txt", PREOPEN, "../renamed-out.txt"));
    result("rename ../outside.txt to stolen.txt",
           __wasi_path_rename(PREOPEN, "../outside.txt", PREOPEN, "stolen.txt"));
    result("rename inside.txt to dir-up/renamed-out.txt",
           __wasi_path_rename(PREOPEN, "inside.txt", PREOPEN, "dir-up/renamed-out.txt"));
    result("rename dir-up/outside.txt to stolen.txt",
           __wasi_path_rename(PREOPEN, "dir-up/outside.txt", PREOPEN, "stolen.txt"));
    open_read("open inside.txt", "inside.txt");

    printf("== descriptors\n");
    __wasi_fd_t fd;
    result("open relative to stdout",
           __wasi_path_open(1, 0, "inside.txt", 0, READ, 0, 0, &fd));
    result("open relative to fd 99",
           __wasi_path_open(99, 0, "inside.txt", 0, READ, 0, 0, &fd));
    return 0;
}
