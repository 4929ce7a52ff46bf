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
    private var generations: [(version: Int, buckets: [UInt64: [UInt32]])] = []
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
            if generations.isEmpty { generations.append((version, [:])) }
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
            generations.append((version, [:]))
            current = generations.count - 1
        }
    }

    mutating func insert(_ superFeature: UInt64, chunkID: UInt32) {
        guard let current else { return }
        generations[current].buckets[superFeature, default: []].appendBounded(chunkID, limit: bucketLimit)
    }

    /// Distinct chunk ids stored under `superFeature` in any live generation.
    func candidates(for superFeature: UInt64) -> [UInt32] {
        var ids: [UInt32] = []
        for generation in generations {
            for id in generation.buckets[superFeature] ?? [] where !ids.contains(id) {
                ids.append(id)
            }
        }
        return ids
    }

    /// Number of (SF, chunk id) entries held: the table's memory, in entries.
    var entryCount: Int {
        generations.reduce(0) { $0 + $1.buckets.values.reduce(0) { $0 + $1.count } }
    }
}

private extension Array where Element == UInt32 {
    mutating func appendBounded(_ id: UInt32, limit: Int) {
        if let existing = firstIndex(of: id) { remove(at: existing) }
        append(id)
        if count > limit { removeFirst(count - limit) }
    }
}
