// System calls Swift cannot reach directly: glibc 2.36 has no wrappers for
// the *xattrat calls of Linux 6.13+, and syscall(2) is variadic, which Swift
// does not import. Header only (static inline), like CPrefetch.
#ifndef GPUARC_SYSCALLS_H
#define GPUARC_SYSCALLS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

// The same numbers on every architecture since these calls were added (6.13).
#define GPUARC_NR_SETXATTRAT 463
#define GPUARC_NR_GETXATTRAT 464
#define GPUARC_NR_LISTXATTRAT 465

static const int gpuarc_SEEK_DATA = 3;
static const int gpuarc_SEEK_HOLE = 4;

struct gpuarc_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

// Set once the kernel answers ENOSYS: the /proc/self/fd path is used from then on.
static int gpuarc_xattrat_missing = 0;

// "/proc/self/fd/DIRFD/NAME": the entry NAME of the open directory, with the
// l*xattr calls not following a symlink there. NAME is one component (<= 255 bytes).
static inline int gpuarc_proc_path(char *out, size_t size, int dirfd, const char *name) {
    int n = snprintf(out, size, "/proc/self/fd/%d/%s", dirfd, name);
    if (n < 0 || (size_t)n >= size) { errno = ENAMETOOLONG; return -1; }
    return 0;
}

// listxattr of entry NAME of directory DIRFD, never following a symlink.
static inline ssize_t gpuarc_listxattrat(int dirfd, const char *name, char *list, size_t size) {
    if (!gpuarc_xattrat_missing) {
        long r = syscall(GPUARC_NR_LISTXATTRAT, dirfd, name, AT_SYMLINK_NOFOLLOW, list, size);
        if (r >= 0 || errno != ENOSYS) return r;
        gpuarc_xattrat_missing = 1;
    }
    char path[300];
    if (gpuarc_proc_path(path, sizeof path, dirfd, name) != 0) return -1;
    return llistxattr(path, list, size);
}

static inline ssize_t gpuarc_getxattrat(int dirfd, const char *name, const char *attr, void *value, size_t size) {
    if (!gpuarc_xattrat_missing) {
        struct gpuarc_xattr_args args = { (uint64_t)(uintptr_t)value, (uint32_t)size, 0 };
        long r = syscall(GPUARC_NR_GETXATTRAT, dirfd, name, AT_SYMLINK_NOFOLLOW, attr, &args, sizeof args);
        if (r >= 0 || errno != ENOSYS) return r;
        gpuarc_xattrat_missing = 1;
    }
    char path[300];
    if (gpuarc_proc_path(path, sizeof path, dirfd, name) != 0) return -1;
    return lgetxattr(path, attr, value, size);
}

static inline int gpuarc_setxattrat(int dirfd, const char *name, const char *attr, const void *value, size_t size) {
    if (!gpuarc_xattrat_missing) {
        struct gpuarc_xattr_args args = { (uint64_t)(uintptr_t)value, (uint32_t)size, 0 };
        long r = syscall(GPUARC_NR_SETXATTRAT, dirfd, name, AT_SYMLINK_NOFOLLOW, attr, &args, sizeof args);
        if (r >= 0 || errno != ENOSYS) return (int)r;
        gpuarc_xattrat_missing = 1;
    }
    char path[300];
    if (gpuarc_proc_path(path, sizeof path, dirfd, name) != 0) return -1;
    return lsetxattr(path, attr, value, size, 0);
}

// openat2 (Linux 5.6) resolving PATH below DIRFD without following any
// symlink and without leaving DIRFD's tree: one system call opens a file
// deep in a source with the guarantees of opening it component by component
// with O_NOFOLLOW. -1 with errno ENOSYS where the kernel lacks it.
#define GPUARC_NR_OPENAT2 437
struct gpuarc_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
static int gpuarc_openat2_missing = 0;

static inline int gpuarc_open_beneath(int dirfd, const char *path, int flags) {
    if (gpuarc_openat2_missing) { errno = ENOSYS; return -1; }
    // RESOLVE_NO_XDEV is not asked for: a mount inside a SRC is part of it.
    struct gpuarc_open_how how = { (uint64_t)flags, 0, 0x02 /* NO_MAGICLINKS */ | 0x04 /* NO_SYMLINKS */ | 0x08 /* BENEATH */ };
    long r = syscall(GPUARC_NR_OPENAT2, dirfd, path, &how, sizeof how);
    if (r < 0 && errno == ENOSYS) gpuarc_openat2_missing = 1;
    return (int)r;
}

// getdents64: a directory's entries straight from its descriptor (readdir
// needs a DIR of its own, so a dup, an fcntl and a close per directory).
static inline long gpuarc_getdents64(int fd, void *buffer, size_t size) {
    return syscall(SYS_getdents64, fd, buffer, size);
}

// Starts writeback of a file range without waiting for it (glibc declares
// sync_file_range only under _GNU_SOURCE, which Swift's Glibc lacks).
static inline int gpuarc_start_writeback(int fd, int64_t offset, int64_t count) {
    return (int)syscall(SYS_sync_file_range, fd, offset, count, 2 /* SYNC_FILE_RANGE_WRITE */);
}

// O_DIRECT (glibc names it only under _GNU_SOURCE; its value differs between
// architectures, so it comes from the C headers rather than a Swift literal).
static const int gpuarc_O_DIRECT = __O_DIRECT;

#endif
