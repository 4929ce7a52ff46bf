import Archive

/// What the build stored for the entries of the scanned tree, filled in as
/// contents are captured and handed to the index assembler: each regular
/// file's content, the attributes of files stored as a later version than
/// the scan saw, the entries left out, and hard-link groups that had to be
/// regrouped because a name was replaced during the build.
struct StoredTree {
    /// Contents and chunk refs this build adds; an append's continue the
    /// archive's (ids from `firstContent`, refs from `firstRef`).
    var contents: [ContentRecord] = []
    var refs: [UInt32] = []
    let firstContent: Int
    let firstRef: Int
    /// The archive's own contents (an append's files may reuse them).
    let priorContents: [ContentRecord]
    /// Data extents of the contents with holes, by content.
    var sparse: [Int: [DataExtent]] = [:]
    /// Regular file node -> content.
    var contentOf: [Int: Int] = [:]
    /// Files stored as they were later than the scan (they changed meanwhile).
    var fresh: [Int: EntryMetadata] = [:]
    /// Entries left out of the archive.
    var failed: Set<Int> = []
    /// Hard-link names whose group leader is not the scan's first name:
    /// node -> leader (a leader maps to itself).
    var leaderOverride: [Int: Int] = [:]
    private var emptyContent: Int?

    init(continuing prior: ArchiveIndex? = nil) {
        priorContents = prior?.contents ?? []
        firstContent = priorContents.count
        firstRef = prior?.chunkRefs.count ?? 0
    }

    /// The size of content `id` (this build's or the archive's).
    func size(of id: Int) -> UInt64 {
        id >= firstContent ? contents[id - firstContent].size : priorContents[id].size
    }

    /// Adds a stored content; its id.
    mutating func add(_ captured: ContentPacker.Captured) -> Int {
        let id = firstContent + contents.count
        contents.append(ContentRecord(size: captured.size, firstRef: UInt64(firstRef + refs.count), refCount: UInt32(captured.refs.count)))
        refs += captured.refs
        if let extents = captured.extents { sparse[id] = extents }
        return id
    }

    /// The one content of every empty file.
    mutating func empty() -> Int {
        if let emptyContent { return emptyContent }
        emptyContent = firstContent + contents.count
        contents.append(ContentRecord(size: 0, firstRef: UInt64(firstRef + refs.count), refCount: 0))
        return emptyContent!
    }

    /// The node whose capture a name shares: itself, or its hard-link leader.
    func leader(of node: Int, in tree: ScannedTree) -> Int {
        leaderOverride[node] ?? tree.nodes[node].hardLinkOf ?? node
    }

    /// The attributes to store for `node`.
    func metadata(of node: Int, in tree: ScannedTree) -> EntryMetadata {
        fresh[node] ?? tree.nodes[node].metadata
    }

    /// Whether the entry is in the archive: not left out, and sharing the
    /// capture of a leader that is in it.
    func isArchived(_ node: Int, in tree: ScannedTree) -> Bool {
        guard !failed.contains(node) else { return false }
        let leader = leader(of: node, in: tree)
        if leader != node && failed.contains(leader) { return false }
        if tree.nodes[leader].kind == .regular { return contentOf[leader] != nil }
        return true
    }
}
