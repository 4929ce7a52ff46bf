@testable import Archive
@testable import ArchiveWriter
import XCTest

final class LZ4XEncoderTests: XCTestCase {
    /// [R][filler of period 1000][R][tail]: the filler matches itself at a short distance, so the
    /// only way to encode the second R is a match at distance exactly `distance`.
    private func assertUsesOffset(_ distance: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = XorShift64(seed: UInt64(distance))
        let r = rng.packedBytes(256)
        let q = rng.packedBytes(1000)
        var data = r
        data.reserveCapacity(distance + 512)
        while data.count < distance { data += q }
        data.removeLast(data.count - distance)
        data += r
        data += rng.packedBytes(64)
        let block = try lz4xAssertRoundTrip(data, file: file, line: line)
        let seqs = lz4xSequences(block)
        XCTAssert(seqs.contains { $0.offset == distance && $0.matchLength >= 200 },
                  "no match at distance \(distance): \(seqs.filter { $0.offset > 1000 })", file: file, line: line)
        XCTAssert(seqs.allSatisfy { $0.offset <= LZ4X.maxOffset }, file: file, line: line)
    }

    func testOffset65535() throws { try assertUsesOffset(65535) }
    func testOffset65536() throws { try assertUsesOffset(65536) }
    func testOffsetMax() throws { try assertUsesOffset(LZ4X.maxOffset) }

    /// A repeat just beyond the window cannot be matched.
    func testNoMatchBeyondWindow() throws {
        var rng = XorShift64(seed: 99)
        let r = rng.packedBytes(256)
        var data = r + [UInt8](repeating: 7, count: LZ4X.maxOffset + 1 - 256) + r
        data += rng.packedBytes(64)
        let block = try lz4xAssertRoundTrip(data)
        let seqs = lz4xSequences(block)
        // The filler matches itself at a short distance; nothing reaches the first copy of r.
        XCTAssert(seqs.allSatisfy { $0.offset < 300 }, "\(seqs.filter { $0.offset >= 300 })")
    }

    func testPrefixDictionary() throws {
        var rng = XorShift64(seed: 3)
        let base = LZ4XTestData.text(64 << 10, seed: 3)
        var target = base
        for _ in 0..<40 { target[rng.below(target.count)] = UInt8(truncatingIfNeeded: rng.next()) }
        target.insert(contentsOf: rng.packedBytes(100), at: 30_000)

        let alone = try XCTUnwrap(lz4xEncode(target))
        let combined = base + target
        let delta = try XCTUnwrap(lz4xEncode(combined, prefixLength: base.count, capacity: target.count))
        XCTAssertLessThan(delta.count * 8, alone.count, "delta \(delta.count) vs alone \(alone.count)")
        XCTAssert(try lz4xDecode(delta, size: target.count, prefix: base) == target)
        // Without the prefix, the delta's offsets point before the start of the output.
        XCTAssertThrowsError(try lz4xDecode(delta, size: target.count))
        lz4xAssertEndRules(delta, size: target.count)
    }

    /// Entering only every k-th base position (the builder's delta coder
    /// uses 2) still round-trips, and still finds the base's long matches.
    func testSparsePrefixInsertion() throws {
        var rng = XorShift64(seed: 4)
        let base = LZ4XTestData.text(8 << 10, seed: 4)
        var target = base
        for _ in 0..<12 { target[rng.below(target.count)] = UInt8(truncatingIfNeeded: rng.next()) }
        let full = try XCTUnwrap(lz4xEncode(base + target, prefixLength: base.count))
        for (step, log) in [(2, 17), (3, 17), (4, 17), (16, 17), (2, 12), (1, 9)] {
            let encoder = LZ4XEncoder(options: LZ4XEncoderOptions(prefixStep: step, hashLog: log, shortHashLog: min(log, 16)))
            let delta = try XCTUnwrap(lz4xEncode(base + target, prefixLength: base.count, encoder: encoder))
            XCTAssertEqual(try lz4xDecode(delta, size: target.count, prefix: base), target, "step \(step)")
            if step <= 4 && log >= 12 {   // (step 16 and 2^9 buckets are there for the round trip only)
                XCTAssertLessThan(delta.count, full.count * 2 + 16, "step \(step), 2^\(log) buckets: \(delta.count) vs \(full.count)")
            }
            lz4xAssertEndRules(delta, size: target.count)
            for n in [0, 1, 13, 40] {   // tiny targets too
                let t = Array(base[100..<(100 + n)])
                let block = try XCTUnwrap(lz4xEncode(base + t, prefixLength: base.count, encoder: encoder))
                XCTAssertEqual(try lz4xDecode(block, size: n, prefix: base), t)
            }
        }
    }

    func testPrefixWithTinyAndEmptyTarget() throws {
        let base = LZ4XTestData.text(1000)
        for n in [0, 1, 12, 13, 40] {
            let target = Array(base[100..<(100 + n)])
            let block = try XCTUnwrap(lz4xEncode(base + target, prefixLength: base.count))
            XCTAssertEqual(try lz4xDecode(block, size: n, prefix: base), target)
            if n < 13 { XCTAssertEqual(block.count, 1 + n) }
        }
    }

    func testCompressBoundHolds() throws {
        // Sizes around the 15 and 255 extension boundaries, on data that yields short matches.
        var rng = XorShift64(seed: 8)
        for size in [14, 15, 16, 269, 270, 271, 525, 4096, 65_536] {
            var data = rng.packedBytes(size)
            for i in stride(from: 20, to: size - 10, by: 20) { data[i..<(i + 5)] = data[(i - 20)..<(i - 15)] }
            _ = try lz4xAssertRoundTrip(data)
        }
        XCTAssertEqual(LZ4X.compressBound(0), 16)
    }
}
