@testable import Archive
@testable import ArchiveWriter
import XCTest

final class LZ4XRoundTripTests: XCTestCase {
    func testEmptyIsSingleZeroToken() throws {
        XCTAssertEqual(lz4xEncode([]), [0x00])
        XCTAssertEqual(try lz4xDecode([0x00], size: 0), [])
        // An empty block does not fit an empty output: the caller stores it RAW.
        XCTAssertNil(lz4xEncode([], capacity: 0))
        // A zero-length dst may have no base address at all.
        let nowhere = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        try [UInt8]([0x00]).withUnsafeBytes { try LZ4XDecoder.decode($0, into: nowhere) }
        XCTAssertThrowsError(try [UInt8]([0x10, 1]).withUnsafeBytes { try LZ4XDecoder.decode($0, into: nowhere) })
    }

    func testTinyAndBoundarySizes() throws {
        for size in [1, 2, 11, 12, 13, 14, 15, 16, 17, 19, 20, 31, 270, 271] {
            for data in [LZ4XTestData.periodic(size, period: 1), LZ4XTestData.text(size),
                         LZ4XTestData.random(size, seed: UInt64(size))] {
                let block = try lz4xAssertRoundTrip(data)
                if size < 13 { XCTAssertEqual(block.count, 1 + size, "size \(size) must be all literals") }
            }
        }
        // 13 zero bytes is the smallest block with a match.
        XCTAssertEqual(lz4xSequences(try lz4xAssertRoundTrip([UInt8](repeating: 0, count: 13))).count, 2)
    }

    func testRepetitivePatterns() throws {
        for period in [1, 2, 3, 7, 16, 100] {
            let data = LZ4XTestData.periodic(200_000, period: period)
            let block = try lz4xAssertRoundTrip(data)
            XCTAssertLessThan(block.count, 2_000, "period \(period) compressed to \(block.count)")
        }
    }

    func testText() throws {
        let data = LZ4XTestData.text(1 << 20)
        let block = try lz4xAssertRoundTrip(data)
        XCTAssertLessThan(block.count, data.count / 2)
    }

    func testOptionVariants() throws {
        let data = LZ4XTestData.text(200_000, seed: 5)
        for options in [LZ4XEncoderOptions(candidates: 1, niceLength: 4, lazy: false),
                        LZ4XEncoderOptions(candidates: 3, niceLength: 1000, lazy: true),
                        LZ4XEncoderOptions(candidates: 32, niceLength: 16, lazy: false),
                        // Small tables (the builder's per-chunk encoders use 2^12) and the smallest.
                        LZ4XEncoderOptions(prefixStep: 2, hashLog: 12, shortHashLog: 12),
                        LZ4XEncoderOptions(candidates: 1, hashLog: 8, shortHashLog: 8),
                        LZ4XEncoderOptions(candidates: 3, hashLog: 19, shortHashLog: 10)] {
            _ = try lz4xAssertRoundTrip(data, encoder: LZ4XEncoder(options: options))
        }
    }

    /// A full 16 MiB frame: a text block repeated with small edits, so matches span the window.
    func testExactly16MiB() throws {
        let size = 16 << 20
        var rng = XorShift64(seed: 16)
        let unit = LZ4XTestData.text(1 << 18, seed: 16)
        var data = [UInt8]()
        data.reserveCapacity(size)
        while data.count < size { data += unit }
        data.removeLast(data.count - size)
        for _ in 0..<2_000 { data[rng.below(size)] = UInt8(truncatingIfNeeded: rng.next()) }
        let block = try lz4xAssertRoundTrip(data)
        XCTAssertLessThan(block.count, size / 20)
    }

    /// Incompressible input: nil when capped at the input size, and within compressBound otherwise.
    func testRandomData() throws {
        for size in [100, 5_000, 300_000] {
            let data = LZ4XTestData.random(size, seed: UInt64(size))
            XCTAssertNil(lz4xEncode(data, capacity: size), "random data must not shrink")
            _ = try lz4xAssertRoundTrip(data)
        }
    }

    /// The hash tables survive across calls, but entries from earlier inputs are ignored, so a
    /// reused encoder gives byte-identical output to a fresh one (archives are reproducible
    /// whichever worker encoded which frame before).
    func testEncoderReuseIsDeterministic() throws {
        let shared = LZ4XEncoder()
        let inputs = [LZ4XTestData.text(100_000, seed: 1), LZ4XTestData.text(50_000, seed: 2),
                      LZ4XTestData.periodic(70_000, period: 5), LZ4XTestData.text(100_000, seed: 1)]
        for input in inputs {
            let reused = try lz4xAssertRoundTrip(input, encoder: shared)
            XCTAssert(reused == lz4xEncode(input), "reused encoder output differs")
        }
    }
}
