import Archive
import ArchiveWriter
@testable import Builder
import Foundation
import XCTest

/// The build's frame memory is a fixed pool, whatever the input size: the
/// compressors only ever see the pool's slots and their own output buffers.
final class FramePipelineMemoryTests: ScratchTestCase {
    /// The CPU compressor, noting which buffers it was handed.
    final class RecordingCompressor: FrameCompressor, @unchecked Sendable {
        let deviceName = "cpu"
        private let inner = CPUFrameCompressor(encoding: FrameEncoding(codec: .lz4x, level: 1))
        var codec: FrameCodec { inner.codec }
        private let lock = NSLock()
        private(set) var inputs = Set<UnsafeRawPointer>()
        private(set) var outputs = Set<UnsafeRawPointer>()
        private(set) var frames = 0

        func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
            lock.lock()
            inputs.insert(input.baseAddress!)
            outputs.insert(UnsafeRawPointer(output.baseAddress!))
            frames += 1
            lock.unlock()
            return inner.compress(input, into: output)
        }
    }

    func testFramesGoThroughAFixedPoolOfBuffers() throws {
        let tree = TreeFixture(root: temp("src"))
        for i in 0..<40 { tree.file("f\(i)", TreeFixture.text(100_000, seed: UInt64(i))) }
        let recorder = RecordingCompressor()
        var options = BuildOptions()
        options.frameSize = 64 << 10
        options.threads = 2
        options.makeCompressor = { _ in recorder }
        let stats = try ArchiveBuilder(sources: [tree.root], output: temp("out") + "/arc", options: options).run()
        XCTAssertGreaterThan(recorder.frames, 50)
        XCTAssertEqual(recorder.frames, stats.framesCompressed + stats.framesRaw)
        XCTAssertEqual(FramePipeline.slotCount(workers: 2), 3)
        XCTAssertLessThanOrEqual(recorder.inputs.count, FramePipeline.slotCount(workers: 2))
        XCTAssertLessThanOrEqual(recorder.outputs.count, 2, "one output buffer per worker")
    }
}
