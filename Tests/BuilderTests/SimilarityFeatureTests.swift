import XCTest
@testable import Builder

final class SimilarityFeatureTests: XCTestCase {
    private let extractor = ChunkFeatureExtractor()

    private func shared(_ a: ChunkFeatures, _ b: ChunkFeatures) -> Int {
        zip(a.values, b.values).filter { $0 == $1 }.count
    }

    func testIdenticalChunksHaveIdenticalFeatures() {
        var rng = SimilarityTestRNG(seed: 10)
        let chunk = rng.bytes(8192)
        XCTAssertEqual(extractor.features(of: chunk), extractor.features(of: Array(chunk)))
        XCTAssertEqual(Set(extractor.features(of: chunk).values).count, 12, "transforms must differ")
    }

    func testFewByteEditsKeepMostFeatures() {
        var rng = SimilarityTestRNG(seed: 11)
        var totalShared = 0
        for _ in 0..<20 {
            let chunk = rng.bytes(8192)
            var edited = chunk
            for _ in 0..<3 { edited[rng.below(edited.count)] ^= 0x5A }
            totalShared += shared(extractor.features(of: chunk), extractor.features(of: edited))
        }
        XCTAssertGreaterThanOrEqual(totalShared, 20 * 10, "3 edits in 8 KiB should change few of 12 features")
    }

    func testUnrelatedChunksShareNoFeatures() {
        var rng = SimilarityTestRNG(seed: 12)
        let a = extractor.features(of: rng.bytes(8192))
        let b = extractor.features(of: rng.bytes(8192))
        XCTAssertEqual(shared(a, b), 0)
        XCTAssertTrue(Set(SuperFeatures(features: a).tiers.joined()).isDisjoint(with: SuperFeatures(features: b).tiers.joined()))
    }

    /// Hashing four bytes a step gives exactly the sampled hashes of the
    /// one-byte loop, at every length modulo 4 and for every mask.
    func testFourByteStepsGiveTheHashesOfOneByteSteps() {
        var rng = SimilarityTestRNG(seed: 13)
        let data = rng.bytes(70_000)
        for n in [0, 1, 63, 64, 65, 1023, 1024, 1025, 1026, 1027, 1028, 4099, 8192, 65_537] {
            for bits in [0, 2, 6] {
                let mask = SimilarityHashing.highMask(bits: bits)
                var expected: [UInt64] = []
                var h: UInt64 = 0
                for byte in data[0..<n] {
                    h = (h << 1) &+ SimilarityHashing.featureGear[Int(byte)]
                    if h & mask == 0 { expected.append(h) }
                }
                let got = data.withUnsafeBytes {
                    ChunkFeatureExtractor.sampledHashes(UnsafeRawBufferPointer(rebasing: $0[0..<n]), mask: mask, expected: 0)
                }
                XCTAssertEqual(got, expected, "\(n) bytes, \(bits) mask bits")
            }
        }
    }

    func testShortAndRepetitiveChunksStillGetFeatures() {
        let short = extractor.features(of: [1, 2, 3])
        XCTAssertNotEqual(short.values, Array(repeating: 0, count: 12))
        XCTAssertNotEqual(extractor.features(of: [1, 2, 4]), short)
    }

    func testSuperFeatureGroupsNest() {
        var values = (0..<12).map { UInt64($0) * 1000 + 7 }
        let a = SuperFeatures(features: ChunkFeatures(values: values))
        XCTAssertEqual(a.tiers.map(\.count), [3, 4, 6])
        values[11] = 1  // only the last group of each tier changes
        let b = SuperFeatures(features: ChunkFeatures(values: values))
        XCTAssertEqual(zip(a.tiers, b.tiers).map { zip($0, $1).filter { $0 != $1 }.count }, [1, 1, 1])
        XCTAssertEqual(a.tiers[0].prefix(2), b.tiers[0].prefix(2))
    }

    func testChunkDigestIsSHA256() {
        let digest = ChunkDigest(of: Array("abc".utf8))
        let hex = digest.bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        XCTAssertEqual(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertNotEqual(ChunkDigest(of: Array("abd".utf8)), digest)
    }
}
