// Archive inode -> struct stat, as the kernel and ls expect it.
import Archive
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

extension Filesystem {
    func attributes(of inode: Int) -> stat {
        let node = index.inodes[inode]
        // A sparse file occupies its data, not its size.
        let allocated = node.kind == .regular ? index.dataBytes(ofContent: Int(node.data)) : nil
        return makeStat(node, number: inode, allocated: allocated)
    }

    func entry(for inode: Int) -> fuse_entry_param {
        var entry = fuse_entry_param()
        entry.ino = fuse_ino_t(inode + 1)
        entry.attr = attributes(of: inode)
        entry.attr_timeout = cacheTimeout
        entry.entry_timeout = cacheTimeout
        return entry
    }

    func volumeStatistics() -> statvfs {
        var st = statvfs()
        let blockSize: UInt64 = 4096
        st.f_bsize = UInt(blockSize)
        st.f_frsize = UInt(blockSize)
        // Like du on the mount: the size of the content, not of the archive.
        st.f_blocks = fsblkcnt_t((index.totalContentBytes + blockSize - 1) / blockSize)
        st.f_files = fsfilcnt_t(index.inodes.count)
        st.f_namemax = 255
        st.f_flag = UInt(ST_RDONLY)
        return st
    }
}

/// Exposed for tests. st_ino is the index inode + 1, so hard links, which
/// share an index inode, share st_ino too.
public func makeStat(_ node: Inode, number inode: Int, allocated: UInt64? = nil) -> stat {
    var st = stat()
    st.st_ino = ino_t(inode + 1)
    st.st_mode = mode_t(node.mode)
    st.st_nlink = nlink_t(node.nlink)
    st.st_uid = uid_t(node.uid)
    st.st_gid = gid_t(node.gid)
    st.st_size = off_t(truncatingIfNeeded: node.size)
    st.st_blksize = 4096
    // 512-byte units, rounded up, as du expects from a file of this size.
    st.st_blocks = blkcnt_t(((allocated ?? node.size) + 511) / 512)
    if node.kind == .charDevice || node.kind == .blockDevice {
        st.st_rdev = dev_t(node.data)
    }
    let time = timespec(tv_sec: Int(node.mtimeSec), tv_nsec: Int(node.mtimeNsec))
    st.st_mtim = time
    st.st_atim = time
    st.st_ctim = time
    return st
}
