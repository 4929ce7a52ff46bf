import Archive
import XCTest
@testable import Builder

final class FileHasherTests: ScratchTestCase {
    /// Runs of small files are hashed four at a time, large ones streamed; every
    /// result must equal FNV-1a of the file, whatever the mix, and a missing
    /// file is nil without disturbing its run's neighbours.
    func testCPUHasherEqualsFNVOfEachFile() {
        let f = TreeFixture(root: temp("hash"))
        let limit = CPUFileHasher.wholeFileLimit
        let sizes = [0, 1, 4096, 4096, 4096, 4095, 7, limit, limit + 1, 3 * limit + 5, 12, 12, 12, 12, 12, 300]
        var paths: [String] = []
        var contents: [[UInt8]] = []
        for (i, size) in sizes.enumerated() {
            let bytes = TreeFixture.random(size, seed: UInt64(i + 1))
            f.file("f\(i)", bytes)
            paths.append(f.root + "/f\(i)")
            contents.append(bytes)
        }
        paths.insert(f.root + "/missing", at: 3)
        contents.insert([], at: 3)
        let fileSizes = contents.map { UInt64($0.count) }
        for threads in [1, 2, 3] {
            let hashes = CPUFileHasher(threads: threads).hashFiles(paths: paths, sizes: fileSizes)
            var expected: [UInt64?] = contents.map(FNV1a64.hash)
            expected[3] = nil
            XCTAssertEqual(hashes, expected, "threads \(threads)")
        }
    }
}
