import Glibc

/// Open descriptors of the destination's directories, reopened on demand.
///
/// Extraction creates everything relative to directory descriptors (never by
/// path), but a tree can have more directories than a process may hold open,
/// so only the most recently used ones stay open; any other is reopened from
/// its parent with O_NOFOLLOW, one component at a time, which keeps the
/// "never follow a symlink while writing" guarantee.
struct DirectoryHandles {
    private var open: [Int: (fd: Int32, used: UInt64)] = [:]
    private var known: [Int: (parent: Int, name: [CChar])] = [:]
    private var clock: UInt64 = 0
    private var limit = 256
    private var root: Int32 = -1

    /// Sets the destination root; the cache may use half the descriptors this
    /// process may still open once `reserved` are set aside (raise the soft
    /// limit first), at most 8192 and at least 4. A floor of 256 made every
    /// open fail under a limit of 256 (0 of 3000 files restored); with 4,
    /// a deep tree is still restored, reopening directories more often.
    mutating func setRoot(_ fd: Int32, reserved: Int) {
        root = fd
        var l = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0 {
            limit = min(8192, max(4, (Int(clamping: l.rlim_cur) - reserved) / 2))
        }
    }

    /// Records directory `inode` (created as `name` in `parent`) and opens it.
    mutating func register(_ inode: Int, parent: Int, name: [CChar]) {
        known[inode] = (parent, name)
        _ = self[inode]
    }

    /// The open descriptor of a directory, or nil (errno set) if it cannot be opened.
    subscript(inode: Int) -> Int32? {
        mutating get {
            if inode == ArchiveIndex.rootInode { return root >= 0 ? root : nil }
            clock += 1
            if let entry = open[inode] {
                open[inode] = (entry.fd, clock)
                return entry.fd
            }
            guard let (parent, name) = known[inode], let parentFD = self[parent] else { return nil }
            let fd = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            if open.count >= limit { evict() }
            open[inode] = (fd, clock)
            return fd
        }
    }

    /// Closes the least recently used half. The caller's parent (used a moment
    /// ago) and the root stay valid: they are the most recent or never cached.
    private mutating func evict() {
        let victims = open.sorted { $0.value.used < $1.value.used }.prefix(limit / 2)
        for (inode, entry) in victims {
            close(entry.fd)
            open[inode] = nil
        }
    }

    mutating func closeAll() {
        for entry in open.values { close(entry.fd) }
        open = [:]
        if root >= 0 { close(root); root = -1 }
    }
}
