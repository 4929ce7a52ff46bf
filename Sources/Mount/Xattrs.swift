// getxattr and listxattr, answered from the index, as ext4 answers them: an
// entry without extended attributes has an empty list and ENODATA for any
// name. (ENOSYS would spare ls -l a round trip per file, but the kernel then
// answers ENOTSUP for the whole mount, and tar --xattrs and cp -a warn about
// every file.)
import Archive
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

extension Filesystem {
    func getxattr(_ req: fuse_req_t?, _ ino: fuse_ino_t, name: UnsafePointer<CChar>, size: Int) {
        guard let inode = inode(ino) else { fuse_reply_err(req, ENOENT); return }
        guard hasXattrs else { fuse_reply_err(req, ENODATA); return }
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
