/// Super-features on Palantir's three tiers, each a hash of a group of
/// consecutive features:
///
/// - tier 1: 3 SFs of 4 features (f0-3, f4-7, f8-11): a hit means strong resemblance;
/// - tier 2: 4 SFs of 3 features (f0-2, f3-5, ...);
/// - tier 3: 6 SFs of 2 features (f0-1, f2-3, ...): finds chunks that share less.
///
/// Groups are consecutive, so the tiers nest: a tier-1 SF match implies
/// matches of the tier-2 and tier-3 SFs made of the same features.
public struct SuperFeatures: Hashable, Sendable {
    public static let tierCount = 3
    /// Features per super-feature, by tier (index 0 is tier 1).
    public static let groupSizes = [4, 3, 2]

    /// `tiers[t]` holds the super-features of tier t+1.
    public let tiers: [[UInt64]]
    /// The features they are made of, as a builder state keeps them: the low
    /// 16 bits of each (the low bits of a maximum are its uniform ones; the
    /// top bits of the maximum of ~128 samples are nearly always set).
    /// Super-features are hashed from these, so an append recomputes the
    /// super-features of every tier of a stored chunk from 24 bytes
    /// (docs/FORMAT.md, "Builder state"). Two different chunks share a
    /// 16-bit feature once in 65536; a tier-3 super-feature needs two.
    public let kept: [UInt16]

    public init(features: ChunkFeatures) {
        self.init(kept: features.values.map { UInt16(truncatingIfNeeded: $0) })
    }

    /// From kept features; tiers above `tiers` are left empty (they find nothing).
    init(kept: [UInt16], tiers enabled: Int = SuperFeatures.tierCount) {
        precondition(kept.count == ChunkFeatures.count, "a chunk has exactly \(ChunkFeatures.count) features")
        self.kept = kept
        tiers = Self.groupSizes.enumerated().map { tierIndex, size in
            guard tierIndex < enabled else { return [] }
            return stride(from: 0, to: ChunkFeatures.count, by: size).map { start in
                Self.hash(tier: tierIndex, start: start, size: size) { kept[$0] }
            }
        }
    }

    /// The super-feature of features start..<start+size of tier `tier`
    /// (0-based), `feature(i)` giving kept feature i.
    @inline(__always)
    static func hash(tier: Int, start: Int, size: Int, _ feature: (Int) -> UInt16) -> UInt64 {
        // Salting by tier and position keeps SFs of different groups
        // apart even where their features coincide.
        var h = SimilarityHashing.mix(UInt64(tier) << 32 | UInt64(start))
        for f in start..<(start + size) {
            h = SimilarityHashing.mix(h ^ UInt64(feature(f)))
        }
        return h
    }

    /// The super-features of `tier` (1, 2 or 3).
    public func values(tier: Int) -> [UInt64] {
        tiers[tier - 1]
    }
}
