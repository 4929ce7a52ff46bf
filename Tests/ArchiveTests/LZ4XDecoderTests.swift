@testable import Archive
import XCTest

final class LZ4XDecoderTests: XCTestCase {
    private func assertCorrupt(_ block: [UInt8], size: Int, prefix: [UInt8] = [], _ reasonPart: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try lz4xDecode(block, size: size, prefix: prefix), file: file, line: line) { error in
            let e = error as? LZ4XCorruptError
            XCTAssertNotNil(e, file: file, line: line)
            XCTAssert(e?.reason.contains(reasonPart) ?? false, "\(String(describing: e))", file: file, line: line)
        }
    }

    func testHostileBlocks() {
        let a = UInt8(ascii: "a")
        assertCorrupt([], size: 0, "empty block")
        assertCorrupt([0x10, a, 0, 0, 0, 0x00], size: 5, "offset 0")
        assertCorrupt([0x10, a, 2, 0, 0, 0x00], size: 5, "before the start")
        assertCorrupt([0x10, a, 0xFF, 0xFF, 0xFF, 0x00], size: 5, "before the start")
        assertCorrupt([0x50, a, a], size: 5, "literals past the end of the block")
        assertCorrupt([0x50, a, a, a, a, a], size: 3, "literals past the end of the output")
        assertCorrupt([0x10, a, 1, 0, 0, 0x00], size: 3, "match past the end")
        assertCorrupt([0x1F, a, 1, 0, 0, 255, 255], size: 100, "truncated length")
        assertCorrupt([0x1F, a, 1, 0, 0, 255, 255, 255, 255, 0x00], size: 100, "match past the end")
        assertCorrupt([0xF0, 255, 255, 255], size: 1000, "truncated length")
        assertCorrupt([0x10, a, 1, 0], size: 5, "truncated match offset")
        assertCorrupt([0x10, a, 1, 0, 0], size: 5, "missing token")
        assertCorrupt([0x20, a, a], size: 3, "expected 3")
        assertCorrupt([0x00, 0x00], size: 0, "truncated match offset")
        // Huge literal length made of a long 255 run: rejected, not overflowed.
        assertCorrupt([0xF0] + [UInt8](repeating: 255, count: 10_000) + [0], size: 10, "literals past")
        // The same faults far from both ends, where the decoder takes its unchecked-length shortcut.
        let far = [UInt8](repeating: 0xF0, count: 1) + [40] + [UInt8](repeating: a, count: 55)
        assertCorrupt([0x14, a, 0, 0, 0] + far, size: 300, "offset 0")
        assertCorrupt([0x14, a, 2, 0, 0] + far, size: 300, "before the start")
        assertCorrupt([0x14, a, 0xFF, 0xFF, 0xFF] + far, size: 300, "before the start")
        assertCorrupt([0x14, a, 1, 0, 0] + far, size: 63, "literals past the end of the output")
        // With a prefix, offsets may reach into it but not before it.
        XCTAssertEqual(try lz4xDecode([0x00, 3, 0, 0, 0x00], size: 4, prefix: [1, 2, 3]), [1, 2, 3, 1])
        assertCorrupt([0x00, 4, 0, 0, 0x00], size: 4, prefix: [1, 2, 3], "before the start")
    }

    func testOverlappingMatches() throws {
        // Every small offset, every length up to 40, with and without room for wild copies.
        for offset in 1...17 {
            for length in 4...40 {
                for room in [0, 5, 64] {
                    let head = (0..<offset).map { UInt8($0 + 1) }
                    var block: [UInt8] = [UInt8(min(offset, 15)) << 4 | UInt8(min(length - 4, 15))]
                    if offset >= 15 { block.append(UInt8(offset - 15)) }
                    block += head + [UInt8(offset), 0, 0]
                    if length - 4 >= 15 { block.append(UInt8(length - 4 - 15)) }
                    let tail = [UInt8](repeating: 0xEE, count: room)
                    block.append(UInt8(min(room, 15)) << 4)
                    if room >= 15 { block.append(UInt8(room - 15)) }
                    block += tail
                    let expected = (0..<(offset + length)).map { head[$0 % offset] } + tail
                    XCTAssertEqual(try lz4xDecode(block, size: expected.count), expected, "offset \(offset) length \(length)")
                }
            }
        }
    }

    func testResumableEqualsOneShot() throws {
        let base = LZ4XTestData.text(3000, seed: 11)
        let data = LZ4XTestData.text(300_000, seed: 12) + LZ4XTestData.periodic(5000, period: 3) + base
        let block = try XCTUnwrap(lz4xEncode(base + data, prefixLength: base.count))
        let oneShot = try lz4xDecode(block, size: data.count, prefix: base)
        XCTAssertEqual(oneShot, data)

        var rng = XorShift64(seed: 4)
        var dst = base + [UInt8](repeating: 0, count: data.count)
        var progress = LZ4XDecoder.Progress(prefixLength: base.count)
        var target = base.count
        var calls = 0
        try block.withUnsafeBytes { src in
            try dst.withUnsafeMutableBytes { out in
                while !progress.finished {
                    target = min(target + 1 + rng.below(2000), out.count)
                    let before = progress
                    try LZ4XDecoder.decode(src, into: out, progress: &progress, until: target)
                    calls += 1
                    XCTAssert(progress.finished || progress.output >= target)
                    XCTAssertGreaterThanOrEqual(progress.input, before.input)
                    // Only the newly decoded bytes, to keep the test linear.
                    XCTAssert(out[before.output..<progress.output]
                        .elementsEqual(data[(before.output - base.count)..<(progress.output - base.count)]))
                }
                // Further calls after the end are no-ops.
                try LZ4XDecoder.decode(src, into: out, progress: &progress, until: out.count)
            }
        }
        XCTAssertGreaterThan(calls, 100)
        XCTAssertEqual(progress.input, block.count)
        XCTAssertEqual(Array(dst[base.count...]), data)
    }

    func testEveryTruncationThrows() throws {
        let data = LZ4XTestData.text(3000, seed: 21) + LZ4XTestData.periodic(300, period: 2)
        let block = try XCTUnwrap(lz4xEncode(data))
        XCTAssertGreaterThan(lz4xSequences(block).count, 20)
        for cut in 0..<block.count {
            XCTAssertThrowsError(try lz4xDecode(Array(block[0..<cut]), size: data.count), "cut \(cut)")
        }
    }

    /// Mutated and random blocks: never a crash or a write past dst; either a throw or
    /// exactly-sized output.
    func testFuzzedBlocksNeverCrash() throws {
        var rng = XorShift64(seed: 77)
        let data = LZ4XTestData.text(2000, seed: 31) + LZ4XTestData.periodic(500, period: 7)
            + LZ4XTestData.random(200, seed: 5)
        let block = try XCTUnwrap(lz4xEncode(data))
        var decodedOK = 0
        for round in 0..<4000 {
            var input: [UInt8]
            var size = data.count
            switch round % 4 {
            case 0, 1:
                input = block
                for _ in 0..<(1 + rng.below(4)) {
                    input[rng.below(input.count)] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 2:
                input = Array(block[0..<rng.below(block.count)]) + rng.packedBytes(rng.below(64))
                size = rng.below(data.count + 100)
            default:
                input = rng.packedBytes(1 + rng.below(300))
                size = rng.below(2000)
            }
            let oneShot = try? lz4xDecode(input, size: size)
            if let out = oneShot {
                XCTAssertEqual(out.count, size)
                decodedOK += 1
            }
            if round % 8 == 0 {
                // Stepwise decoding must reach the same verdict and bytes.
                var dst = [UInt8](repeating: 0, count: size)
                var progress = LZ4XDecoder.Progress()
                let ok: Bool = input.withUnsafeBytes { src in
                    dst.withUnsafeMutableBytes { out in
                        do {
                            while !progress.finished {
                                try LZ4XDecoder.decode(src, into: out, progress: &progress,
                                                       until: progress.output + 1 + rng.below(100))
                            }
                            return true
                        } catch { return false }
                    }
                }
                XCTAssertEqual(ok, oneShot != nil)
                if ok { XCTAssert(dst == oneShot) }
            }
        }
        XCTAssertGreaterThan(decodedOK, 0, "some single-byte literal mutations should still decode")
    }
}
