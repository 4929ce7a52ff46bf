import Archive
import Glibc

/// What identifies one version of a file system entry: which inode it is and
/// the size and times it had. Every read of a source file checks it before
/// and after reading, so bytes read at two moments (dedup, then storage) are
/// known to be the same bytes: any write changes ctime, which no program can
/// set back (mtime it can). Kernels since 6.13 also make a change after a
/// stat always give a newer ctime (multigrain timestamps).
struct FileIdentity: Equatable, Hashable, Sendable {
    var dev: UInt64
    var ino: UInt64
    var size: UInt64
    var mtimeSec: Int64, mtimeNsec: Int64
    var ctimeSec: Int64, ctimeNsec: Int64

    init(_ st: stat) {
        dev = UInt64(st.st_dev); ino = UInt64(st.st_ino); size = UInt64(st.st_size)
        mtimeSec = Int64(st.st_mtim.tv_sec); mtimeNsec = Int64(st.st_mtim.tv_nsec)
        ctimeSec = Int64(st.st_ctim.tv_sec); ctimeNsec = Int64(st.st_ctim.tv_nsec)
    }

    /// Same inode (perhaps changed), as opposed to another file put in its place.
    func sameInode(as other: FileIdentity) -> Bool { dev == other.dev && ino == other.ino }
}

/// The attributes stored for an entry, as one stat (and attribute read) saw them.
struct EntryMetadata: Sendable {
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtimeSec: Int64
    var mtimeNsec: UInt32
    var size: UInt64
    var rdev: UInt64
    var xattrs: [ExtendedAttribute] = []

    init(_ st: stat, kind: InodeKind) {
        mode = UInt32(st.st_mode); uid = st.st_uid; gid = st.st_gid
        mtimeSec = Int64(st.st_mtim.tv_sec); mtimeNsec = UInt32(st.st_mtim.tv_nsec)
        size = kind == .regular ? UInt64(st.st_size) : 0
        rdev = UInt64(st.st_rdev)
    }
}

/// One entry found while scanning the sources. Names are bytes; a node's
/// path is its parent chain (nothing is ever opened by a full path).
struct ScannedNode {
    var name: [UInt8]
    /// Parent node (-1 for the archive root).
    var parent: Int
    var kind: InodeKind
    var metadata: EntryMetadata
    var identity: FileIdentity
    /// 512-byte blocks allocated: fewer than the size needs hints at holes.
    var blocks: Int64
    /// Which SRC the node came from (its files are opened below that SRC).
    var source: Int
    /// Which version of the tree it belongs to, for the storage order and
    /// the similarity index: its SRC's number with several SRCs, its
    /// snapshot's with one SRC of snapshot directories (`SnapshotLayout`),
    /// 0 otherwise.
    var version = 0
    /// Directories: child node ids, sorted by name bytes.
    var children: [Int] = []
    var linkTarget: [UInt8] = []
    /// Set on the second and later names of a hard-linked file: the first node.
    var hardLinkOf: Int?
    /// (device, inode) of a non-directory with several links on disk.
    var linkKey: HardLinkKey?

    var size: UInt64 { metadata.size }
    /// Fewer blocks than bytes: the file may have holes (SEEK_HOLE tells).
    var mayBeSparse: Bool { kind == .regular && UInt64(max(blocks, 0)) * 512 < metadata.size }
}

struct HardLinkKey: Hashable { let dev: UInt64; let ino: UInt64 }

/// The scanned sources: node 0 is the archive root. Nodes do not change
/// after the scan; what the build learns later (a file that changed, one
/// that could not be read) is kept by the stages that learn it.
struct ScannedTree {
    var nodes: [ScannedNode] = []
    var warnings: [String] = []
    /// The SRC arguments as given, by number (for messages).
    var sourceNames: [BytePath] = []
    /// Node id of each SRC's directory (the root itself for a single SRC).
    var sourceRoots: [Int] = []
    /// Node id of each version's top directory, by version: the SRCs' with
    /// several, the snapshots' with one SRC of snapshots, none otherwise.
    var versionRoots: [Int] = []
    /// Which directories hold variants of one tree (set by the scan).
    var variants = VariantDirectories()

    /// Gives every further name of a multiply-linked inode the first name (in
    /// node order, which is the order of a walk of the SRCs one after the
    /// other) as `hardLinkOf`. Snapshots made with `cp -al` or `rsync
    /// --link-dest` share inodes across SRCs; they become one inode here too.
    mutating func linkHardLinks() {
        var first: [HardLinkKey: Int] = [:]
        for id in nodes.indices {
            guard let key = nodes[id].linkKey else { continue }
            if let owner = first[key] { nodes[id].hardLinkOf = owner } else { first[key] = id }
        }
    }

    /// Regular files that carry content (hard-link repeats excluded).
    var primaryFiles: [Int] {
        nodes.indices.filter { nodes[$0].kind == .regular && nodes[$0].hardLinkOf == nil }
    }

    /// The node's path below its SRC, as bytes ("dir/file").
    func relativePath(_ id: Int) -> [UInt8] {
        var parts: [[UInt8]] = []
        var node = id
        while node >= 0, !sourceRoots.contains(node) {
            parts.append(nodes[node].name)
            node = nodes[node].parent
        }
        return Array(parts.reversed().joined(separator: [UInt8(ascii: "/")]))
    }

    /// The node's path as the user would type it (SRC/dir/file), escaped, for messages.
    func displayPath(_ id: Int) -> String {
        let number = nodes[id].source
        // A tree of one SRC (the whole archive, or one SRC while scanning) has one name.
        let source = sourceNames.count == 1 ? sourceNames[0] : number < sourceNames.count ? sourceNames[number] : BytePath(".")
        let relative = relativePath(id)
        return (relative.isEmpty ? source : source.appending(relative)).description
    }
}
