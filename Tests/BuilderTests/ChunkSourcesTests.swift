import XCTest
@testable import Builder

final class ChunkSourcesTests: ScratchTestCase {
    /// Chunks read back from more files than are kept open, in random
    /// order (closing and reopening files), come back exactly; a file that
    /// vanished gives nil and the rest still read.
    func testReadsBackFromManyFilesInAnyOrder() throws {
        let f = TreeFixture(root: temp("sources"))
        let sources = ChunkSources()
        var expected: [[UInt8]] = []
        let files = ChunkSources.openFiles * 2 + 3
        for i in 0..<files {
            let bytes = TreeFixture.random(3000, seed: UInt64(i + 1))
            f.file("f\(i)", bytes)
            sources.beginFile(f.root + "/f\(i)")
            sources.record(offset: 0, length: 1000)
            sources.record(offset: 1000, length: 2000)
            expected += [Array(bytes[0..<1000]), Array(bytes[1000..<3000])]
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let id = Int.random(in: 0..<expected.count, using: &rng)
            XCTAssertEqual(sources.read(UInt32(id)), expected[id], "chunk \(id)")
        }
        // A file recorded but not open any more (or ever) that vanished.
        f.file("gone", TreeFixture.random(100, seed: 99))
        sources.beginFile(f.root + "/gone")
        sources.record(offset: 0, length: 100)
        try FileManager.default.removeItem(atPath: f.root + "/gone")
        XCTAssertNil(sources.read(UInt32(expected.count)))
        XCTAssertEqual(sources.read(0), expected[0])
        expected.append([])
        XCTAssertNil(sources.read(UInt32(expected.count)), "no such chunk")
    }
}
