import Archive
import ArchiveWriter
import XCTest

/// The zstd codec behind the codec seam: frames and deltas round-trip whole
/// and in steps, and frames that lie about themselves are refused before a
/// byte is decoded (hand-made frames, so the refusal is the decoder's).
final class ZstdCodecTests: XCTestCase {
    private func text(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = XorShift64(seed: seed)
        let words = ["alpha ", "beta ", "gamma ", "delta\n", "epsilon ", "zeta ", "eta, ", "theta. "].map { Array($0.utf8) }
        var out: [UInt8] = []
        while out.count < n { out += words[Int(rng.next() % UInt64(words.count))] }
        return Array(out.prefix(n))
    }

    private func compress(_ input: [UInt8], level: Int = 3) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: input.count)
        let n = try XCTUnwrap(input.withUnsafeBytes { i in out.withUnsafeMutableBytes { ZstdEncoder(level: level).compress(i, into: $0) } })
        return Array(out[..<n])
    }

    private func decode(_ payload: [UInt8], size: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        try payload.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try ZstdDecoder.shared.decode(p, into: $0) } }
        return out
    }

    private func refusal(_ payload: [UInt8], size: Int) -> String {
        do {
            _ = try decode(payload, size: size)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    func testFramesRoundTripWholeAndInSteps() throws {
        for (size, seed) in [(100, 2), (70_000, 3), (3 << 20, 4)] {
            let input = text(size, seed: UInt64(seed))
            let payload = try compress(input)
            XCTAssertLessThan(payload.count, size)
            XCTAssertEqual(try decode(payload, size: size), input, "size \(size)")
            // Stepped: each step gives at least its target, the end gives all, once.
            var out = [UInt8](repeating: 0, count: size)
            let partial = ZstdDecoder.shared.partial(outputCount: size)
            var target = 0
            try payload.withUnsafeBytes { p in
                try out.withUnsafeMutableBytes { o in
                    while !partial.finished {
                        target = min(size, target + 100_000)
                        try partial.advance(p, into: o, until: target)
                        XCTAssertGreaterThanOrEqual(partial.available, target)
                    }
                }
            }
            XCTAssertEqual(partial.available, size)
            XCTAssertEqual(out, input)
        }
    }

    func testAPartialDecodeOfALargeFrameStopsEarly() throws {
        let input = text(8 << 20, seed: 5)
        let payload = try compress(input)
        var out = [UInt8](repeating: 0, count: input.count)
        let partial = ZstdDecoder.shared.partial(outputCount: input.count)
        try payload.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try partial.advance(p, into: $0, until: 1000) } }
        XCTAssertGreaterThanOrEqual(partial.available, 1000)
        XCTAssertLessThan(partial.available, 4 << 20, "a read of the first KiB decoded half the frame")
        XCTAssertFalse(partial.finished)
        XCTAssertEqual(out[..<partial.available], input[..<partial.available])
    }

    func testDeltasDecodeAgainstTheirBaseOnly() throws {
        let base = text(8000, seed: 6)
        var target = base
        target.replaceSubrange(3000..<3010, with: Array("0123456789abcdef".utf8))
        let encoder = ZstdEncoder(level: 9)
        var stored = [UInt8](repeating: 0, count: target.count)
        let n = try XCTUnwrap(base.withUnsafeBytes { b in target.withUnsafeBytes { t in stored.withUnsafeMutableBytes {
            encoder.compress(t, prefix: b, into: $0) } } })
        XCTAssertLessThan(n, 100, "a 16-byte edit of an 8000-byte chunk is a small delta")
        stored = Array(stored[..<n])
        var out = base + [UInt8](repeating: 0, count: target.count)
        try stored.withUnsafeBytes { s in try out.withUnsafeMutableBytes { try ZstdDecoder.shared.decodeDelta(s, into: $0, prefixLength: base.count) } }
        XCTAssertEqual(Array(out[base.count...]), target)
        XCTAssertEqual(Array(out[..<base.count]), base)
        // Against another base it must not give the target back silently.
        var other = text(8000, seed: 7) + [UInt8](repeating: 0, count: target.count)
        let decoded = (try? stored.withUnsafeBytes { s in try other.withUnsafeMutableBytes { try ZstdDecoder.shared.decodeDelta(s, into: $0, prefixLength: 8000) } }) != nil
        if decoded { XCTAssertNotEqual(Array(other[8000...]), target) }
    }

    /// A hand-made frame: magic, header (2-byte content size; single segment,
    /// or a window descriptor `windowByte`; a 1-byte dictionary id if given),
    /// one raw block holding `body`.
    private func handMade(_ body: [UInt8], statedSize: Int? = nil, windowByte: UInt8? = nil, dictID: UInt8? = nil) -> [UInt8] {
        let size = statedSize ?? body.count
        precondition(size >= 256 && size < 65_536 + 256)
        var descriptor: UInt8 = 0x40   // content size in 2 bytes
        if windowByte == nil { descriptor |= 0x20 }   // single segment
        if dictID != nil { descriptor |= 0x01 }
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, descriptor]
        if let windowByte { frame.append(windowByte) }
        if let dictID { frame.append(dictID) }
        let fcs = size - 256
        frame += [UInt8(fcs & 0xff), UInt8(fcs >> 8)]
        let header = UInt32(body.count) << 3 | 1   // last block, raw
        frame += [UInt8(header & 0xff), UInt8((header >> 8) & 0xff), UInt8(header >> 16)]
        return frame + body
    }

    func testCraftedFramesAreRefusedBeforeDecoding() throws {
        let body = text(1000, seed: 8)
        XCTAssertEqual(try decode(handMade(body), size: 1000), body, "the hand-made frame itself is valid")
        XCTAssertEqual(try decode(handMade(body, windowByte: 0), size: 1000), body, "a 1 KiB window covers 1000 bytes")

        XCTAssertTrue(refusal(handMade(body), size: 999).contains("the index says 999"))
        XCTAssertTrue(refusal(handMade(body, statedSize: 2000), size: 2000).contains("does not decode") ||
                      refusal(handMade(body, statedSize: 2000), size: 2000).contains("truncated"))
        XCTAssertTrue(refusal(handMade(body, windowByte: 10 << 3), size: 1000).contains("window"), refusal(handMade(body, windowByte: 10 << 3), size: 1000))
        XCTAssertTrue(refusal(handMade(body, dictID: 7), size: 1000).contains("dictionary 7"))
        let frame = handMade(body)
        XCTAssertTrue(refusal(Array(frame.dropLast(10)), size: 1000).contains("truncated"), refusal(Array(frame.dropLast(10)), size: 1000))
        XCTAssertTrue(refusal(frame + [0, 0, 0, 0], size: 1000).contains("ends at offset"), refusal(frame + [0, 0, 0, 0], size: 1000))
        XCTAssertTrue(refusal(Array(frame.prefix(6)), size: 1000).contains("truncated"))
        XCTAssertTrue(refusal([1, 2, 3, 4, 5, 6, 7, 8], size: 1000).contains("not a zstd frame"))
        XCTAssertTrue(refusal([], size: 1000).contains("empty"))
    }

    func testTheSeamMapsEveryCodec() throws {
        let decoders = FrameDecoders()
        XCTAssertTrue(decoders.decoder(for: .raw).payloadIsDecoded)
        XCTAssertFalse(decoders.decoder(for: .zstd).payloadIsDecoded)
        XCTAssertNil(decoders.decoder(for: ChunkKind.literal))
        XCTAssertNotNil(decoders.decoder(for: ChunkKind.zstdDelta))
        // Each codec's encoder output decodes through the seam.
        let input = text(50_000, seed: 9)
        for encoding in [FrameEncoding(codec: .lz4x, level: 1), FrameEncoding(codec: .lz4x, level: 9),
                         FrameEncoding(codec: .zstd, level: 1), FrameEncoding(codec: .zstd, level: 19)] {
            let encoder = encoding.makeEncoder()
            var out = [UInt8](repeating: 0, count: input.count)
            let n = try XCTUnwrap(input.withUnsafeBytes { i in out.withUnsafeMutableBytes { encoder.compress(i, into: $0) } }, "\(encoding)")
            var back = [UInt8](repeating: 0, count: input.count)
            try Array(out[..<n]).withUnsafeBytes { p in try back.withUnsafeMutableBytes { try decoders.decoder(for: encoder.codec).decode(p, into: $0) } }
            XCTAssertEqual(back, input, "\(encoding)")
        }
        // Incompressible input does not fit the input's size: stored RAW.
        var rng = XorShift64(seed: 10)
        let noise = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var out = [UInt8](repeating: 0, count: noise.count)
        XCTAssertNil(noise.withUnsafeBytes { i in out.withUnsafeMutableBytes { ZstdEncoder(level: 3).compress(i, into: $0) } })
    }
}
