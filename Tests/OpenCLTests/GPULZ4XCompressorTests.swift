import XCTest
@testable import Archive

final class GPULZ4XCompressorTests: XCTestCase {
    func testEdgeCasesRoundTripThroughCPUDecoder() throws {
        let compressor = try OpenCLTestSupport.sharedCompressor()
        let frames = edgeCaseFrames()
        let blocks = try compressor.compress(frames)
        for (frame, block) in zip(frames, blocks) {
            let block = try XCTUnwrap(block, "a \(frame.count)-byte frame did not fit its LZ4 bound")
            XCTAssertEqual(try CPUCodec.decode(block, decodedSize: frame.count), frame, "frame of \(frame.count) bytes")
            XCTAssertEqual(checkEndOfBlockRules(block, decodedSize: frame.count), nil, "frame of \(frame.count) bytes")
        }
        XCTAssertEqual(blocks[0], [0], "an empty frame is a single 0 token")
    }

    func testRatioWithinThreePercentOfCPUEncoder() throws {
        let compressor = try OpenCLTestSupport.sharedCompressor()
        var data = TestData(seed: 2)
        let frame = data.text(1 << 20)
        let gpu = try XCTUnwrap(try compressor.compress([frame])[0])
        let cpu = CPUCodec.compress(frame)
        print("ratio on 1 MiB of text: GPU \(gpu.count) bytes, CPU encoder \(cpu.count) bytes")
        XCTAssertLessThanOrEqual(Double(gpu.count), Double(cpu.count) * 1.03)
    }

    func testMatchesAtLargeDistances() throws {
        let compressor = try OpenCLTestSupport.sharedCompressor()
        // Zeros (cheap to search) with random motifs, each repeated once at
        // one of the distances; the only earlier copy of a motif is the one
        // at that distance, so the block must contain that offset.
        var data = TestData(seed: 3)
        var frame = [UInt8](repeating: 0, count: (1 << 24) + 40)
        let placements = [(100, 65_535), (300, 65_536), (0, (1 << 24) - 1)]
        for (start, distance) in placements {
            let motif = data.random(32)
            frame.replaceSubrange(start..<start + 32, with: motif)
            frame.replaceSubrange(start + distance..<start + distance + 32, with: motif)
        }
        let block = try XCTUnwrap(try compressor.compress([frame])[0])
        XCTAssertEqual(try CPUCodec.decode(block, decodedSize: frame.count), frame)
        XCTAssertNil(checkEndOfBlockRules(block, decodedSize: frame.count))
        for (_, distance) in placements {
            XCTAssertTrue(containsOffset(block, distance), "no match at offset \(distance)")
        }
    }
}

/// Walks a block's sequences; nil when it follows the LZ4 end-of-block
/// rules (last 5 bytes literals, last match starting 12 or more bytes from
/// the end), else what is wrong.
func checkEndOfBlockRules(_ block: [UInt8], decodedSize: Int) -> String? {
    var lastMatchStart = -1, lastMatchEnd = 0
    walkSequences(block) { pos, len, _ in lastMatchStart = pos; lastMatchEnd = pos + len }
    if lastMatchStart < 0 { return nil }
    if lastMatchEnd > decodedSize - 5 { return "a match ends within the last 5 bytes" }
    if lastMatchStart > decodedSize - 12 { return "the last match starts within the last 12 bytes" }
    return nil
}

func containsOffset(_ block: [UInt8], _ offset: Int) -> Bool {
    var found = false
    walkSequences(block) { _, _, off in if off == offset { found = true } }
    return found
}

/// Calls `body(position, length, offset)` for every match of a valid block.
func walkSequences(_ block: [UInt8], _ body: (Int, Int, Int) -> Void) {
    var ip = 0, op = 0
    func length(_ base: Int) -> Int {
        var len = base
        if base == 15 { while true { let b = Int(block[ip]); ip += 1; len += b; if b != 255 { break } } }
        return len
    }
    while ip < block.count {
        let token = Int(block[ip]); ip += 1
        let lit = length(token >> 4)
        ip += lit; op += lit
        if ip >= block.count { return }
        let off = Int(block[ip]) | Int(block[ip + 1]) << 8 | Int(block[ip + 2]) << 16
        ip += 3
        let len = length(token & 15) + 4
        body(op, len, off)
        op += len
    }
}
