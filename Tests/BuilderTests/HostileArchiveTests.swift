import XCTest
import Glibc
@testable import Archive
@testable import Builder

/// Hostile archives end to end: a crafted index written into a real volume
/// (re-encoded, footer rewritten) must be refused by the reader and by
/// gpuarc-extract with a message, writing nothing; symlinks pointing anywhere
/// are restored verbatim and never followed while writing.
final class HostileArchiveTests: ScratchTestCase {

    /// One volume: files, a subdirectory, a symlink and a hard link.
    func makeArchive(_ extra: (TreeFixture) -> Void = { _ in }) throws -> (src: String, out: String) {
        let f = TreeFixture(root: temp("src"))
        f.file("a.txt", TreeFixture.text(3000, seed: 1))
        f.file("sub/b.bin", TreeFixture.random(2000, seed: 2))
        f.file("sub/c.txt", TreeFixture.text(1000, seed: 3))
        f.symlink("link", to: "a.txt")
        f.hardLink("hard", to: "a.txt")
        extra(f)
        let out = temp("out") + "/arc"
        _ = try ArchiveBuilder(sources: [f.root], output: out, options: BuildOptions()).run()
        return (f.root, out)
    }

    /// Replaces the index of a one-volume archive with `body` (inflated bytes).
    func writeIndex(body: [UInt8], into out: String) throws {
        let path = out + ".001"
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let footer = try bytes[(bytes.count - Footer.size)...].withUnsafeBytes {
            try Footer.decode($0, fileSize: UInt64(bytes.count), volume: path)
        }
        let compressed = SegmentCompression.compress(body, previous: nil, prefix: [])
        let newFooter = Footer(indexOffset: footer.indexOffset, indexSize: UInt64(compressed.count)).encoded()
        try Data(bytes[0..<Int(footer.indexOffset)] + compressed + newFooter).write(to: URL(fileURLWithPath: path))
        // The copy OUT.idx gets the same index: both copies hostile, so the
        // parser's refusal is what is tested (not the fallback to a good copy).
        let copy = VolumeHeader(archiveID: Array(bytes[8..<24]), number: 0).encoded() + compressed
            + Footer(indexOffset: UInt64(VolumeHeader.size), indexSize: UInt64(compressed.count)).encoded()
        try Data(copy).write(to: URL(fileURLWithPath: out + ".idx"))
    }

