import XCTest
@testable import Archive
@testable import ArchiveWriter

final class GPULZ4XCompressorTests: XCTestCase {
    func testEdgeCasesRoundTripThroughCPUDecoder() throws {
        let frames = edgeCaseFrames()
        for compressor in try OpenCLTestSupport.sharedCompressors() {
            let blocks = try compressor.compress(frames)
            for (frame, block) in zip(frames, blocks) {
                let block = try XCTUnwrap(block, "a \(frame.count)-byte frame did not fit its LZ4 bound (\(compressor.variant))")
                XCTAssertEqual(try CPUCodec.decode(block, decodedSize: frame.count), frame,
                               "frame of \(frame.count) bytes, \(compressor.variant)")
                XCTAssertEqual(checkEndOfBlockRules(block, decodedSize: frame.count), nil,
                               "frame of \(frame.count) bytes, \(compressor.variant)")
            }
            XCTAssertEqual(blocks[0], [0], "an empty frame is a single 0 token (\(compressor.variant))")
        }
    }

    /// The per-frame variant runs the CPU encoder's algorithm, so its blocks
    /// are the CPU encoder's, byte for byte: the edge cases, random data, a
    /// frame of exactly the default frame size (16 MiB, with matches up to
    /// 15 MiB back), and many frames of mixed sizes in one launch.
    func testPerFrameBlocksAreByteIdenticalToCPUEncoder() throws {
        let device = try OpenCLTestSupport.device()
        var options = GPULZ4XCompressorOptions()
        options.framesPerBatch = 16
        let compressor = try GPULZ4XCompressor(device: device, options: options, variant: .perFrame)
        var data = TestData(seed: 4)
        let mib = data.text(1 << 20)
        var frames = edgeCaseFrames()
        frames += (0..<6).map { _ in data.random(Int(data.next() % 3000)) }
        frames += (0..<6).map { _ in data.text(Int(data.next() % 70_000)) }
        frames.append(Array(repeating: mib, count: 16).flatMap { $0 })   // 16 MiB
        let blocks = try compressor.compress(frames)
        for (frame, block) in zip(frames, blocks) {
            let cpu = CPUCodec.compress(frame)
            // XCTAssertEqual on 16 MiB arrays would print them; compare first.
            XCTAssertTrue(block == cpu, "frame of \(frame.count) bytes: \(block?.count ?? -1) bytes vs the CPU encoder's \(cpu.count)")
        }
    }

    func testRatioWithinThreePercentOfCPUEncoder() throws {
        var data = TestData(seed: 2)
        let frame = data.text(1 << 20)
        let cpu = CPUCodec.compress(frame)
        for compressor in try OpenCLTestSupport.sharedCompressors() {
            let gpu = try XCTUnwrap(try compressor.compress([frame])[0])
            print("ratio on 1 MiB of text: \(compressor.variant) \(gpu.count) bytes, CPU encoder \(cpu.count) bytes")
            XCTAssertLessThanOrEqual(Double(gpu.count), Double(cpu.count) * 1.03, "\(compressor.variant)")
        }
    }

    func testMatchesAtLargeDistances() throws {
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
        for compressor in try OpenCLTestSupport.sharedCompressors() {
            let block = try XCTUnwrap(try compressor.compress([frame])[0])
            XCTAssertTrue(try CPUCodec.decode(block, decodedSize: frame.count) == frame, "\(compressor.variant)")
            XCTAssertNil(checkEndOfBlockRules(block, decodedSize: frame.count), "\(compressor.variant)")
            for (_, distance) in placements {
                XCTAssertTrue(containsOffset(block, distance), "no match at offset \(distance) (\(compressor.variant))")
            }
        }
    }

    func testDefaultVariantFollowsDeviceType() throws {
        let device = try OpenCLTestSupport.device()
        XCTAssertEqual(GPULZ4XCompressor.Variant.default(for: device), device.isGPU ? .fineGrained : .perFrame)
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
