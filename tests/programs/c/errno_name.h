/*
 * errno values by name: the numbers differ between glibc and wasi-libc, the names do not,
 * so the test programs print names and native and wasm outputs can be compared exactly.
 */
#ifndef ERRNO_NAME_H
#define ERRNO_NAME_H

#include <errno.h>
#include <stdio.h>

static const char *errno_name(int error) {
    switch (error) {
    case 0: return "OK";
    case EACCES: return "EACCES";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EPERM: return "EPERM";
    case EPIPE: return "EPIPE";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
#ifdef ENOTCAPABLE
    case ENOTCAPABLE: return "ENOTCAPABLE";
#endif
    default: {
        static char unknown[32];
        snprintf(unknown, sizeof unknown, "errno %d", error);
        return unknown;
    }
    }
}

/* "OK" if `result` is not -1, else the name of errno. */
static const char *outcome(int result) {
    return result == -1 ? errno_name(errno) : "OK";
}

#endif