    /// Reader and CLI both refuse the archive, naming why, and create no DEST.
    func assertRefused(_ out: String, _ label: String, mentioning: String = "invalid") throws {
        XCTAssertThrowsError(try ArchiveReader(path: out + ".001"), label) { error in
            XCTAssertTrue("\(error)".contains(mentioning), "\(label): \(error)")
        }
        let dest = temp("dest") + "/r"
        let result = try runTool("gpuarc-extract", [out + ".001", dest])
        XCTAssertEqual(result.status, 1, label)
        XCTAssertTrue(result.err.contains(mentioning), "\(label): \(result.err)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest), "\(label): extract created \(dest)")
    }

    func testCraftedIndexesInARealVolumeAreRefused() throws {
        let (_, out) = try makeArchive()
        let original = try ArchiveReader(path: out + ".001").index
        func name(_ index: ArchiveIndex, _ path: String) -> Int {
            let parent = index.resolve(path: (path as NSString).deletingLastPathComponent)!
            return index.entryRange(ofDirectory: parent).first { index.name(of: index.entries[$0]) == (path as NSString).lastPathComponent }!
        }
        let file = original.resolve(path: "a.txt")!, sub = original.resolve(path: "sub")!
        let mutations: [(String, (inout ArchiveIndex) -> Void)] = [
            ("name with '/'", { $0.strings[Int($0.entries[name($0, "a.txt")].nameOffset) + 1] = UInt8(ascii: "/") }),
            ("name '..'", { let i = name($0, "sub"), at = Int($0.entries[i].nameOffset)
                            $0.strings[at] = 0x2E; $0.strings[at + 1] = 0x2E
                            $0.entries[i].nameLength = 2 }),
            ("NUL in a name", { $0.strings[Int($0.entries[name($0, "sub/c.txt")].nameOffset) + 1] = 0 }),
            ("empty name", { $0.entries[name($0, "hard")].nameLength = 0 }),
            ("symlink target with NUL", { $0.strings[Int($0.inodes[$0.resolve(path: "link")!].data)] = 0 }),
            ("directory cycle", { $0.entries[name($0, "sub/c.txt")].inode = UInt32(sub) }),
            ("entry to the root", { $0.entries[name($0, "sub/b.bin")].inode = 0 }),
            ("chunk reference out of range", { $0.chunkRefs[0] = UInt32($0.chunks.count) }),
            ("chunk outside its frame", { $0.chunks[0].offset = $0.frames[Int($0.chunks[0].frame)].decodedSize }),
            ("content out of range", { $0.inodes[file].data = UInt64($0.contents.count) }),
            ("frame outside the volume", { $0.frames[0].offset = $0.volumeSizes[0] }),
            ("file size far larger than its chunks", { $0.inodes[file].size = 1 << 40; $0.contents[Int($0.inodes[file].data)].size = 1 << 40 }),
            ("frame claiming 4 GiB", { $0.frames[0].decodedSize = UInt32.max }),
        ]
        for (label, mutate) in mutations {
            var index = original
            mutate(&index)
            try writeIndex(body: IndexCodec.encode(index), into: out)
            try assertRefused(out, label)
        }
        // Counts far larger than the bytes that follow: refused before allocating.
        // The inode count sits right after the chunk-reference list.
        var body = IndexCodec.encode(original)
        let inodeCountOffset = IndexCodec.headerSize + 4 + 8 * original.volumeSizes.count
            + 4 + IndexCodec.frameRecordSize * original.frames.count + 4 + IndexCodec.chunkRecordSize * original.chunks.count
            + 4 + IndexCodec.contentRecordSize * original.contents.count + 8 + 4 * original.chunkRefs.count
        body.replaceSubrange(inodeCountOffset..<(inodeCountOffset + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        body.replaceSubrange(IndexCodec.checksumOffset..<(IndexCodec.checksumOffset + 8), with: repeatElement(0, count: 8))
        let checksum = body.withUnsafeBytes { IndexCodec.checksum(of: $0) }
        withUnsafeBytes(of: checksum.littleEndian) { body.replaceSubrange(IndexCodec.checksumOffset..<(IndexCodec.checksumOffset + 8), with: $0) }
        try writeIndex(body: body, into: out)
        try assertRefused(out, "inode count 2^31-1", mentioning: "claims")

        // A footer claiming an index larger than the file.
        try writeIndex(body: IndexCodec.encode(original), into: out)
        let path = out + ".001"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes.replaceSubrange((bytes.count - 16)..<(bytes.count - 8), with: [0, 0, 0, 0x80, 0, 0, 0, 0])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        unlink(out + ".idx")   // (a good copy would stand in)
        try assertRefused(out, "footer index size 2 GiB", mentioning: "footer")
    }

    /// Absolute and escaping symlink targets come back verbatim as symlinks; the
    /// extractor never writes through them, nor through symlinks already in DEST.
    func testSymlinksPointingOutsideAreRestoredButNeverFollowed() throws {
        let outside = temp("outside")
        let victim = outside + "/victim.txt"
        try Data("untouched".utf8).write(to: URL(fileURLWithPath: victim))
        let (src, out) = try makeArchive { f in
            f.symlink("abs", to: victim)
            f.symlink("escape", to: "../../../../../../" + outside)
            f.symlink("sub/up", to: "..")
        }
        let dest = temp("dest") + "/r"
        let report = try Extractor(reader: try ArchiveReader(path: out + ".001"), destination: dest).run()
        XCTAssertEqual(report.failures, [])
        for link in ["abs", "escape", "sub/up", "link"] {
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dest + "/" + link),
                           try FileManager.default.destinationOfSymbolicLink(atPath: src + "/" + link), link)
        }

        // DEST already holds symlinks where the archive has a file and a directory,
        // both pointing outside. Without --force: refused; with it: the file
        // replaced, the directory left alone; the outside untouched either way.
        for force in [false, true] {
            let dest2 = temp("dest2")
            XCTAssertEqual(symlink(victim, dest2 + "/a.txt"), 0)
            XCTAssertEqual(symlink(outside, dest2 + "/sub"), 0)
            var options = ExtractOptions()
            options.force = force
            let report = try Extractor(reader: try ArchiveReader(path: out + ".001"), destination: dest2, options: options).run()
            XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "untouched", "force=\(force)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), ["victim.txt"], "force=\(force)")
            XCTAssertTrue(report.failures.contains { $0.hasPrefix("sub:") && $0.contains("in the way") }, "\(report.failures)")
            if force {
                XCTAssertEqual(FileManager.default.contents(atPath: dest2 + "/a.txt"), FileManager.default.contents(atPath: src + "/a.txt"))
                XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: dest2 + "/a.txt"))
            } else {
                XCTAssertTrue(report.failures.contains { $0.hasPrefix("a.txt:") && $0.contains("--force") }, "\(report.failures)")
            }
        }
    }
}
