/// What chunk dedup and delta compression did, for the build summary and `--json`.
public struct SimilarityStats: Codable, Equatable, Sendable {
    public var chunks = 0
    public var inputBytes = 0
    public var duplicateChunks = 0
    public var duplicateBytes = 0
    /// Chunks stored as they are (including rejected delta candidates).
    public var literalChunks = 0
    public var literalBytes = 0
    /// Accepted deltas by the tier that found the base (index 0 is tier 1).
    public var deltaHits = [0, 0, 0]
    /// Appends: accepted deltas whose base no tier found, the chunk at the
    /// same offset of the file's previous version.
    public var previousVersionDeltas = 0
    /// Bytes of the chunks stored as deltas, and of their deltas.
    public var deltaInputBytes = 0
    public var deltaOutputBytes = 0
    /// Candidates whose delta did not beat lossless compression (Palantir's
    /// filter).
    public var filterRejections = 0
    /// Candidates left literal because their base lies within the frame
    /// compressor's reach, which exploits the resemblance itself.
    public var basesInFrameReach = 0
    /// Candidates left literal because the frame being filled already holds
    /// as much of their content as their base does (`FrameSketch`).
    public var contentInFrame = 0
    /// Candidates whose base could not be read back unchanged (stored literally).
    public var unavailableBases = 0
    /// (SF, chunk id) entries the similarity index holds per tier at the end:
    /// tiers 2 and 3 stay bounded by their version windows.
    public var indexEntries: [Int] = []
    /// Digest-equal chunks whose earlier bytes read back different: a source
    /// file changed during the build (or a SHA-256 collision). Stored literally.
    public var unconfirmedDuplicates = 0
    /// Appends: duplicates of chunks the archive already stored, deltas
    /// whose base it stored, and its chunks whose super-features were loaded.
    public var previousDuplicateChunks = 0
    public var previousBases = 0
    public var seededChunks = 0

    public init() {}

    public var deltaChunks: Int { deltaHits.reduce(0, +) + previousVersionDeltas }
    /// Bytes the exact chunk dedup avoided storing.
    public var dedupBytesSaved: Int { duplicateBytes }
    /// Bytes delta encoding avoided storing, against storing those chunks raw.
    public var deltaBytesSaved: Int { deltaInputBytes - deltaOutputBytes }

}
