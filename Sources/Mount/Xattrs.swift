// getxattr and listxattr, answered from the index. On an archive without
// any extended attributes, listxattr answers an empty list, as ext4 does for
// a file without any: tar --xattrs, cp -a, rsync -X and getfattr -d list
// first and find nothing to ask for. getxattr answers ENOSYS there, so the
// kernel stops asking for the rest of the mount and every later getxattr is
// ENOTSUP with no round trip: ls -l asks for three names per entry
// (security.selinux and both POSIX ACLs), and answering each with ENODATA
// made a cold `ls -lR` of ten Django releases 2.7 -> 8.5 s (docs/MOUNT.md).
import Archive
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

extension Filesystem {
    func getxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, name: UnsafePointer<CChar>, size: Int) {
        guard hasXattrs else { fuse_reply_err(req, ENOSYS); return }
        guard let inode = inode(ino) else { fuse_reply_err(req, ENOENT); return }
        index.withXattr(of: inode, name: UnsafeRawBufferPointer(start: name, count: strlen(name))) { value in
            guard let value else { fuse_reply_err(req, ENODATA); return }
            reply(req, value, size: size)
        }
    }

    func listxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, size: Int) {
        guard let inode = inode(ino) else { fuse_reply_err(req, ENOENT); return }
        guard hasXattrs else { reply(req, UnsafeRawBufferPointer(start: nil, count: 0), size: size); return }
        // Names, each followed by a NUL, as listxattr(2) returns them.
        var list: [UInt8] = []
        for (name, _) in index.xattrs(of: inode) { list += name + [0] }
        list.withUnsafeBytes { reply(req, $0, size: size) }
    }

    /// Size 0 asks for the length; a buffer too small is ERANGE.
    private func reply(_ req: fuse_req_t?, _ bytes: UnsafeRawBufferPointer, size: Int) {
        if size == 0 {
            fuse_reply_xattr(req, bytes.count)
        } else if size < bytes.count {
            fuse_reply_err(req, ERANGE)
        } else {
            fuse_reply_buf(req, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
    }
}
