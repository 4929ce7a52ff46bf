/// One tier's super-feature table: SF -> most recent chunk ids, kept per
/// version so that a whole version's entries can be dropped at once when it
/// leaves the tier's window. A table without a window keeps one generation
/// for ever.
///
/// Versions need not arrive in order: the builder may store the versions of
/// one file side by side (similarity order). The window is counted back from
/// the newest version seen, so memory stays bounded to `window` versions
/// either way, and chunks of a version already out of the window are simply
/// not filed in this tier.
struct SimilarityTierTable {
    /// Versions kept, counted back from the newest seen; nil keeps every version.
    let window: Int?
    /// Most entries kept per SF and generation; the oldest go first. Bounds
    /// both memory and lookup cost for SFs of very common content.
    let bucketLimit: Int
    private var generations: [(version: Int, buckets: SuperFeatureBuckets)] = []
    /// Index in `generations` that receives insertions; nil when the current
    /// version is outside the window.
    private var current: Int?
    private var newest = Int.min

    init(window: Int?, bucketLimit: Int) {
        precondition(window.map { $0 >= 1 } ?? true, "a tier window must keep at least one version")
        precondition(bucketLimit >= 1, "bucket limit must be at least 1")
        self.window = window
        self.bucketLimit = bucketLimit
    }

    /// Makes `version` the one insertions go to and drops generations that
    /// fell out of the window.
    mutating func startVersion(_ version: Int) {
        guard let window else {
            if generations.isEmpty { generations.append((version, SuperFeatureBuckets(limit: bucketLimit))) }
            current = 0
            return
        }
        newest = max(newest, version)
        generations.removeAll { $0.version <= newest - window }
        if version <= newest - window {
            current = nil
        } else if let existing = generations.firstIndex(where: { $0.version == version }) {
            current = existing
        } else {
            generations.append((version, SuperFeatureBuckets(limit: bucketLimit)))
            current = generations.count - 1
        }
    }

    mutating func insert(_ superFeature: UInt64, chunkID: UInt32) {
        guard let current else { return }
        generations[current].buckets.insert(superFeature, chunkID)
    }

    /// Calls `body` once for each distinct chunk id stored under
    /// `superFeature` in any live generation.
    func forEachCandidate(for superFeature: UInt64, _ body: (UInt32) -> Void) {
        if generations.count == 1 {
            generations[0].buckets.forEach(superFeature, body)   // distinct within a bucket
            return
        }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: generations.count * bucketLimit) { seen in
            var n = 0
            for generation in generations {
                generation.buckets.forEach(superFeature) { id in
                    guard !seen[0..<n].contains(id) else { return }
                    seen[n] = id
                    n += 1
                    body(id)
                }
            }
        }
    }

    /// Number of (SF, chunk id) entries held: the table's memory, in entries.
    var entryCount: Int {
        generations.reduce(0) { $0 + $1.buckets.entries }
    }
}

/// SF -> up to `limit` chunk ids (oldest first) in one open-addressing
/// array, each slot the SF's two halves, a count and the ids side by side,
/// so an insert or a probe touches one slot. SFs are already well-mixed
/// hashes; a Swift Dictionary of arrays spent most of its time hashing them
/// again and allocating one array per SF.
struct SuperFeatureBuckets {
    let limit: Int
    private let stride: Int
    private var words: [UInt32] = []
    private var mask = -1
    private var used = 0
    private(set) var entries = 0

    init(limit: Int) {
        self.limit = limit
        stride = 3 + limit
    }

    /// Adds `id` as the newest entry under `key` (an id already there moves
    /// to the newest place); beyond `limit` the oldest is dropped.
    mutating func insert(_ key: UInt64, _ id: UInt32) {
        if (used + 1) * 2 > mask + 1 { grow() }
        let (slot, found) = find(key)
        let stride = self.stride, limit = self.limit
        var added = 0
        words.withUnsafeMutableBufferPointer { w in
            let base = slot * stride
            if !found {
                w[base] = UInt32(truncatingIfNeeded: key)
                w[base + 1] = UInt32(truncatingIfNeeded: key >> 32)
                w[base + 2] = 1
                w[base + 3] = id
                added = 1
                return
            }
            var count = Int(w[base + 2])
            let ids = base + 3
            if let at = (0..<count).first(where: { w[ids + $0] == id }) {
                for k in at..<(count - 1) { w[ids + k] = w[ids + k + 1] }
                count -= 1
            } else if count == limit {
                for k in 0..<(count - 1) { w[ids + k] = w[ids + k + 1] }
                count -= 1
            } else {
                added = 1
            }
            w[ids + count] = id
            w[base + 2] = UInt32(count + 1)
        }
        entries += added
        if !found { used += 1 }
    }

    /// Calls `body` with each id under `key`, oldest first.
    func forEach(_ key: UInt64, _ body: (UInt32) -> Void) {
        guard used > 0 else { return }
        let (slot, found) = find(key)
        guard found else { return }
        let base = slot * stride
        for k in 0..<Int(words[base + 2]) { body(words[base + 3 + k]) }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    private func find(_ key: UInt64) -> (Int, Bool) {
        let low = UInt32(truncatingIfNeeded: key), high = UInt32(truncatingIfNeeded: key >> 32)
        return words.withUnsafeBufferPointer { w in
            var i = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
            while w[i * stride + 2] != 0 {
                if w[i * stride] == low && w[i * stride + 1] == high { return (i, true) }
                i = (i + 1) & mask
            }
            return (i, false)
        }
    }

    /// Doubles the slots (at least 1024) and files every SF again.
    private mutating func grow() {
        let capacity = max(1024, (mask + 1) * 2)
        let old = words, oldSlots = mask + 1
        words = [UInt32](repeating: 0, count: capacity * stride)
        mask = capacity - 1
        for s in 0..<oldSlots where old[s * stride + 2] != 0 {
            let key = UInt64(old[s * stride]) | UInt64(old[s * stride + 1]) << 32
            let (slot, _) = find(key)
            for k in 0..<stride { words[slot * stride + k] = old[s * stride + k] }
        }
    }
}
