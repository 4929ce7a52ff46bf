/// What the frame being filled holds within the frame compressor's reach, as
/// the sampled content hashes (`ChunkFeatureExtractor.samples`) of its
/// literal chunks, each with where in the frame it was last seen.
///
/// The frame compressor matches what lies a few MiB behind (its hash buckets
/// keep the latest positions), so a chunk whose content sits there (the
/// previous version of its file stored just before it, a copy in the same
/// directory) compresses in its frame at least as well as a delta against one
/// base would. Worse, a delta takes the chunk's literal bytes out of the
/// frame, where the next versions would have matched them. The sketch lets
/// the similarity stage see that: a chunk sharing as many samples with the
/// recent frame as with its base stays literal.
///
/// Memory: one entry per 64 bytes of literal data, a few MiB per frame.
public struct FrameSketch {
    public private(set) var frame = -1
    /// Sample -> frame offset of the chunk that last held it.
    private var latest: [UInt64: Int32] = [:]

    public init() {}

    /// Empties the sketch when literal bytes start going into frame `number`.
    public mutating func enter(frame number: Int) {
        guard number != frame else { return }
        frame = number
        latest.removeAll(keepingCapacity: true)
    }

    /// Records the samples of a literal chunk stored at `offset` in the frame.
    public mutating func insert(_ samples: [UInt64], at offset: Int) {
        for h in samples { latest[h] = Int32(offset) }
    }

    /// How many of `samples` the frame holds at most `reach` bytes before `position`.
    public func hits(_ samples: [UInt64], before position: Int, reach: Int) -> Int {
        samples.reduce(0) { n, h in
            guard let at = latest[h] else { return n }
            return position - Int(at) <= reach ? n + 1 : n
        }
    }
}
