import Archive

/// What the files cache compares, beyond the path (`--files-cache`).
public struct FilesCacheKeys: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let size = FilesCacheKeys(rawValue: 1)
    public static let mtime = FilesCacheKeys(rawValue: 2)
    public static let ctime = FilesCacheKeys(rawValue: 4)
    public static let inode = FilesCacheKeys(rawValue: 8)
    public static let all: FilesCacheKeys = [.size, .mtime, .ctime, .inode]

    /// "size,mtime,ctime,inode" (any of them, in any order).
    public init?(_ text: String) {
        var keys: FilesCacheKeys = []
        for word in text.split(separator: ",") {
            switch word {
            case "size": keys.insert(.size)
            case "mtime": keys.insert(.mtime)
            case "ctime": keys.insert(.ctime)
            case "inode": keys.insert(.inode)
            default: return nil
            }
        }
        guard !keys.isEmpty else { return nil }
        self = keys
    }
}

/// borg's files cache on the archive's own index: a file of a new version
/// whose path below its version, and whichever of size, mtime (to the
/// nanosecond), ctime and inode number `keys` names, match a regular file
/// of the archive's newest version is taken to hold that file's content,
/// and is not opened at all. The index holds size and mtime; the builder
/// state (`BuilderState.FileStamp`) holds ctime and inode number.
///
/// The trade-off, as borg documents it: a file rewritten with the same
/// size whose mtime and ctime were set back (or a file system that does
/// not move them) is stored with its old content. ctime cannot be set from
/// user space, so the default keys make that take a deliberate effort;
/// `--reread` reads every file.
enum FilesCache {
    /// Regular-file nodes of `tree` (leaders of hard-link groups) -> the
    /// archive's content they reuse.
    static func match(tree: ScannedTree, previous: PreviousArchive, keys: FilesCacheKeys) -> [Int: Int] {
        let index = previous.index
        var reused: [Int: Int] = [:]
        // Directories of the new versions and their counterparts in the newest old one.
        var queue: [(node: Int, old: Int)] = tree.sourceRoots.map { ($0, previous.newestVersionInode) }
        while let (dir, oldDir) = queue.popLast() {
            for kid in tree.nodes[dir].children {
                // Field by field: a copy of the whole node costs more than the lookup.
                let found = tree.nodes[kid].name.withUnsafeBytes { index.lookup(directory: oldDir, name: $0) }
                guard let old = found else { continue }
                let oldInode = index.inodes[old]
                switch tree.nodes[kid].kind {
                case .directory where oldInode.kind == .directory:
                    queue.append((kid, old))
                case .regular where oldInode.kind == .regular && tree.nodes[kid].hardLinkOf == nil:
                    if matches(tree.nodes[kid].identity, oldInode, stamp: previous.stamps[UInt32(old)], keys: keys) {
                        reused[kid] = Int(oldInode.data)
                    }
                default:
                    break
                }
            }
        }
        return reused
    }

    /// The size always counts, whatever `keys` says: a reader serves the
    /// inode's size from the content it points at.
    private static func matches(_ identity: FileIdentity, _ old: Inode, stamp: BuilderState.FileStamp?, keys: FilesCacheKeys) -> Bool {
        guard identity.size == old.size else { return false }
        if keys.contains(.mtime) && (identity.mtimeSec != old.mtimeSec || identity.mtimeNsec != Int64(old.mtimeNsec)) { return false }
        if keys.contains(.ctime) || keys.contains(.inode) {
            guard let stamp else { return false }
            if keys.contains(.ctime) && (identity.ctimeSec != stamp.ctimeSec || identity.ctimeNsec != Int64(stamp.ctimeNsec)) { return false }
            if keys.contains(.inode) && identity.ino != stamp.ino { return false }
        }
        return true
    }
}
