/// What the similarity stage learns from a chunk's bytes alone, before any
/// decision: the strong digest for exact dedup and, with deltas on, the
/// super-features, the content samples and (for one chunk in
/// `filterSampleInterval`) the chunk's lossless size for the filter.
public struct ChunkAnalysis: Equatable, Sendable {
    public var digest: ChunkDigest
    /// nil when deltas are off.
    public var superFeatures: SuperFeatures?
    public var samples: [UInt64]
    /// The estimator's output length, when this chunk is one the filter samples.
    public var losslessLength: Int?
}

/// Computes `ChunkAnalysis`. None of it depends on how earlier chunks were
/// stored, so the builder can run an analyzer on a thread of its own, ahead
/// of the decisions (`ChunkPreparer`); the similarity stage keeps one for
/// chunks handed to it bare. Each thread needs its own analyzer: the
/// estimator owns hash tables.
public struct ChunkAnalyzer {
    public let options: SimilarityStageOptions
    private let extractor: ChunkFeatureExtractor
    private let estimator: DeltaCoder
    /// Chunks analyzed so far: the filter samples every
    /// `filterSampleInterval`-th, counting duplicates too, so that an
    /// analyzer ahead of the decisions samples the same chunks as one inline.
    private var sequence = 0

    public init(options: SimilarityStageOptions, estimator: DeltaCoder) {
        self.options = options
        self.estimator = estimator
        extractor = ChunkFeatureExtractor(samplingBits: options.samplingBits)
    }

    public mutating func analyze(_ chunk: UnsafeRawBufferPointer) -> ChunkAnalysis {
        defer { sequence += 1 }
        let digest = ChunkDigest(of: chunk)
        guard options.deltaEnabled else { return ChunkAnalysis(digest: digest, superFeatures: nil, samples: []) }
        let (features, samples) = extractor.featuresAndSamples(of: chunk)
        var lossless: Int?
        if sequence % options.filterSampleInterval == 0 {
            lossless = estimator.encode(target: chunk, base: []).map(\.count) ?? chunk.count
        }
        return ChunkAnalysis(digest: digest, superFeatures: SuperFeatures(features: features), samples: samples,
                             losslessLength: lossless)
    }
}
