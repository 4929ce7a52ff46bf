@testable import Archive
@testable import ArchiveWriter
import XCTest

/// Every `--level` writes LZ4X that the one decoder reads back exactly, on the
/// codec's edge cases; the top level is the original encoder.
final class LZ4XLevelTests: XCTestCase {
    private func encoder(_ level: Int) -> LZ4XEncoder { LZ4XEncoder(options: LZ4XLevel.options(level)) }

    func testEveryLevelRoundTripsTheEdgeCases() throws {
        var rng = XorShift64(seed: 14)
        let text = LZ4XTestData.text(300_000, seed: 14)
        var cases: [[UInt8]] = [[], LZ4XTestData.periodic(200_000, period: 1), LZ4XTestData.periodic(100_000, period: 7),
                                text, rng.bytes(300_000), text + rng.bytes(50_000) + text]
        for size in [1, 2, 11, 12, 13, 14, 15, 16, 17, 19, 20, 31, 270, 271] {
            cases += [LZ4XTestData.text(size), LZ4XTestData.random(size, seed: UInt64(size)), [UInt8](repeating: 0, count: size)]
        }
        for level in LZ4XLevel.range {
            let shared = encoder(level)   // reused, as a pipeline worker does
            for input in cases {
                let block = try lz4xAssertRoundTrip(input, encoder: shared)
                XCTAssert(block == lz4xEncode(input, encoder: encoder(level)), "level \(level): a reused encoder must encode like a fresh one")
            }
        }
    }

    /// A frame with matches across the whole 16 MiB window.
    func testEveryLevelRoundTripsAFullFrame() throws {
        let unit = LZ4XTestData.text(1 << 18, seed: 3)
        var data: [UInt8] = []
        while data.count < 16 << 20 { data += unit }
        data.removeLast(data.count - (16 << 20))
        var rng = XorShift64(seed: 4)
        for _ in 0..<1_000 { data[rng.below(data.count)] = UInt8(truncatingIfNeeded: rng.next()) }
        for level in [1, 2, 3, 4] {
            let block = try lz4xAssertRoundTrip(data, encoder: encoder(level))
            XCTAssertLessThan(block.count, data.count / 10, "level \(level)")
        }
    }

    /// Incompressible input does not shrink at any level (the frame is then
    /// stored RAW), and the fast parse's growing step still leaves
    /// compressible data after it compressible.
    func testIncompressibleInput() throws {
        var rng = XorShift64(seed: 5)
        let random = rng.bytes(1 << 20)
        let text = LZ4XTestData.text(1 << 20, seed: 6)
        for level in LZ4XLevel.range {
            XCTAssertNil(lz4xEncode(random, capacity: random.count, encoder: encoder(level)), "level \(level)")
            let mixed = try lz4xAssertRoundTrip(random + text, encoder: encoder(level))
            let alone = try lz4xAssertRoundTrip(text, encoder: encoder(level))
            XCTAssertLessThan(mixed.count, random.count + alone.count + alone.count / 20, "level \(level)")
        }
    }

    /// Deltas: the fast parse with a prefix dictionary, refusing what does not shrink.
    func testFastParseWithPrefix() throws {
        let base = LZ4XTestData.text(8192, seed: 8)
        var target = base
        target.replaceSubrange(1000..<1010, with: [UInt8](repeating: 0x41, count: 30))
        for step in [1, 2] {
            var options = LZ4XLevel.options(1)
            options.prefixStep = step
            let shared = LZ4XEncoder(options: options)
            let block = try XCTUnwrap(lz4xEncode(base + target, prefixLength: base.count, capacity: target.count, encoder: shared))
            XCTAssertLessThan(block.count, 200)
            XCTAssertEqual(try lz4xDecode(block, size: target.count, prefix: base), target)
            let random = LZ4XTestData.random(4000, seed: 9)
            XCTAssertNil(lz4xEncode(base + random, prefixLength: base.count, capacity: random.count, encoder: shared))
        }
    }

    /// The top level is the encoder every archive before levels was built
    /// with (its output is pinned in LZ4XEncoderPinTests), and the levels
    /// trade monotonically on text: each at most as large as the one below.
    func testTopLevelIsTheOriginalEncoder() throws {
        XCTAssertEqual(LZ4XLevel.options(LZ4XLevel.top), LZ4XEncoderOptions.default)
        let text = LZ4XTestData.text(2 << 20, seed: 10)
        XCTAssert(lz4xEncode(text, encoder: encoder(LZ4XLevel.top)) == lz4xEncode(text))
        let sizes = LZ4XLevel.range.map { lz4xEncode(text, encoder: encoder($0))!.count }
        for (lower, higher) in zip(sizes, sizes.dropFirst()) { XCTAssertLessThanOrEqual(higher, lower, "sizes by level: \(sizes)") }
    }

    func testLevelNames() {
        let lz4x = { FrameEncoding.parseLevel($0, codec: .lz4x) }
        XCTAssertEqual(lz4x("fast"), 1)
        XCTAssertEqual(lz4x("max"), LZ4XLevel.top)
        XCTAssertEqual(lz4x("default"), LZ4XLevel.default)
        XCTAssertEqual(lz4x("5"), 5)
        XCTAssertNil(lz4x("0"))
        XCTAssertNil(lz4x("10"))
        XCTAssertNil(lz4x("fastest"))
        let zstd = { FrameEncoding.parseLevel($0, codec: .zstd) }
        XCTAssertEqual(zstd("fast"), 1)
        XCTAssertEqual(zstd("max"), 19)
        XCTAssertEqual(zstd("default"), ZstdLevel.default)
        XCTAssertEqual(zstd("12"), 12)
        XCTAssertNil(zstd("0"))
        XCTAssertNil(zstd("20"))
        XCTAssertNil(zstd("-1"))
        XCTAssertNil(FrameEncoding.parseLevel("1", codec: .raw))
        XCTAssertEqual(FrameEncoding.codec(asked: nil, gpuCompression: false), .zstd)
        XCTAssertEqual(FrameEncoding.codec(asked: nil, gpuCompression: true), .lz4x)
        XCTAssertEqual(FrameEncoding.codec(asked: .zstd, gpuCompression: true), .zstd)
    }
}
