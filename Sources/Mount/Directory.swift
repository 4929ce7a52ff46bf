// readdir and readdirplus. A listing is ".", "..", then the directory's
// entries in index order; the FUSE offset of an item is its position + 1, so
// a listing resumes in O(1) wherever the kernel left off.
import Archive
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

extension Filesystem {
    func readDirectory(_ req: fuse_req_t?, _ ino: fuse_ino_t, size: Int, offset: off_t, plus: Bool) {
        guard let dir = inode(ino), index.inodes[dir].kind == .directory else {
            fuse_reply_err(req, ENOTDIR); return
        }
        let entries = index.entryRange(ofDirectory: dir)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
        defer { buffer.deallocate() }
        var used = 0
        var position = max(Int(offset), 0)
        while position < entries.count + 2 {
            let room = size - used
            let next = off_t(position + 1)
            let added: Int
            switch position {
            case 0:
                added = addDot(req, buffer + used, room, ".", target: dir, next: next, plus: plus)
            case 1:
                added = addDot(req, buffer + used, room, "..", target: Int(index.parents[dir]), next: next, plus: plus)
            default:
                let entry = index.entries[entries.lowerBound + position - 2]
                let child = Int(entry.inode)
                added = index.withName(of: entry) { name in
                    withCString(name) { cName in
                        if plus {
                            var param = self.entry(for: child)
                            return fuse_add_direntry_plus(req, buffer + used, room, cName, &param, next)
                        }
                        var st = stat()
                        st.st_ino = ino_t(child + 1)
                        st.st_mode = mode_t(index.inodes[child].mode)
                        return fuse_add_direntry(req, buffer + used, room, cName, &st, next)
                    }
                }
            }
            // libfuse reports the size an entry needs without writing it when it does not fit.
            if added > room { break }
            used += added
            position += 1
        }
        fuse_reply_buf(req, buffer, used)
    }

    /// "." and "..": the kernel takes no reference on these, so only the
    /// number and type are filled in, as for a plain readdir.
    private func addDot(_ req: fuse_req_t?, _ buffer: UnsafeMutablePointer<CChar>, _ room: Int,
                        _ name: String, target: Int, next: off_t, plus: Bool) -> Int {
        var st = stat()
        st.st_ino = ino_t(target + 1)
        st.st_mode = Glibc.S_IFDIR
        return name.withCString { cName in
            guard plus else { return fuse_add_direntry(req, buffer, room, cName, &st, next) }
            var param = fuse_entry_param()
            param.attr = st
            return fuse_add_direntry_plus(req, buffer, room, cName, &param, next)
        }
    }
}

/// Names in the index are not NUL-terminated; libfuse wants C strings.
private func withCString<R>(_ name: UnsafeRawBufferPointer, _ body: (UnsafePointer<CChar>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: name.count + 1) { storage in
        let base = storage.baseAddress!
        if let source = name.baseAddress { memcpy(base, source, name.count) }
        base[name.count] = 0
        return body(base)
    }
}
