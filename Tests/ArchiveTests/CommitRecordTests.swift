import Foundation
import XCTest
@testable import Archive

/// The commit record (`OUT.commit`): what a writer writes reads back, and
/// nothing else does. A writer renames what a record says, so a hostile or
/// damaged record must never name any file but the archive's own, and a
/// reader must find a pending commit's files at their temporary names.
final class CommitRecordTests: XCTestCase {
    private let base = Array("caf\u{e9}".utf8)   // names are bytes

    private func record() -> CommitRecord {
        CommitRecord(archiveID: Array(0..<16), dataVolumes: 3, parityVolumes: 1, removesVolumesAbove: true, removesParityAbove: false,
                     renames: ["002", "003", "idx", "p01"].map { suffix in
                         let final = base + Array(".\(suffix)".utf8)
                         return .init(temporary: final + Array(".partial".utf8), final: final)
                     })
    }

    func testRoundTrip() throws {
        let bytes = record().encoded()
        XCTAssertEqual(try CommitRecord.decode(bytes, baseName: base, what: "r"), record())
    }

    func testEveryTruncationAndFlipIsRefused() {
        let bytes = record().encoded()
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try CommitRecord.decode(Array(bytes.prefix(n)), baseName: base, what: "r"), "\(n) bytes")
        }
        for i in bytes.indices {
            var flipped = bytes
            flipped[i] ^= 0x10
            XCTAssertThrowsError(try CommitRecord.decode(flipped, baseName: base, what: "r"), "byte \(i)")
        }
    }

    /// Well-formed and checksummed, but naming files a writer of this
    /// archive never renames: refused, so finishing it cannot touch them.
    func testRecordsThatRenameOtherFilesAreRefused() {
        let hostile: [(String, String)] = [
            ("passwd.partial", "passwd"), ("../x.001.partial", "../x.001"),
            (".001.partial", ".001"), ("x.004.partial", "x.004"),   // another base; a volume above L
            ("x.001", "x.002"), ("x.idx.tmp", "x.idx"), ("x.p02.partial", "x.p02"), ("x.0001.partial", "x.0001"),
        ]
        for (from, to) in hostile {
            var r = record()
            let rewrite = { (name: String) in Array(name.replacingOccurrences(of: "x", with: "caf\u{e9}").utf8) }
            r.renames = [.init(temporary: rewrite(from), final: rewrite(to))]
            XCTAssertThrowsError(try CommitRecord.decode(r.encoded(), baseName: base, what: "r"), "\(from) -> \(to)")
        }
        var twice = record()
        twice.renames.append(twice.renames[0])
        XCTAssertThrowsError(try CommitRecord.decode(twice.encoded(), baseName: base, what: "r"))
    }

    /// While a record is pending, readers find the new state: its counts,
    /// each file at its temporary name until renamed, the old volumes above
    /// its count left out.
    func testArchiveFilesFollowAPendingCommit() throws {
        let dir = NSTemporaryDirectory() + "commit-files-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = BytePath(dir).appending(base)
        func write(_ suffix: String, _ text: String) { _ = FileManager.default.createFile(atPath: path.description + suffix, contents: Data(text.utf8)) }
        for n in 1...5 { write(VolumeNaming.suffix(n), "old \(n)") }   // the old state: five volumes
        write(".002.partial", "new 2")
        write(".003", "new 3")   // renamed already
        write(".idx.partial", "new idx")
        write(".p01.partial", "new p01")
        let raw = record().encoded()
        _ = FileManager.default.createFile(atPath: path.description + ".commit", contents: Data(raw))
        let files = ArchiveFiles.locate(base: path)
        XCTAssertEqual(files.pending, record())
        XCTAssertEqual(files.volumeNumbers, [1, 2, 3])
        XCTAssertEqual(files.parityNumbers, [1])
        XCTAssertEqual(files.lastVolume, 3)
        func read(_ p: BytePath) throws -> String {
            let fd = try files.open(p)
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = Glibc.read(fd, &buffer, 64)
            return String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self)
        }
        XCTAssertEqual(try read(files.volumePath(1)), "old 1")
        XCTAssertEqual(try read(files.volumePath(2)), "new 2")
        XCTAssertEqual(try read(files.volumePath(3)), "new 3")
        XCTAssertEqual(try read(files.indexCopyPath), "new idx")
        XCTAssertEqual(try read(files.parityPath(1)), "new p01")
        // Renamed between the listing and the open: the final name has it.
        XCTAssertEqual(rename(path.description + ".002.partial", path.description + ".002"), 0)
        XCTAssertEqual(try read(files.volumePath(2)), "new 2")
        // A damaged record is left out, and said to be.
        var damaged = raw
        damaged[30] ^= 1
        _ = FileManager.default.createFile(atPath: path.description + ".commit", contents: Data(damaged))
        let ignored = ArchiveFiles.locate(base: path)
        XCTAssertNil(ignored.pending)
        XCTAssertTrue(ignored.recordProblem?.contains("checksum") == true, "\(ignored.recordProblem ?? "")")
        XCTAssertEqual(ignored.volumeNumbers, [1, 2, 3, 4, 5])
    }
}
