// The low-level operations table. The low-level API (inode numbers, not
// paths) lets lookup and readdir work straight on the index: no path strings
// are built or resolved, which is what keeps find and du fast.
import Archive
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

func makeOperations() -> fuse_lowlevel_ops {
    var ops = fuse_lowlevel_ops()
    ops.`init` = { userdata, conn in
        // Readdirplus on every listing call, not only the first ("auto"):
        // names then always arrive with their attributes, so find, du and
        // ls -l need no lookup per entry. Symlink targets are cached too.
        // With archived ACLs and default_permissions, the kernel enforces
        // them (it reads system.posix_acl_* through getxattr).
        let acl = Filesystem.from(userdata: userdata).enforceACLs ? UInt32(FUSE_CAP_POSIX_ACL) : 0
        gpuarc_want(conn, UInt32(FUSE_CAP_READDIRPLUS | FUSE_CAP_CACHE_SYMLINKS
                                 | FUSE_CAP_ASYNC_READ | FUSE_CAP_PARALLEL_DIROPS) | acl,
                    UInt32(FUSE_CAP_READDIRPLUS_AUTO))
    }
    ops.lookup = { req, parent, name in
        let fs = Filesystem.from(req)
        guard let dir = fs.inode(parent), fs.index.inodes[dir].kind == .directory else {
            fuse_reply_err(req, ENOTDIR); return
        }
        let length = strlen(name!)
        let child = fs.index.lookup(directory: dir, name: UnsafeRawBufferPointer(start: name, count: length))
        guard let child else {
            // A negative entry with a timeout lets the kernel remember the
            // miss: tools probe for files that are not there over and over.
            var miss = fuse_entry_param()
            miss.entry_timeout = fs.cacheTimeout
            fuse_reply_entry(req, &miss); return
        }
        var entry = fs.entry(for: child)
        fuse_reply_entry(req, &entry)
    }
    ops.getattr = { req, ino, _ in
        let fs = Filesystem.from(req)
        guard let inode = fs.inode(ino) else { fuse_reply_err(req, ENOENT); return }
        var st = fs.attributes(of: inode)
        fuse_reply_attr(req, &st, fs.cacheTimeout)
    }
    ops.readlink = { req, ino in
        let fs = Filesystem.from(req)
        guard let inode = fs.inode(ino), fs.index.inodes[inode].kind == .symlink else {
            fuse_reply_err(req, EINVAL); return
        }
        var target = fs.index.symlinkTarget(of: inode)
        target.append(0)
        target.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = fuse_reply_readlink(req, $0.baseAddress) }
        }
    }
    // Nothing is kept per open file or directory, so the kernel is told
    // (ENOSYS, once) to stop sending open/opendir and release: that saves
    // two round trips per file for tar and per directory for find. Without
    // open the kernel keeps file pages and directory listings cached across
    // opens, which is what a never-changing archive wants. Writes never get
    // this far: the mount is read-only, so the kernel answers EROFS itself.
    ops.open = { req, _, _ in fuse_reply_err(req, ENOSYS) }
    ops.opendir = { req, _, _ in fuse_reply_err(req, ENOSYS) }
    ops.readdir = { req, ino, size, offset, _ in
        Filesystem.from(req).readDirectory(req, ino, size: size, offset: offset, plus: false)
    }
    ops.readdirplus = { req, ino, size, offset, _ in
        Filesystem.from(req).readDirectory(req, ino, size: size, offset: offset, plus: true)
    }
    ops.read = { req, ino, size, offset, _ in
        Filesystem.from(req).read(req, ino, size: size, offset: offset)
    }
    ops.statfs = { req, _ in
        var st = Filesystem.from(req).volumeStatistics()
        fuse_reply_statfs(req, &st)
    }
    ops.access = { req, ino, mask in
        // Reached only without default_permissions (a mount for its owner
        // alone): the owner can read the archive, so everything but writing
        // is allowed.
        fuse_reply_err(req, mask & W_OK != 0 ? EROFS : 0)
    }
    ops.getxattr = { req, ino, name, size in
        Filesystem.from(req).getxattr(req, ino, name: name!, size: size)
    }
    ops.listxattr = { req, ino, size in
        Filesystem.from(req).listxattr(req, ino, size: size)
    }
    ops.lseek = { req, ino, offset, whence, _ in
        Filesystem.from(req).seek(req, ino, offset: offset, whence: whence)
    }
    installReadOnlyRefusals(&ops)
    return ops
}

/// Every operation that would change the tree answers EROFS. The mount is
/// also flagged read-only, so the kernel normally refuses these before they
/// reach us; these answers cover the rest.
private func installReadOnlyRefusals(_ ops: inout fuse_lowlevel_ops) {
    ops.setattr = { req, _, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.mknod = { req, _, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.mkdir = { req, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.unlink = { req, _, _ in fuse_reply_err(req, EROFS) }
    ops.rmdir = { req, _, _ in fuse_reply_err(req, EROFS) }
    ops.symlink = { req, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.rename = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.link = { req, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.write = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.create = { req, _, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.setxattr = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
    ops.removexattr = { req, _, _ in fuse_reply_err(req, EROFS) }
    ops.fallocate = { req, _, _, _, _, _ in fuse_reply_err(req, EROFS) }
}
