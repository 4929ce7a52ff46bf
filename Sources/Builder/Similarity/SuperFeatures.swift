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
                return Self.fold(h)
            }
        }
    }

    /// Super-features are kept as 32-bit values: an append finds chunks of
    /// earlier runs by the values their builder state kept (docs/FORMAT.md,
    /// "Builder state"), and 32 bits still leave a false match on a
    /// super-feature about once per 4 billion lookups (the delta filter and
    /// the base's digest check catch those anyway).
    static func fold(_ h: UInt64) -> UInt64 { (h ^ h >> 32) & 0xFFFF_FFFF }

    /// Super-features as a builder state keeps them: tier 1, 2 and 3 in
    /// order (`BuilderState.featureCount` values); `tiers` says which tiers
    /// to take (the others are left empty, so they find nothing).
    init(stored values: [UInt32], tiers: Int) {
        var start = 0
        var all: [[UInt64]] = []
        for (t, size) in Self.groupSizes.enumerated() {
            let count = ChunkFeatures.count / size
            all.append(t < tiers ? values[start..<(start + count)].map { UInt64($0) } : [])
            start += count
        }
        self.tiers = all
    }

    /// All tiers' values in order, as a builder state keeps them.
    var stored: [UInt32] { tiers.joined().map { UInt32(truncatingIfNeeded: $0) } }

    /// The super-features of `tier` (1, 2 or 3).
    public func values(tier: Int) -> [UInt64] {
        tiers[tier - 1]
    }
}
