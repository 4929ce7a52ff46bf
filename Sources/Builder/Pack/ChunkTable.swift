import Archive

/// Every chunk stored by a build, by id (0, 1, 2, ... in the order they are
/// decided): its digest (for exact dedup), where its bytes came from (to
/// read it again as a delta base or to confirm a duplicate) and where it was
/// placed (its frame and offset: the index's chunk table). One table, owned
/// by the packer: the similarity stage adds digests and reads placements,
/// the packer places, and the index takes the placements at the end.
final class ChunkTable {
    /// A source file whose bytes chunks came from, as it was read: by node,
    /// at this identity, with these data extents if it has holes.
    struct SourceFile {
        let node: Int
        let identity: FileIdentity
        let extents: [DataExtent]?
    }

    /// Where a chunk's bytes lie in its source: `length` bytes at `offset`
    /// of the file's stored bytes (its data extents back to back).
    struct Source {
        let file: UInt32
        let offset: UInt64
        let length: UInt32
    }

    private(set) var digests: [ChunkDigest] = []
    private var firstIDOfDigest: [ChunkDigest: UInt32] = [:]
    private(set) var records: [ChunkRecord] = []
    private(set) var sources: [Source] = []
    private(set) var files: [SourceFile] = []

    /// Chunks decided so far.
    var count: Int { digests.count }

    /// The first stored chunk with this digest.
    func firstID(of digest: ChunkDigest) -> UInt32? { firstIDOfDigest[digest] }

    /// Adds a new stored chunk; its id. Its placement follows (`place`).
    func add(_ digest: ChunkDigest) -> UInt32 {
        let id = UInt32(digests.count)
        digests.append(digest)
        if firstIDOfDigest[digest] == nil { firstIDOfDigest[digest] = id }
        return id
    }

    /// Chunks placed from now on come from this file.
    func beginFile(_ file: SourceFile) {
        files.append(file)
    }

    /// Records where chunk `id` (the next one to place) went and where its
    /// bytes came from (`offset` in the current file's stored bytes).
    func place(_ id: UInt32, _ record: ChunkRecord, offset: UInt64) {
        precondition(Int(id) == records.count, "chunks are placed in the order they were decided")
        records.append(record)
        sources.append(Source(file: UInt32(files.count - 1), offset: offset, length: record.length))
    }

    /// The placement of chunk `id`, once placed.
    func placement(of id: UInt32) -> ChunkRecord? {
        Int(id) < records.count ? records[Int(id)] : nil
    }
}
