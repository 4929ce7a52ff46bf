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
    /// Set when the entry could not be archived (it is left out of the index).
    var failed = false
}

/// The scanned sources: node 0 is the archive root.
struct ScannedTree {
    var nodes: [ScannedNode] = []
    var warnings: [String] = []

    /// Regular files that carry content (hard-link repeats excluded).
    var primaryFiles: [Int] {
        nodes.indices.filter { nodes[$0].kind == .regular && nodes[$0].hardLinkOf == nil && !nodes[$0].failed }
    }
}
