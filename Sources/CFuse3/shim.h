// libfuse3 as Swift sees it. Several libfuse entry points are macros or
// versioned symbols that Swift cannot import; the static inline wrappers
// below give them plain C names. Bitfields of fuse_file_info are set here too,
// so the Swift side never depends on how the importer lays bitfields out.
#ifndef GPUARC_CFUSE3_SHIM_H
#define GPUARC_CFUSE3_SHIM_H

#define FUSE_USE_VERSION 35
#include <stddef.h>
#include <fuse_lowlevel.h>
#include <syslog.h>
// Not used by the driver; lets its tests call getxattr and friends.
#include <sys/xattr.h>

static inline int gpuarc_session_loop_mt(struct fuse_session *se, unsigned int max_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) return -1;
    // One /dev/fuse descriptor per worker thread: the kernel then spreads
    // requests across threads instead of funnelling them through one queue.
    fuse_loop_cfg_set_clone_fd(config, 1);
    fuse_loop_cfg_set_max_threads(config, max_threads);
    fuse_loop_cfg_set_idle_threads(config, max_threads);
    int rc = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
    return rc;
}

// The archive never changes under a mount, so the kernel may keep file pages
// across opens: repeated reads are served from the page cache, not from us.
static inline void gpuarc_fi_keep_cache(struct fuse_file_info *fi) {
    fi->keep_cache = 1;
    fi->direct_io = 0;
    fi->noflush = 1;
}

// Same reasoning for directories: listings are cached by the kernel.
static inline void gpuarc_fi_cache_dir(struct fuse_file_info *fi) {
    fi->keep_cache = 1;
    fi->cache_readdir = 1;
}

static inline void gpuarc_want(struct fuse_conn_info *conn, unsigned int flags) {
    conn->want |= (conn->capable & flags);
}

// syslog is variadic, which Swift cannot call.
static inline void gpuarc_syslog(int priority, const char *message) {
    syslog(priority, "%s", message);
}

#endif
