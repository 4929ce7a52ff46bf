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

extension Filesystem {
    /// SEEK_DATA and SEEK_HOLE (the kernel does SEEK_SET, SEEK_CUR and
    /// SEEK_END itself): from the data extents of a sparse file; a file
    /// without holes is all data with the one hole at its end.
    func seek(_ req: fuse_req_t?, _ ino: fuse_ino_t, offset: off_t, whence: Int32) {
        guard let inode = inode(ino), index.inodes[inode].kind == .regular else { fuse_reply_err(req, EINVAL); return }
        let size = index.inodes[inode].size
        guard offset >= 0, UInt64(offset) < size else { fuse_reply_err(req, ENXIO); return }
        let position = UInt64(offset)
        let extents = index.dataExtents(ofContent: Int(index.inodes[inode].data)).map(Array.init)
            ?? [DataExtent(offset: 0, length: size)]
        switch whence {
        case 3:   // SEEK_DATA: the first data at or after the offset
            guard let e = extents.first(where: { $0.end > position }) else { fuse_reply_err(req, ENXIO); return }
            fuse_reply_lseek(req, off_t(max(position, e.offset)))
        case 4:   // SEEK_HOLE: the first hole at or after it (end of file counts as one)
            var hole = position
            for e in extents where e.end > hole {
                if e.offset > hole { break }
                hole = e.end
            }
            fuse_reply_lseek(req, off_t(min(hole, size)))
        default:
            fuse_reply_err(req, EINVAL)
        }
    }
}
