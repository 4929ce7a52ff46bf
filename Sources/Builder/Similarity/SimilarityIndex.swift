/// Settings of the three-tier similarity index.
public struct SimilarityIndexOptions: Sendable, Equatable {
    /// Tiers searched, 1...enabledTiers: 1 alone is the N-transform/Odess baseline.
    public var enabledTiers: Int = 3
    /// Versions for which tier-2 and tier-3 entries live (tier 1 keeps all).
    public var tier2Window: Int = 5
    public var tier3Window: Int = 2
    /// Most chunk ids kept per super-feature and version.
    public var bucketLimit: Int = 8

    public init(enabledTiers: Int = 3, tier2Window: Int = 5, tier3Window: Int = 2, bucketLimit: Int = 8) {
        precondition((1...3).contains(enabledTiers), "tiers must be 1, 2 or 3")
        self.enabledTiers = enabledTiers
        self.tier2Window = tier2Window
        self.tier3Window = tier3Window
        self.bucketLimit = bucketLimit
    }
}

/// A similar earlier chunk found by the index.
public struct SimilarityMatch: Equatable, Sendable {
    public let chunkID: UInt32
    /// The first tier (1, 2 or 3) whose super-features found a candidate.
    public let tier: Int
    /// Super-features the chosen chunk shares with the query, over all live tiers.
    public let sharedSuperFeatures: Int
}

/// Palantir's hierarchical similarity index: three tables of super-features,
/// searched from the strictest tier (1) to the loosest (3).
///
/// Candidate choice: the first tier with any candidate decides the candidate
/// set; each candidate is then scored by the number of super-features it
/// shares with the query across all enabled tiers (at most 3+4+6 = 13), so a
/// candidate that also matches on the looser tiers wins over one that matches
/// a single tier-1 SF only. Ties go to the most recent chunk (highest id).
///
/// Lifecycle: `startVersion` drops tier-2 entries older than `tier2Window`
/// versions and tier-3 entries older than `tier3Window`, so the tables of the
/// loose (and largest-fan-out) tiers stay bounded however many versions come.
public struct SimilarityIndex {
    public let options: SimilarityIndexOptions
    private var tables: [SimilarityTierTable]

    public init(options: SimilarityIndexOptions = SimilarityIndexOptions()) {
        self.options = options
        let windows: [Int?] = [nil, options.tier2Window, options.tier3Window]
        tables = windows.prefix(options.enabledTiers).map {
            SimilarityTierTable(window: $0, bucketLimit: options.bucketLimit)
        }
    }

    /// Starts a new version: expired entries are dropped, new ones go to `version`.
    public mutating func startVersion(_ version: Int) {
        for t in tables.indices { tables[t].startVersion(version) }
    }

    /// Records `chunkID` under the given super-features in the current version.
    public mutating func insert(_ superFeatures: SuperFeatures, chunkID: UInt32) {
        for t in tables.indices {
            for sf in superFeatures.tiers[t] { tables[t].insert(sf, chunkID: chunkID) }
        }
    }

    public func lookup(_ superFeatures: SuperFeatures) -> SimilarityMatch? {
        for t in tables.indices {
            // Candidates and their scores; a handful, so plain arrays.
            var ids: [UInt32] = []
            var scores: [Int] = []
            for sf in superFeatures.tiers[t] {
                tables[t].forEachCandidate(for: sf) { id in
                    if let k = ids.firstIndex(of: id) { scores[k] += 1 } else { ids.append(id); scores.append(1) }
                }
            }
            guard !ids.isEmpty else { continue }
            for other in tables.indices where other != t {
                for sf in superFeatures.tiers[other] {
                    tables[other].forEachCandidate(for: sf) { id in
                        if let k = ids.firstIndex(of: id) { scores[k] += 1 }
                    }
                }
            }
            var best = 0
            for k in ids.indices.dropFirst() where (scores[k], ids[k]) > (scores[best], ids[best]) { best = k }
            return SimilarityMatch(chunkID: ids[best], tier: t + 1, sharedSuperFeatures: scores[best])
        }
        return nil
    }

    /// Entries held per tier (index 0 is tier 1), to show memory stays bounded.
    public var entryCounts: [Int] { tables.map(\.entryCount) }
}
