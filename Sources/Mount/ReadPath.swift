// The read path. Reads go straight to the archive reader, which maps the
// range to frames, decodes through its cache, and is safe to call from every
// FUSE worker thread at once.
import Archive
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

extension Filesystem {
    func read(_ req: fuse_req_t?, _ ino: fuse_ino_t, size: Int, offset: off_t) {
        guard let inode = inode(ino) else { fuse_reply_err(req, ENOENT); return }
        let fileSize = index.inodes[inode].size
        guard offset >= 0, UInt64(offset) < fileSize, size > 0 else {
            fuse_reply_buf(req, nil, 0); return
        }
        let wanted = Int(min(UInt64(size), fileSize - UInt64(offset)))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: 64)
        defer { buffer.deallocate() }
        // The kernel takes a short reply for end of file and zero-fills the
        // rest of the page, so keep asking until the range is complete.
        var done = 0
        do {
            while done < wanted {
                let got = try reader.read(inode: inode, offset: UInt64(offset) + UInt64(done),
                                          count: wanted - done, into: buffer + done)
                if got <= 0 { break }
                done += got
            }
        } catch {
            reportOnce("\(error)", file: inode)
            fuse_reply_err(req, EIO)
            return
        }
        fuse_reply_buf(req, buffer, done)
    }
}
