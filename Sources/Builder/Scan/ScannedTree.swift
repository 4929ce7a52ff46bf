import Archive

/// One entry found while scanning the sources.
struct ScannedNode {
    var name: [UInt8]
    var kind: InodeKind
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtimeSec: Int64
    var mtimeNsec: UInt32
    var size: UInt64
    var rdev: UInt64
    /// Full source path, for regular files (what the packer opens) and messages.
    var path: String
    /// Which SRC (version) the node came from.
    var version: Int
    /// Directories: child node ids, sorted by name bytes.
    var children: [Int] = []
    var linkTarget: [UInt8] = []
    /// Set on the second and later names of a hard-linked file: the first node.
    var hardLinkOf: Int?
    /// (device, inode) of a non-directory with several links on disk.
    var linkKey: HardLinkKey?
    /// Set when the entry could not be archived (it is left out of the index).
    var failed = false
}

struct HardLinkKey: Hashable { let dev: UInt64; let ino: UInt64 }

/// The scanned sources: node 0 is the archive root.
struct ScannedTree {
    var nodes: [ScannedNode] = []
    var warnings: [String] = []

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
        nodes.indices.filter { nodes[$0].kind == .regular && nodes[$0].hardLinkOf == nil && !nodes[$0].failed }
    }
}
