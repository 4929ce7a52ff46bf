import Archive
import XCTest
@testable import Builder

final class StoredChunksTests: ScratchTestCase {
    /// Chunks read back from more files than are kept open, in random
    /// order (closing and reopening files), come back exactly; a file that
    /// vanished, or changed since its chunks were read, gives nil and the
    /// rest still read.
    func testReadsBackFromManyFilesInAnyOrder() throws {
        let f = TreeFixture(root: temp("sources"))
        let openLimit = 8
        let count = openLimit * 2 + 3
        var contents: [[UInt8]] = []
        for i in 0..<count {
            contents.append(TreeFixture.random(3000, seed: UInt64(i + 1)))
            f.file("f\(i)", contents[i])
        }
        f.file("gone", TreeFixture.random(100, seed: 99))
        f.file("edited", TreeFixture.random(100, seed: 98))
        let source = try ScannedSource(f.root)
        let table = ChunkTable()
        let chunks = StoredChunks(table: table, files: source.files, openLimit: openLimit)
        var expected: [[UInt8]] = []
        func store(_ name: String, _ pieces: [(UInt64, Int)]) {
            let node = source.node(name)
            table.beginFile(ChunkTable.SourceFile(node: node, identity: source.tree.nodes[node].identity, extents: nil))
            for (offset, length) in pieces {
                let id = table.add(ChunkDigest(of: [UInt8(expected.count & 0xFF), UInt8(expected.count >> 8)]))
                table.place(id, .literal(frame: 0, offset: 0, length: UInt32(length)), offset: offset)
                expected.append([])
            }
        }
        for i in 0..<count {
            store("f\(i)", [(0, 1000), (1000, 2000)])
            expected[expected.count - 2] = Array(contents[i][0..<1000])
            expected[expected.count - 1] = Array(contents[i][1000..<3000])
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let id = Int.random(in: 0..<expected.count, using: &rng)
            XCTAssertEqual(chunks.bytes(of: UInt32(id)), expected[id], "chunk \(id)")
        }
        store("gone", [(0, 100)])
        try FileManager.default.removeItem(atPath: f.root + "/gone")
        XCTAssertNil(chunks.bytes(of: UInt32(expected.count - 1)), "its file vanished")
        store("edited", [(0, 100)])
        f.file("edited", TreeFixture.random(101, seed: 97))
        XCTAssertNil(chunks.bytes(of: UInt32(expected.count - 1)), "its file is not the version its chunk came from")
        XCTAssertEqual(chunks.bytes(of: 0), expected[0])
        XCTAssertNil(chunks.bytes(of: UInt32(expected.count)), "no such chunk")
    }

    /// A chunk of a sparse file is read through its data extents.
    func testReadsChunksOfSparseFilesThroughTheirExtents() throws {
        let f = TreeFixture(root: temp("sparse"))
        let data = TreeFixture.random(8192, seed: 5)
        f.file("s", data)
        let source = try ScannedSource(f.root)
        let table = ChunkTable()
        let chunks = StoredChunks(table: table, files: source.files)
        let node = source.node("s")
        // Pretend the file's data is two extents: bytes 0..<1000 and 5000..<8192.
        let extents = [DataExtent(offset: 0, length: 1000), DataExtent(offset: 5000, length: 3192)]
        table.beginFile(ChunkTable.SourceFile(node: node, identity: source.tree.nodes[node].identity, extents: extents))
        let id = table.add(ChunkDigest(of: [1]))
        table.place(id, .literal(frame: 0, offset: 0, length: 1500), offset: 500)
        XCTAssertEqual(chunks.bytes(of: id), Array(data[500..<1000] + data[5000..<6000]))
    }
}
