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

    /// Chunk ids start here: 0 for a build, the archive's chunk count for
    /// an append (ids below it are the archive's own chunks, `previous`).
    let first: Int
    /// Stored chunks of the archive an append adds to, by the first 16
    /// bytes of their digest (`DigestPrefix`).
    private(set) lazy var previous: [DigestPrefix: UInt32] = loadPrevious?() ?? [:]
    private let loadPrevious: (() -> [DigestPrefix: UInt32])?
    /// Digests of the chunks this build stores, from `first` on.
    private(set) var digests: [ChunkDigest] = []
    /// The first chunk stored under each digest, keyed by the digest's
    /// first 64 bits: a quarter of the memory of whole-digest keys (those
    /// took 95 bytes a chunk, 9.5 MB for a tree of 100,000 small files).
    /// The whole digest is compared on lookup, so two digests that share
    /// their first 64 bits only cost the later one its dedup.
    private var firstIDOfPrefix: [UInt64: UInt32] = [:]
    private(set) var records: [ChunkRecord] = []
    private(set) var sources: [Source] = []
    private(set) var files: [SourceFile] = []
    /// Per chunk this build stores, for the builder state: the chunk id its
    /// super-features were filed under (`BuilderState.notFiled`: none) and
    /// its kept features, 12 a chunk back to back (zeros where it has none):
    /// plain arrays, 28 bytes a chunk, where the super-features themselves
    /// would keep several small arrays per chunk alive for the whole build.
    private(set) var filedUnder: [UInt32] = []
    private var kept: [UInt16] = []
    /// Per chunk this build stores, once placed: how many deltas decode it
    /// (0 for a literal chunk; `deltaDepth(of:)`).
    private var depths: [UInt8] = []
    /// The delta depth of a chunk of the archive appended to (its index knows).
    private let previousDepth: (UInt32) -> Int
    /// The version being stored (set as each version starts) and, per chunk
    /// this build stores, the version that stored it.
    var currentVersion = 0
    private(set) var versions: [UInt32] = []

    /// `previous` is called the first time a chunk is looked up among them;
    /// `previousDepth` gives the delta depth of one of them.
    init(first: Int = 0, previous: (() -> [DigestPrefix: UInt32])? = nil, previousDepth: @escaping (UInt32) -> Int = { _ in 0 }) {
        self.first = first
        loadPrevious = previous
        self.previousDepth = previousDepth
    }

    /// How many deltas decode stored chunk `id` (placed, or the archive's).
    func deltaDepth(of id: UInt32) -> Int {
        Int(id) < first ? previousDepth(id) : Int(depths[Int(id) - first])
    }

    /// Chunks decided so far, the archive's own included.
    var count: Int { first + digests.count }

    /// The first stored chunk with this digest (of this build).
    func firstID(of digest: ChunkDigest) -> UInt32? {
        guard let id = firstIDOfPrefix[digest.words.0], digests[Int(id) - first] == digest else { return nil }
        return id
    }

    /// The chunk of the archive appended to with this digest's first 16 bytes.
    func previousChunk(with digest: ChunkDigest) -> UInt32? {
        loadPrevious == nil ? nil : previous[DigestPrefix(digest)]
    }

    /// The digest of chunk `id`, if this build stored it.
    func digest(of id: UInt32) -> ChunkDigest? {
        Int(id) >= first ? digests[Int(id) - first] : nil
    }

    /// Adds a new stored chunk; its id. Its placement follows (`place`).
    func add(_ digest: ChunkDigest) -> UInt32 {
        let id = UInt32(count)
        digests.append(digest)
        filedUnder.append(BuilderState.notFiled)
        kept.append(contentsOf: repeatElement(0, count: ChunkFeatures.count))
        versions.append(UInt32(currentVersion))
        if firstIDOfPrefix[digest.words.0] == nil { firstIDOfPrefix[digest.words.0] = id }
        return id
    }

    /// Records that chunk `id`'s super-features were filed under `under`.
    func file(_ id: UInt32, features: SuperFeatures, under: UInt32) {
        let k = Int(id) - first
        filedUnder[k] = under
        kept.replaceSubrange((k * ChunkFeatures.count)..<((k + 1) * ChunkFeatures.count), with: features.kept)
    }

    /// The kept features of this build's chunk number `k` (from `first`), if filed.
    func keptFeatures(_ k: Int) -> [UInt16]? {
        filedUnder[k] == BuilderState.notFiled ? nil : Array(kept[(k * ChunkFeatures.count)..<((k + 1) * ChunkFeatures.count)])
    }

    /// Chunks placed from now on come from this file.
    func beginFile(_ file: SourceFile) {
        files.append(file)
    }

    /// Records where chunk `id` (the next one to place) went and where its
    /// bytes came from (`offset` in the current file's stored bytes).
    func place(_ id: UInt32, _ record: ChunkRecord, offset: UInt64) {
        precondition(Int(id) == first + records.count, "chunks are placed in the order they were decided")
        records.append(record)
        sources.append(Source(file: UInt32(files.count - 1), offset: offset, length: record.length))
        depths.append(record.kind == .literal ? 0 : UInt8(deltaDepth(of: record.base) + 1))
    }

    /// The placement of chunk `id`, once placed.
    func placement(of id: UInt32) -> ChunkRecord? {
        (first..<(first + records.count)).contains(Int(id)) ? records[Int(id) - first] : nil
    }
}
