import XCTest
import Glibc
import Foundation
@testable import Archive
@testable import Builder

/// Random access through ArchiveReader: awkward offsets, many threads, a cache
/// smaller than the data.
final class ReaderTests: XCTestCase {
    static var source = ""
    static var archive = ""
    static let frameSize = 16 << 10
    static var files: [String: [UInt8]] = [:]

    override class func setUp() {
        let f = TreeFixture(root: TreeFixture.temporaryDirectory("reader-src"))
        files = [
            "text.txt": TreeFixture.text(frameSize * 4 + 333, seed: 1),
            "random.bin": TreeFixture.random(frameSize * 2 + 1, seed: 2),
            "small.txt": TreeFixture.text(100, seed: 3),
            "exact.bin": TreeFixture.text(frameSize, seed: 4),
            "copy.txt": TreeFixture.text(frameSize * 4 + 333, seed: 1),
        ]
        for (name, bytes) in files { f.file(name, bytes) }
        source = f.root
        archive = TreeFixture.temporaryDirectory("reader-out") + "/arc"
        var options = BuildOptions()
        options.frameSize = frameSize
        options.threads = 2
        _ = try! ArchiveBuilder(sources: [source], output: archive, options: options).run()
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: source)
        try? FileManager.default.removeItem(atPath: (archive as NSString).deletingLastPathComponent)
    }

    func read(_ reader: ArchiveReader, _ name: String, _ offset: Int, _ count: Int) throws -> [UInt8] {
        let inode = reader.index.resolve(path: name)!
        var buffer = [UInt8](repeating: 0xEE, count: count)
        let n = try buffer.withUnsafeMutableBytes { try reader.read(inode: inode, offset: UInt64(offset), count: count, into: $0.baseAddress!) }
        return Array(buffer[0..<n])
    }

    func testReadsAtAwkwardOffsets() throws {
        let reader = try ArchiveReader(path: Self.archive + ".001", options: ReaderOptions(cacheBytes: 64 << 10))
        let fs = Self.frameSize
        for (name, bytes) in Self.files {
            let size = bytes.count
            let offsets = [0, 1, fs - 1, fs, fs + 1, 2 * fs - 3, size - 1, size, size + 1, size + 1000].filter { $0 >= 0 }
            for offset in offsets {
                for count in [1, 2, 7, fs, fs + 5, 3 * fs, 1 << 20] {
                    let got = try read(reader, name, offset, count)
                    let expected = offset >= size ? [] : Array(bytes[offset..<min(size, offset + count)])
                    XCTAssertEqual(got, expected, "\(name) offset \(offset) count \(count)")
                }
            }
        }
    }

    func testDuplicatesShareContent() throws {
        let reader = try ArchiveReader(path: Self.archive + ".001")
        let a = reader.index.inodes[reader.index.resolve(path: "text.txt")!]
        let b = reader.index.inodes[reader.index.resolve(path: "copy.txt")!]
        XCTAssertEqual(a.data, b.data)
    }

    func testSixteenThreadsOfRandomReads() throws {
        // A cache of two frames forces constant eviction under contention.
        let reader = try ArchiveReader(path: Self.archive + ".001", options: ReaderOptions(cacheBytes: 2 * Self.frameSize))
        let names = Array(Self.files.keys).sorted()
        let errors = NSLock()
        var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 16) { t in
            var state = UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15
            for _ in 0..<300 {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                let name = names[Int(state % UInt64(names.count))]
                let bytes = Self.files[name]!
                let offset = Int((state >> 8) % UInt64(bytes.count + 10))
                let count = Int((state >> 32) % 40_000) + 1
                let expected = offset >= bytes.count ? [] : Array(bytes[offset..<min(bytes.count, offset + count)])
                do {
                    let got = try read(reader, name, offset, count)
                    if got != expected { errors.lock(); failures.append("\(name)@\(offset)+\(count)"); errors.unlock() }
                } catch {
                    errors.lock(); failures.append("\(error)"); errors.unlock()
                }
            }
        }
        XCTAssertEqual(failures, [])
        XCTAssertLessThanOrEqual(reader.cacheStatistics.bytes, 2 * Self.frameSize + 16 * 2 * Self.frameSize)
    }

    func testCacheStaysWithinBudgetWhenIdle() throws {
        let budget = 3 * Self.frameSize
        let reader = try ArchiveReader(path: Self.archive + ".001", options: ReaderOptions(cacheBytes: budget, readAhead: false))
        for name in Self.files.keys { _ = try read(reader, name, 0, 1 << 20) }
        XCTAssertLessThanOrEqual(reader.cacheStatistics.bytes, budget)
        XCTAssertGreaterThan(reader.cacheStatistics.misses, 0)
    }
}
