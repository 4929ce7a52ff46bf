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
/// Every literal byte passes through here (one sample per ~64 bytes), so the
/// table is a flat open-addressing one keyed by the samples themselves (they
/// are already hashes): a Swift Dictionary spent most of its time hashing.
/// Slots carry the frame they were written for, so a new frame starts empty
/// without clearing anything. Memory: 16 bytes a slot, at most twice the
/// samples of one frame (about 8 MiB for 16 MiB of literal data).
public struct FrameSketch {
    public private(set) var frame = -1
    private var keys: [UInt64] = []
    private var offsets: [Int32] = []
    /// Frame + 1 each slot belongs to (0: never used).
    private var owners: [Int32] = []
    private var count = 0
    private var mask = 0

    public init() {}

    /// Empties the sketch when literal bytes start going into frame `number`.
    public mutating func enter(frame number: Int) {
        guard number != frame else { return }
        frame = number
        count = 0
    }

    /// Records the samples of a literal chunk stored at `offset` in the frame.
    public mutating func insert(_ samples: [UInt64], at offset: Int) {
        if (count + samples.count) * 2 > keys.count { grow(toHold: count + samples.count) }
        let owner = Int32(truncatingIfNeeded: frame + 1)
        for h in samples {
            var i = Int(truncatingIfNeeded: h) & mask
            while owners[i] == owner && keys[i] != h { i = (i + 1) & mask }
            if owners[i] != owner { owners[i] = owner; keys[i] = h; count += 1 }
            offsets[i] = Int32(truncatingIfNeeded: offset)
        }
    }

    /// How many of `samples` the frame holds at most `reach` bytes before `position`.
    public func hits(_ samples: [UInt64], before position: Int, reach: Int) -> Int {
        guard !keys.isEmpty else { return 0 }
        let owner = Int32(truncatingIfNeeded: frame + 1)
        var n = 0
        for h in samples {
            var i = Int(truncatingIfNeeded: h) & mask
            while owners[i] == owner {
                if keys[i] == h {
                    if position - Int(offsets[i]) <= reach { n += 1 }
                    break
                }
                i = (i + 1) & mask
            }
        }
        return n
    }

    /// Doubles the table (keeping this frame's entries) until `entries` fill
    /// at most half of it.
    private mutating func grow(toHold entries: Int) {
        var capacity = max(keys.count, 1 << 12)
        while entries * 2 > capacity { capacity *= 2 }
        let owner = Int32(truncatingIfNeeded: frame + 1)
        let old = (keys: keys, offsets: offsets, owners: owners)
        keys = [UInt64](repeating: 0, count: capacity)
        offsets = [Int32](repeating: 0, count: capacity)
        owners = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1
        count = 0
        for j in old.keys.indices where old.owners[j] == owner {
            var i = Int(truncatingIfNeeded: old.keys[j]) & mask
            while owners[i] == owner { i = (i + 1) & mask }
            owners[i] = owner; keys[i] = old.keys[j]; offsets[i] = old.offsets[j]; count += 1
        }
    }
}
