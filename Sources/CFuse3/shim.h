// libfuse3 as Swift sees it. Several libfuse entry points are macros or
// versioned symbols that Swift cannot import; the static inline wrappers
// below give them plain C names, and build the structs Swift cannot (the v1
// loop config) or should not touch directly (conn->want).
#ifndef GPUARC_CFUSE3_SHIM_H
#define GPUARC_CFUSE3_SHIM_H

#define FUSE_USE_VERSION 35
#include <stddef.h>
#include <fuse_lowlevel.h>
#include <syslog.h>
// Not used by the driver; lets its tests call getxattr and friends.
#include <sys/xattr.h>

// At FUSE_USE_VERSION 35, struct fuse_loop_config is the old two-field
// layout and fuse_session_loop_mt reads it as such. (The newer
// fuse_loop_cfg_create object has another layout; passing it here makes
// libfuse read max_idle_threads as 1 and start a thread for every request.)
static inline int gpuarc_session_loop_mt(struct fuse_session *se, unsigned int idle_threads) {
    struct fuse_loop_config config;
    // One /dev/fuse descriptor per worker thread: the kernel then spreads
    // requests across threads instead of funnelling them through one queue.
    config.clone_fd = 1;
    // Workers stay alive between requests: creating a thread per request
    // costs more than most requests.
    config.max_idle_threads = idle_threads;
    return fuse_session_loop_mt(se, &config);
}

static inline void gpuarc_want(struct fuse_conn_info *conn, unsigned int add, unsigned int remove) {
    conn->want = (conn->want | (conn->capable & add)) & ~remove;
}

// syslog is variadic, which Swift cannot call.
static inline void gpuarc_syslog(int priority, const char *message) {
    syslog(priority, "%s", message);
}

#endif
