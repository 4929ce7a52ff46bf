import XCTest
import Foundation
@testable import Archive
@testable import Builder

/// The frame cache decodes a cold frame only as far as a read needs and
/// resumes from there, for every codec behind the seam; many readers of one
/// frame at once get the same, right bytes.
final class PartialFrameTests: XCTestCase {
    func assertPartialReads(codec: FrameCodec, file: StaticString = #filePath, line: UInt = #line) throws {
        let frameSize = 4 << 20
        let src = TreeFixture(root: TreeFixture.temporaryDirectory("partial-src"))
        let text = TreeFixture.text(frameSize, seed: 41)
        src.file("big.txt", text)
        let out = TreeFixture.temporaryDirectory("partial-out") + "/arc"
        defer { try? FileManager.default.removeItem(atPath: src.root); try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        var options = BuildOptions()
        options.frameSize = frameSize
        options.threads = 2
        options.codec = codec
        _ = try ArchiveBuilder(sources: [src.root], output: out, options: options).run()
        let reader = try ArchiveReader(path: out + ".001", options: ReaderOptions(cacheBytes: 64 << 20, readAhead: false))
        XCTAssertEqual(reader.index.frames.map(\.codec), [codec], file: file, line: line)
        let inode = try XCTUnwrap(reader.index.inodes.indices.first { reader.index.inodes[$0].kind == .regular })

        var buffer = [UInt8](repeating: 0, count: 4096)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try reader.read(inode: inode, offset: 0, count: 4096, into: $0.baseAddress!) }, 4096)
        XCTAssertEqual(buffer, Array(text[0..<4096]), file: file, line: line)
        let first = reader.cache.available(0)
        XCTAssertGreaterThanOrEqual(first, 4096, file: file, line: line)
        XCTAssertLessThan(first, frameSize / 2, "a read of the first 4 KiB decoded half the frame", file: file, line: line)
        XCTAssertFalse(reader.cache.isComplete(0), file: file, line: line)

        // Further in: resumed, not started again; the end completes the frame.
        let middle = frameSize / 2
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try reader.read(inode: inode, offset: UInt64(middle), count: 4096, into: $0.baseAddress!) }, 4096)
        XCTAssertEqual(buffer, Array(text[middle..<(middle + 4096)]), file: file, line: line)
        XCTAssertGreaterThan(reader.cache.available(0), middle, file: file, line: line)

        // Eight threads reading all of it in 64 KiB pieces, out of order, at once.
        let pieces = frameSize / (64 << 10)
        let bad = NSLock()
        var wrong: [Int] = []
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var piece = [UInt8](repeating: 0, count: 64 << 10)
            for k in stride(from: t, to: pieces, by: 8).reversed() {
                let offset = k * (64 << 10)
                let n = try? piece.withUnsafeMutableBytes { try reader.read(inode: inode, offset: UInt64(offset), count: 64 << 10, into: $0.baseAddress!) }
                if n != 64 << 10 || piece[...] != text[offset..<(offset + (64 << 10))] { bad.lock(); wrong.append(k); bad.unlock() }
            }
        }
        XCTAssertEqual(wrong, [], file: file, line: line)
        XCTAssertTrue(reader.cache.isComplete(0), file: file, line: line)
        XCTAssertEqual(reader.cache.available(0), frameSize, file: file, line: line)
    }

    func testZstdFramesDecodeAsFarAsAReadNeeds() throws {
        try assertPartialReads(codec: .zstd)
    }

    func testLZ4XFramesDecodeAsFarAsAReadNeeds() throws {
        try assertPartialReads(codec: .lz4x)
    }
}
