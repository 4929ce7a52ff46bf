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
public final class FrameSketch {
    public private(set) var frame = -1
    /// One 16-byte slot per entry, so a probe touches one cache line (three
    /// parallel arrays cost three misses an insert).
    private struct Slot {
        var key: UInt64
        var offset: Int32
        /// Frame + 1 the slot belongs to (0: never used).
        var owner: Int32
    }
    private var slots: [Slot] = []
    private var count = 0
    private var mask = 0

    public init() {}

    /// Empties the sketch when literal bytes start going into frame `number`.
    public func enter(frame number: Int) {
        guard number != frame else { return }
        frame = number
        count = 0
    }

    /// Records the samples of a literal chunk stored at `offset` in the frame.
    public func insert(_ samples: [UInt64], at offset: Int) {
        if (count + samples.count) * 2 > slots.count { grow(toHold: count + samples.count) }
        let owner = Int32(truncatingIfNeeded: frame + 1)
        let at = Int32(truncatingIfNeeded: offset)
        let mask = self.mask
        var added = 0
        slots.withUnsafeMutableBufferPointer { table in
            for h in samples {
                var i = Int(truncatingIfNeeded: h) & mask
                while table[i].owner == owner && table[i].key != h { i = (i + 1) & mask }
                if table[i].owner != owner { added += 1 }
                table[i] = Slot(key: h, offset: at, owner: owner)
            }
        }
        count += added
    }

    /// How many of `samples` the frame holds at most `reach` bytes before `position`.
    public func hits(_ samples: [UInt64], before position: Int, reach: Int) -> Int {
        guard !slots.isEmpty else { return 0 }
        let owner = Int32(truncatingIfNeeded: frame + 1)
        var n = 0
        slots.withUnsafeBufferPointer { table in
            for h in samples {
                var i = Int(truncatingIfNeeded: h) & mask
                while table[i].owner == owner {
                    if table[i].key == h {
                        if position - Int(table[i].offset) <= reach { n += 1 }
                        break
                    }
                    i = (i + 1) & mask
                }
            }
        }
        return n
    }

    /// Doubles the table (keeping this frame's entries) until `entries` fill
    /// at most half of it.
    private func grow(toHold entries: Int) {
        var capacity = max(slots.count, 1 << 12)
        while entries * 2 > capacity { capacity *= 2 }
        let owner = Int32(truncatingIfNeeded: frame + 1)
        let old = slots
        slots = [Slot](repeating: Slot(key: 0, offset: 0, owner: 0), count: capacity)
        mask = capacity - 1
        count = 0
        for slot in old where slot.owner == owner {
            var i = Int(truncatingIfNeeded: slot.key) & mask
            while slots[i].owner == owner { i = (i + 1) & mask }
            slots[i] = slot
            count += 1
        }
    }
}
