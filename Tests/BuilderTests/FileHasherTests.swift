import Archive
import Glibc
import XCTest
@testable import Builder

final class FileHasherTests: ScratchTestCase {
    /// Runs of small files are hashed four at a time, large ones streamed; every
    /// result must equal FNV-1a of the file, whatever the mix, and a missing
    /// file, or one changed since the scan, is nil without disturbing its
    /// run's neighbours.
    func testCPUHasherEqualsFNVOfEachFile() throws {
        let f = TreeFixture(root: temp("hash"))
        let limit = CPUFileHasher.wholeFileLimit
        let sizes = [0, 1, 4096, 4096, 4096, 4095, 7, limit, limit + 1, 3 * limit + 5, 12, 12, 12, 12, 12, 300]
        var names: [String] = []
        var contents: [[UInt8]] = []
        for (i, size) in sizes.enumerated() {
            let bytes = TreeFixture.random(size, seed: UInt64(i + 1))
            f.file("f\(i)", bytes)
            names.append("f\(i)")
            contents.append(bytes)
        }
        f.file("missing", [1, 2, 3])
        f.file("changed", [1, 2, 3])
        names.insert("missing", at: 3)
        contents.insert([1, 2, 3], at: 3)
        names.insert("changed", at: 9)
        contents.insert([1, 2, 3], at: 9)
        let source = try ScannedSource(f.root)
        unlink(f.root + "/missing")
        f.file("changed", [1, 2, 3, 4])
        let files = names.map(source.node)
        let fileSizes = contents.map { UInt64($0.count) }
        for threads in [1, 2, 3] {
            let hashes = CPUFileHasher(threads: threads).hashFiles(files, sizes: fileSizes, from: source.files)
            var expected: [UInt64?] = contents.map(FNV1a64.hash)
            expected[3] = nil
            expected[9] = nil
            XCTAssertEqual(hashes, expected, "threads \(threads)")
        }
    }

    /// Small files are probed with one whole read, larger ones with three
    /// preads; both give what the stage definitions say (bytes little-endian,
    /// count of bytes read in the top byte), at every size edge.
    func testProbesAtEverySizeEdge() throws {
        let f = TreeFixture(root: temp("probe"))
        let limit = Int(FileDeduplicator.wholeProbeLimit)
        for size in [1, 2, 3, 4, 5, 6, 7, limit - 1, limit, limit + 1, 3 * limit] {
            let bytes = TreeFixture.random(size, seed: UInt64(size))
            f.file("p\(size)", bytes)
            func expect(_ offset: Int, _ length: Int) -> UInt32 {
                let n = max(0, min(length, size - offset))
                var v: UInt32 = 0
                for k in 0..<n { v |= UInt32(bytes[offset + k]) << UInt32(8 * k) }
                return v | UInt32(n) << 24
            }
            let fd = open(f.root + "/p\(size)", O_RDONLY)
            defer { close(fd) }
            let p = FileDeduplicator.probe(fd, size: UInt64(size))
            XCTAssertEqual(p?.first, expect(0, 2), "size \(size)")
            XCTAssertEqual(p?.last, expect(size >= 2 ? size - 2 : 0, 2), "size \(size)")
            XCTAssertEqual(p?.centre, expect(size / 2 >= 1 ? size / 2 - 1 : 0, 3), "size \(size)")
        }
    }
}
