import XCTest
@testable import Builder

final class SimilarityChunkerTests: XCTestCase {
    private func cutPositions(_ lengths: [Int]) -> [Int] {
        var end = 0
        return lengths.map { end += $0; return end }
    }

    func testInsertionEarlyLeavesLaterBoundariesInPlace() {
        var rng = SimilarityTestRNG(seed: 1)
        let original = rng.bytes(512 * 1024)
        var modified = original
        modified.insert(contentsOf: rng.bytes(100), at: 1000)
        let chunker = ContentDefinedChunker()
        let before = cutPositions(chunker.chunkLengths(of: original))
        let after = Set(cutPositions(chunker.chunkLengths(of: modified)).map { $0 - 100 })
        let later = before.filter { $0 > 64 * 1024 }
        XCTAssertGreaterThan(later.count, 20)
        XCTAssertEqual(later.filter { after.contains($0) }, later, "cuts after the insertion must only shift")
        // Not a fixed-size chunker in disguise: the insertion did move early cuts.
        XCTAssertNotEqual(before.first, cutPositions(chunker.chunkLengths(of: modified)).first)
    }

    func testChunkLengthsRespectBoundsAndAverage() {
        var rng = SimilarityTestRNG(seed: 2)
        let data = rng.bytes(1 << 20)
        let chunker = ContentDefinedChunker(averageSize: 4096)
        let lengths = chunker.chunkLengths(of: data)
        XCTAssertEqual(lengths.reduce(0, +), data.count)
        for length in lengths.dropLast() {
            XCTAssertGreaterThanOrEqual(length, 1024)
            XCTAssertLessThanOrEqual(length, 32768)
        }
        let mean = Double(data.count) / Double(lengths.count)
        XCTAssertGreaterThan(mean, 4096 * 0.7)
        XCTAssertLessThan(mean, 4096 * 1.5)
    }

    func testUniformDataIsCutAtTheMaximum() {
        let chunker = ContentDefinedChunker(averageSize: 1024)
        let lengths = chunker.chunkLengths(of: [UInt8](repeating: 0, count: 100_000))
        XCTAssertEqual(lengths.dropLast(), Array(repeating: 8192, count: 12)[...])
        XCTAssertEqual(lengths.last, 100_000 - 12 * 8192)
    }

    func testStreamingMatchesOneShot() {
        var rng = SimilarityTestRNG(seed: 3)
        let data = rng.text(300_000)
        let chunker = ContentDefinedChunker(averageSize: 2048)
        var streaming = StreamingChunker(chunker: chunker)
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < data.count {
            // Pieces from single bytes to several maximum-size chunks.
            let n = min(data.count - offset, rng.below(4) == 0 ? 1 + rng.below(16) : 1 + rng.below(40_000))
            streaming.append(Array(data[offset..<(offset + n)])) { chunks.append(Array($0)) }
            offset += n
        }
        streaming.finish { chunks.append(Array($0)) }
        XCTAssertEqual(chunks.map(\.count), chunker.chunkLengths(of: data))
        XCTAssertTrue(Array(chunks.joined()) == data, "the chunks must reassemble the input")
    }

    /// The definition the chunker's two-bytes-a-step scan must agree with:
    /// the gear hash advanced one byte at a time, a cut after the first byte
    /// (past the minimum) whose hash clears the strict mask before the
    /// average size, or the loose mask after it, else at the maximum. The
    /// cuts decide what dedups against an archive's earlier chunks, so they
    /// may not move.
    private func referenceLengths(_ data: [UInt8], _ chunker: ContentDefinedChunker) -> [Int] {
        let gear = SimilarityHashing.chunkingGear
        var lengths: [Int] = []
        var start = 0
        while start < data.count {
            let limit = min(data.count - start, chunker.maximumSize)
            var h: UInt64 = 0
            var cut = limit
            for j in stride(from: max(0, chunker.minimumSize - 64), to: limit, by: 1) {
                h = (h << 1) &+ gear[Int(data[start + j])]
                guard j + 1 >= chunker.minimumSize else { continue }
                if h & (j + 1 < chunker.averageSize ? chunker.strictMask : chunker.looseMask) == 0 { cut = j + 1; break }
            }
            lengths.append(cut)
            start += cut
        }
        return lengths
    }

    func testCutsMatchTheByteAtATimeDefinition() {
        var rng = SimilarityTestRNG(seed: 5)
        for (average, data) in [(8192, rng.bytes(1 << 20)), (8192, rng.text(600_000)), (1024, rng.bytes(200_000)),
                                (64, rng.text(50_000)), (2048, [UInt8](repeating: 7, count: 40_000) + rng.bytes(30_001))] {
            let chunker = ContentDefinedChunker(averageSize: average)
            let lengths = chunker.chunkLengths(of: data)
            XCTAssertGreaterThan(lengths.count, 4)
            XCTAssertEqual(lengths, referenceLengths(data, chunker), "average \(average)")
        }
    }

    func testEmptyInputHasNoChunks() {
        XCTAssertEqual(ContentDefinedChunker().chunkLengths(of: []), [])
        var streaming = StreamingChunker()
        var emitted = 0
        streaming.finish { _ in emitted += 1 }
        XCTAssertEqual(emitted, 0)
    }
}
