import XCTest
@testable import Builder

/// Index behaviour on hand-made features, where which super-features match is known exactly.
final class SimilarityIndexTests: XCTestCase {
    private let base = (0..<12).map { UInt64($0 + 1) * 0x1000_0001 }

    /// `base` with the features at `changed` replaced by fresh values.
    private func variant(changing changed: [Int], salt: UInt64 = 7) -> SuperFeatures {
        var values = base
        for i in changed { values[i] = salt &* 0x9E37_79B9 &+ UInt64(i) }
        return SuperFeatures(features: ChunkFeatures(values: values))
    }

    private var original: SuperFeatures { variant(changing: []) }
    /// Shares f0-f3: tier-1 SF 0 matches.
    private var tier1Variant: SuperFeatures { variant(changing: Array(4..<12)) }
    /// Shares f0-f2 only: no group of 4, one group of 3.
    private var tier2Variant: SuperFeatures { variant(changing: Array(3..<12)) }
    /// Shares f0-f1 only: one group of 2.
    private var tier3Variant: SuperFeatures { variant(changing: Array(2..<12)) }

    func testLookupReportsTheFirstTierThatHits() {
        var index = SimilarityIndex()
        index.startVersion(0)
        index.insert(original, chunkID: 5)
        XCTAssertEqual(index.lookup(original), SimilarityMatch(chunkID: 5, tier: 1, sharedSuperFeatures: 13))
        XCTAssertEqual(index.lookup(tier1Variant)?.tier, 1)
        XCTAssertEqual(index.lookup(tier2Variant)?.tier, 2)
        XCTAssertEqual(index.lookup(tier3Variant)?.tier, 3)
        XCTAssertEqual(index.lookup(tier3Variant)?.chunkID, 5)
        XCTAssertNil(index.lookup(variant(changing: Array(0..<12))))
    }

    func testFewerTiersFindLess() {
        var index = SimilarityIndex(options: SimilarityIndexOptions(enabledTiers: 1))
        index.startVersion(0)
        index.insert(original, chunkID: 1)
        XCTAssertEqual(index.lookup(tier1Variant)?.tier, 1)
        XCTAssertNil(index.lookup(tier2Variant))
        XCTAssertNil(index.lookup(tier3Variant))
    }

    func testPrefersTheCandidateSharingMostSuperFeatures() {
        var index = SimilarityIndex()
        index.startVersion(0)
        // Chunk 1 shares f0-f5 with the query, chunk 2 (more recent) only f0-f3.
        index.insert(variant(changing: Array(6..<12), salt: 1), chunkID: 1)
        index.insert(variant(changing: Array(4..<12), salt: 2), chunkID: 2)
        let query = variant(changing: Array(6..<12), salt: 3)
        XCTAssertEqual(index.lookup(query)?.chunkID, 1)
        // Equal scores: the most recent wins.
        index.insert(variant(changing: Array(6..<12), salt: 4), chunkID: 3)
        XCTAssertEqual(index.lookup(query)?.chunkID, 3)
    }

    func testLooseTiersExpireWithVersionsWhileTierOneStays() {
        var index = SimilarityIndex()
        index.startVersion(0)
        index.insert(original, chunkID: 0)
        index.startVersion(1)
        XCTAssertEqual(index.lookup(tier3Variant)?.tier, 3, "tier 3 keeps the last 2 versions")
        index.startVersion(2)
        XCTAssertNil(index.lookup(tier3Variant), "tier-3 entries of version 0 are gone at version 2")
        XCTAssertEqual(index.lookup(tier2Variant)?.tier, 2)
        XCTAssertEqual(index.lookup(tier1Variant)?.tier, 1)
        index.startVersion(5)
        XCTAssertNil(index.lookup(tier2Variant), "tier-2 entries of version 0 are gone at version 5")
        index.startVersion(50)
        XCTAssertEqual(index.lookup(tier1Variant)?.chunkID, 0, "tier 1 keeps every version")
        XCTAssertEqual(index.entryCounts, [3, 0, 0])
    }

    func testVersionsOutOfOrderKeepTheWindowOfTheNewest() {
        var index = SimilarityIndex()
        index.startVersion(0)
        index.insert(original, chunkID: 0)
        index.startVersion(9)
        XCTAssertNil(index.lookup(tier3Variant), "version 0 is outside tier 3's window of the newest (9)")
        XCTAssertEqual(index.lookup(tier1Variant)?.chunkID, 0)
        index.startVersion(1)  // back to an old version, as similarity order does
        index.insert(variant(changing: Array(6..<12), salt: 5), chunkID: 1)
        XCTAssertNil(index.lookup(tier3Variant), "version 1 is not filed on tier 3 either")
        index.startVersion(8)
        index.insert(variant(changing: Array(6..<12), salt: 6), chunkID: 2)
        XCTAssertEqual(index.lookup(tier3Variant)?.chunkID, 2)
        XCTAssertEqual(index.entryCounts, [9, 4, 6])
    }

    func testWindowsAreOptions() {
        var index = SimilarityIndex(options: SimilarityIndexOptions(tier2Window: 1, tier3Window: 4))
        index.startVersion(0)
        index.insert(original, chunkID: 0)
        index.startVersion(3)
        XCTAssertEqual(index.lookup(tier3Variant)?.tier, 3)
        XCTAssertEqual(index.lookup(tier2Variant)?.tier, 3, "tier 2 keeps 1 version here, tier 3 keeps 4")
    }

    func testBucketsKeepOnlyTheMostRecentEntries() {
        var index = SimilarityIndex(options: SimilarityIndexOptions(bucketLimit: 2))
        index.startVersion(0)
        for id: UInt32 in 0..<10 { index.insert(original, chunkID: id) }
        XCTAssertEqual(index.entryCounts, [6, 8, 12])
        XCTAssertEqual(index.lookup(original)?.chunkID, 9)
    }

    /// The flat SF table against a dictionary of arrays doing the same: many
    /// SFs (so it grows several times), keys that collide in their low bits,
    /// key 0, repeated ids, and buckets overflowing their limit.
    func testSuperFeatureBucketsAgreeWithADictionary() {
        var buckets = SuperFeatureBuckets(limit: 3)
        var reference: [UInt64: [UInt32]] = [:]
        var rng = SimilarityTestRNG(seed: 40)
        let keys: [UInt64] = (0..<3000).map { i in i % 5 == 0 ? UInt64(i) << 40 : rng.next() } + [0]
        for _ in 0..<20_000 {
            let key = keys[rng.below(keys.count)]
            let id = UInt32(rng.below(6))
            buckets.insert(key, id)
            var ids = reference[key, default: []]
            ids.removeAll { $0 == id }
            ids.append(id)
            if ids.count > 3 { ids.removeFirst() }
            reference[key] = ids
        }
        for key in keys {
            var got: [UInt32] = []
            buckets.forEach(key) { got.append($0) }
            XCTAssertEqual(got, reference[key] ?? [], "key \(key)")
        }
        XCTAssertEqual(buckets.entries, reference.values.reduce(0) { $0 + $1.count })
        var none: [UInt32] = []
        buckets.forEach(12345) { none.append($0) }
        XCTAssertEqual(none, [])
    }
}
