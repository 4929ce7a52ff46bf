// Delta chunks read through a real mount: several versions of a tree, built
// with small frames so that each chunk's predecessor sits in an earlier frame
// and is stored as a delta against it.
@testable import Archive
import Builder
import Foundation
import XCTest

final class SimilarityMountTests: XCTestCase {
    /// Five versions of four 200 KB files; each version flips bytes and
    /// inserts a run of bytes in every file (so later versions' chunks are
    /// deltas against the version before: chains).
    private func versions(in root: String) throws -> [String] {
        var files = (0..<4).map { SourceTree.bytes(count: 200_000, seed: UInt64(40 + $0)) }
        var roots: [String] = []
        for v in 0..<5 {
            let dir = root + "/v\(v)"
            try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
            for (i, bytes) in files.enumerated() { try SourceTree.write(dir + "/data/file\(i).bin", bytes) }
            roots.append(dir)
            files = files.enumerated().map { i, bytes in
                SourceTree.nextVersion(of: bytes, version: v, file: i, flips: 8, stride: 24_977, shift: 101, mask: 0xFF,
                                       insert: 300, at: 50_000 + i * 1000)
            }
        }
        return roots
    }

    func testDeltaChunksReadBackThroughTheMount() throws {
        try MountHarness.requireFuse()
        let roots = try versions(in: try MountHarness.scratchDirectory("similarity-source"))
        let out = try MountHarness.scratchDirectory("similarity-archive") + "/arc"
        var options = BuildOptions()
        options.frameSize = TestArchive.frameSize
        options.threads = 2
        options.deltas = true
        let stats = try ArchiveBuilder(sources: roots, output: out, options: options).run()
        XCTAssertGreaterThan(stats.similarity.deltaChunks, 10)
        let index = try ArchiveReader(path: out + ".001").index
        XCTAssertEqual(index.chunks.filter { $0.kind == .zstdDelta }.count, stats.similarity.deltaChunks)
        XCTAssertGreaterThanOrEqual(index.chunks.indices.map { index.deltaDepth(of: $0) }.max() ?? 0, 2, "no delta chain")

        let mount = try MountedArchive(archive: out + ".001")
        defer { mount.unmount() }
        for root in roots {
            SourceTree.assertEqual(source: root, mounted: mount.path((root as NSString).lastPathComponent))
        }
        // Concurrent readers of every version's files, whose chunks decode
        // through chains that share bases (and so frames and cached deltas).
        let lock = NSLock()
        var mismatches: [String] = []
        DispatchQueue.concurrentPerform(iterations: roots.count * 4) { k in
            let name = (roots[k % roots.count] as NSString).lastPathComponent + "/data/file\(k / roots.count).bin"
            let want = FileManager.default.contents(atPath: roots[k % roots.count] + "/data/file\(k / roots.count).bin")
            let got = FileManager.default.contents(atPath: mount.path(name))
            if want == nil || got != want { lock.lock(); mismatches.append(name); lock.unlock() }
        }
        XCTAssertEqual(mismatches, [])
        // Reads that start and end inside delta chunks.
        let expected = try Array(Data(contentsOf: URL(fileURLWithPath: roots[4] + "/data/file1.bin")))
        let fd = open(mount.path("v4/data/file1.bin"), O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        for offset in stride(from: 3, to: expected.count, by: 12_345) {
            var buffer = [UInt8](repeating: 0, count: 5000)
            let want = min(5000, expected.count - offset)
            XCTAssertEqual(pread(fd, &buffer, 5000, off_t(offset)), want)
            XCTAssertTrue(buffer[..<want].elementsEqual(expected[offset..<(offset + want)]), "bytes at \(offset)")
        }
    }
}
