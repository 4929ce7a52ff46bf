// State shared by every FUSE callback. libfuse hands it back to each callback
// through fuse_req_userdata, since @convention(c) callbacks cannot capture.
import Archive
import CFuse3
import Foundation

final class Filesystem: @unchecked Sendable {
    let reader: ArchiveReader
    /// A copy of the reader's index: callbacks read it without going through the reader.
    let index: ArchiveIndex
    /// The archive never changes while mounted, so the kernel may cache names
    /// and attributes for as long as it likes.
    let cacheTimeout: Double = 86_400

    /// Whether any entry has extended attributes (else the xattr calls answer ENOSYS).
    let hasXattrs: Bool
    /// Let the kernel enforce archived POSIX ACLs (with default_permissions,
    /// that is when other users may enter the mount).
    let enforceACLs: Bool

    private let reportedLock = NSLock()
    private var reported = Set<String>()

    init(reader: ArchiveReader, enforcePermissions: Bool = false) {
        self.reader = reader
        self.index = reader.index
        hasXattrs = !reader.index.xattrSets.isEmpty
        enforceACLs = enforcePermissions && reader.index.xattrPairs.contains { pair in
            reader.index.strings[Int(pair.nameOffset)..<Int(pair.nameOffset + UInt64(pair.nameLength))]
                .starts(with: Array("system.posix_acl_".utf8))
        }
    }

    static func from(_ req: fuse_req_t?) -> Filesystem {
        Unmanaged<Filesystem>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    static func from(userdata: UnsafeMutableRawPointer?) -> Filesystem {
        Unmanaged<Filesystem>.fromOpaque(userdata!).takeUnretainedValue()
    }

    /// Index inode of a FUSE inode number, or nil when the kernel sends one we never gave out.
    func inode(_ ino: fuse_ino_t) -> Int? {
        ino >= 1 && ino <= UInt64(index.inodes.count) ? Int(ino - 1) : nil
    }

    /// Logs a read failure once per distinct error (one damaged frame gives
    /// one message, however often retries and read-ahead hit it), naming the
    /// first file that ran into it.
    func reportOnce(_ message: String, file inode: Int) {
        reportedLock.lock()
        let isNew = reported.count < 10_000 && reported.insert(message).inserted
        reportedLock.unlock()
        if isNew { Log.error("\(path(of: inode)): \(message)") }
    }

    /// The path of a file, for messages. A linear search, paid only on errors.
    private func path(of inode: Int) -> String {
        var parts: [String] = []
        var target = inode
        while target != ArchiveIndex.rootInode {
            guard let at = index.entries.firstIndex(where: { Int($0.inode) == target }),
                  let dir = index.inodes.indices.first(where: {
                      index.inodes[$0].kind == .directory && index.entryRange(ofDirectory: $0).contains(at)
                  }) else { break }
            parts.append(index.name(of: index.entries[at]))
            target = dir
        }
        return "/" + parts.reversed().joined(separator: "/")
    }
}
