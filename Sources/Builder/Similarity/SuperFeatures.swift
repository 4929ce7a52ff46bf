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

    public init(features: ChunkFeatures) {
        tiers = Self.groupSizes.enumerated().map { tierIndex, size in
            stride(from: 0, to: ChunkFeatures.count, by: size).map { start in
                // Salting by tier and position keeps SFs of different groups
                // apart even where their features coincide.
                var h = SimilarityHashing.mix(UInt64(tierIndex) << 32 | UInt64(start))
                for f in features.values[start..<(start + size)] {
                    h = SimilarityHashing.mix(h ^ f)
                }
                return h
            }
        }
    }

    /// The super-features of `tier` (1, 2 or 3).
    public func values(tier: Int) -> [UInt64] {
        tiers[tier - 1]
    }
}
