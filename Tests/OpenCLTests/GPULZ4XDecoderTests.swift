import XCTest
@testable import Archive

final class GPULZ4XDecoderTests: XCTestCase {
    func testCPUCompressedEdgeCasesDecodeByteExact() throws {
        let frames = edgeCaseFrames()
        let blocks = frames.map(CPUCodec.compress)
        for decoder in try OpenCLTestSupport.sharedDecoders() {
            let results = try decoder.decode(blocks, decodedSizes: frames.map(\.count))
            for (frame, result) in zip(frames, results) {
                XCTAssertEqual(try result.get(), frame, "frame of \(frame.count) bytes, \(decoder.workGroup) lane(s)")
            }
        }
    }

    func testGPUCompressedFramesDecodeOnGPU() throws {
        var data = TestData(seed: 5)
        let frames = [data.text(300_000), data.random(5000), [UInt8](repeating: 9, count: 100_000)]
        for compressor in try OpenCLTestSupport.sharedCompressors() {
            let blocks = try compressor.compress(frames).map { try XCTUnwrap($0) }
            for decoder in try OpenCLTestSupport.sharedDecoders() {
                let results = try decoder.decode(blocks, decodedSizes: frames.map(\.count))
                for (frame, result) in zip(frames, results) {
                    XCTAssertEqual(try result.get(), frame, "\(compressor.variant), \(decoder.workGroup) lane(s)")
                }
            }
        }
    }

    func testLargestOffsetDecodes() throws {
        // Hand-made block: 2^24 - 1 random literals, a 20-byte match at the
        // largest offset, then 8 final literals.
        var data = TestData(seed: 6)
        let head = data.random((1 << 24) - 1), tail = data.random(8)
        var block: [UInt8] = [0xFF]   // 15+ literals, match length 4 + 15+
        var rest = head.count - 15
        while rest >= 255 { block.append(255); rest -= 255 }
        block.append(UInt8(rest))
        block += head + [0xFF, 0xFF, 0xFF]    // offset 2^24 - 1
        block.append(UInt8(20 - 4 - 15))      // match length extension
        block += [UInt8(tail.count << 4)] + tail
        let expected = head + Array(head[0..<20]) + tail
        for decoder in try OpenCLTestSupport.sharedDecoders() {
            let result = try decoder.decode([block], decodedSizes: [expected.count])[0]
            XCTAssertEqual(try result.get(), expected, "\(decoder.workGroup) lane(s)")
        }
    }

    func testCorruptInputGivesErrorCodes() throws {
        var data = TestData(seed: 7)
        let frame = data.text(50_000)
        let good = CPUCodec.compress(frame)
        var cases: [([UInt8], Int, Set<GPUDecodeStatus>)] = [
            ([], 0, [.truncated]),
            // Cut anywhere: either inside a sequence or, at a literal run's
            // end, a valid but short block.
            (Array(good.prefix(good.count / 2)), frame.count, [.truncated, .sizeMismatch]),
            ([0x10, 0x41, 0x05, 0x00, 0x00], 10, [.badOffset]),     // offset 5 after one byte
            ([0x10, 0x41, 0x00, 0x00, 0x00], 10, [.badOffset]),     // offset 0
            (good, frame.count - 1, [.overflow]),
            (good, frame.count + 1, [.sizeMismatch]),
            ([0xF0, 0xFF, 0xFF, 0xFF], 100, [.truncated]),           // literal length running off the end
        ]
        // Random bytes and random corruptions of a good block must never
        // crash, and the kernel must accept exactly what the CPU decoder
        // accepts, with the same bytes.
        for seed in 0..<240 {
            var corrupt = good
            for _ in 0..<4 { corrupt[Int(data.next() % UInt64(corrupt.count))] = UInt8(truncatingIfNeeded: data.next()) }
            cases.append((seed % 2 == 0 ? corrupt : data.random(300), frame.count, []))
        }
        let frames = cases.map(\.0)
        let sizes = cases.map(\.1)
        for decoder in try OpenCLTestSupport.sharedDecoders() {
            let results = try decoder.decode(frames, decodedSizes: sizes)
            for (k, result) in results.enumerated() {
                let cpu = try? CPUCodec.decode(frames[k], decodedSize: sizes[k])
                switch result {
                case .success(let bytes):
                    XCTAssertTrue(cases[k].2.isEmpty, "case \(k) decoded, \(decoder.workGroup) lane(s)")
                    XCTAssertEqual(bytes, cpu, "case \(k): the CPU decoder disagrees")
                case .failure(let error):
                    XCTAssertTrue(cases[k].2.isEmpty || cases[k].2.contains(error.status), "case \(k): \(error)")
                    XCTAssertNil(cpu, "case \(k): the CPU decoder accepts what the kernel rejects (\(error))")
                }
            }
        }
    }
}
