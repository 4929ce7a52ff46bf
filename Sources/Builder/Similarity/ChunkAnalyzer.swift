/// What the similarity stage learns from a chunk's bytes alone, before any
/// decision: the digest for exact dedup and, with deltas on, what
/// similarity detection needs (`Resemblance`).
public struct ChunkAnalysis: Equatable, Sendable {
    public var digest: ChunkDigest
    /// True for the chunks whose lossless size the false-positive filter
    /// samples (one in `filterSampleInterval`, counting every chunk).
    public var sampledForFilter: Bool
    /// nil when deltas are off, or when the chunk was not worth it ahead of
    /// the decisions (it looked like a duplicate): the stage computes it
    /// from the bytes if the chunk turns out to be stored after all.
    public var resemblance: Resemblance?
}

/// A chunk's super-features, its content samples, and its lossless size
/// when it is one the filter samples.
public struct Resemblance: Equatable, Sendable {
    public var superFeatures: SuperFeatures
    public var samples: [UInt64]
    public var losslessLength: Int?
}

/// Computes `ChunkAnalysis`. None of it depends on how earlier chunks were
/// stored, so the builder can run an analyzer on a thread of its own, ahead
/// of the decisions (`ChunkPreparer`); the similarity stage keeps one for
/// chunks handed to it bare and for resemblances left out. Each thread needs
/// its own analyzer: the estimator owns hash tables.
public struct ChunkAnalyzer {
    public let options: SimilarityStageOptions
    private let extractor: ChunkFeatureExtractor
    private let estimator: DeltaCoder
    /// Chunks analyzed ahead so far (the filter's sampling counts them all).
    private var sequence = 0
    /// First 64 bits of every digest analyzed ahead: a chunk seen before is
    /// most likely a duplicate, whose resemblance nobody needs (a sixth of
    /// the chunks of ten Django releases).
    private var seen = Set<UInt64>()

    public init(options: SimilarityStageOptions, estimator: DeltaCoder) {
        self.options = options
        self.estimator = estimator
        extractor = ChunkFeatureExtractor(samplingBits: options.samplingBits)
    }

    /// The analysis of the next chunk of the stream, ahead of the decisions.
    public mutating func analyzeAhead(_ chunk: UnsafeRawBufferPointer) -> ChunkAnalysis {
        defer { sequence += 1 }
        let digest = ChunkDigest(of: chunk, kind: options.digestKind)
        var analysis = ChunkAnalysis(digest: digest, sampledForFilter: isSampled(sequence))
        let firstTime = seen.insert(digest.words.0).inserted || !options.chunkDedupEnabled
        // Without deltas, the features the builder state keeps are left to
        // the stage: the packer thread then has little else to do, and on
        // ten Django releases (versioned, deltas off) this thread was what
        // the build waited for (1.71 against 1.59 s, median of 5).
        if options.deltaEnabled && firstTime {
            analysis.resemblance = resemblance(of: chunk, sampledForFilter: analysis.sampledForFilter)
        }
        return analysis
    }

    /// Whether chunk number `sequence` (0, 1, ... over all chunks) is one the filter samples.
    public func isSampled(_ sequence: Int) -> Bool {
        sequence % options.filterSampleInterval == 0
    }

    public func resemblance(of chunk: UnsafeRawBufferPointer, sampledForFilter: Bool) -> Resemblance {
        let (features, samples) = extractor.featuresAndSamples(of: chunk)
        let lossless = sampledForFilter ? estimator.encode(target: chunk, base: []).map(\.count) ?? chunk.count : nil
        return Resemblance(superFeatures: SuperFeatures(features: features), samples: samples, losslessLength: lossless)
    }
}
