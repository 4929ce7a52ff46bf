import XCTest
import Glibc
@testable import Archive
@testable import Builder

/// Many readers at once on a damaged archive, through one ArchiveReader with a
/// cache far smaller than the data (constant eviction, read-ahead on): every
/// read that succeeds returns the source's bytes, and every read that fails
/// belongs to a file that needs the damaged frame. (The same load against the
/// FUSE mount waits for the mount branch.)
final class ConcurrentDamageTests: XCTestCase {
    func testThirtyTwoReadersOnADamagedArchiveNeverSeeWrongBytes() throws {
        let work = TreeFixture.temporaryDirectory("concurrent")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (src, out) = try ArchiveDamage.makeArchive(source: work + "/src", output: work)
        let intact = try ArchiveReader(path: out + ".001")
        let frame = intact.index.frames.firstIndex { $0.volume == 1 }!
        let record = intact.index.frames[frame]
        ArchiveDamage.flipByte(intact.volumes.textPaths[1], at: Int(record.offset) + FrameHeader.size + Int(record.storedSize) / 2)

        let reader = try ArchiveReader(path: out + ".001", options: ReaderOptions(cacheBytes: 32 << 10, readAhead: true))
        let paths = reader.index.paths()
        let files = reader.index.inodes.indices.filter { reader.index.inodes[$0].kind == .regular }
        let sources = Dictionary(uniqueKeysWithValues: files.map { ($0, Array(FileManager.default.contents(atPath: src + "/" + paths[$0]!)!)) })
        let bad = Set(reader.files(touching: [frame]))
        XCTAssertFalse(bad.isEmpty)

        let lock = NSLock()
        var problems: [String] = [], reads = 0, bytes = 0, failedReads = 0
        let deadline = Date().addingTimeInterval(3)
        DispatchQueue.concurrentPerform(iterations: 32) { t in
            var state = UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            var myReads = 0, myBytes = 0, myFailed = 0
            while Date() < deadline {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                let inode = files[Int(state % UInt64(files.count))]
                let expected = sources[inode]!
                // Even threads read whole files sequentially; odd ones read random ranges.
                let ranges: [(Int, Int)] = t % 2 == 0
                    ? stride(from: 0, to: expected.count, by: 7000).map { ($0, 7000) }
                    : [(Int((state >> 8) % UInt64(expected.count)), Int((state >> 40) % 50_000) + 1)]
                for (offset, count) in ranges {
                    myReads += 1
                    do {
                        let n = try buffer.withUnsafeMutableBytes { try reader.read(inode: inode, offset: UInt64(offset), count: min(count, $0.count), into: $0.baseAddress!) }
                        myBytes += n
                        if !buffer[0..<n].elementsEqual(expected[offset..<(offset + n)]) {
                            lock.lock(); problems.append("WRONG BYTES: \(paths[inode]!) @\(offset)+\(n)"); lock.unlock()
                        }
                    } catch {
                        myFailed += 1
                        if !bad.contains(inode) { lock.lock(); problems.append("\(paths[inode]!) failed: \(error)"); lock.unlock() }
                        break
                    }
                }
            }
            lock.lock(); reads += myReads; bytes += myBytes; failedReads += myFailed; lock.unlock()
        }
        XCTAssertEqual(problems, [])
        XCTAssertGreaterThan(failedReads, 0, "no reader touched the damaged frame")
        print("concurrent readers: 32 threads, \(reads) reads, \(bytes) bytes checked, \(failedReads) reads refused (damaged frame), 0 wrong")
    }
}
