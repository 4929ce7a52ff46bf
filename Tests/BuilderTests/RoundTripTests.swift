import XCTest
import Glibc
@testable import Archive
@testable import Builder

final class RoundTripTests: ScratchTestCase {

    @discardableResult
    func build(_ sources: [String], _ out: String, frameSize: Int = 64 << 10, volumeSize: Int = 1 << 30,
               configure: (inout BuildOptions) -> Void = { _ in }) throws -> BuildStats {
        var options = BuildOptions()
        options.frameSize = frameSize
        options.volumeSize = volumeSize
        options.threads = 2
        configure(&options)
        return try ArchiveBuilder(sources: sources, output: out, options: options).run()
    }

    func extract(_ archive: String, to dest: String, force: Bool = false) throws -> ExtractReport {
        let reader = try ArchiveReader(path: archive, options: ReaderOptions(cacheBytes: 1 << 20))
        var options = ExtractOptions()
        options.force = force
        return try Extractor(reader: reader, destination: dest, options: options).run()
    }

    func assertSameTree(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) {
        let diff = TreeSnapshot(a).differences(from: TreeSnapshot(b))
        XCTAssertTrue(diff.isEmpty, "trees differ:\n" + diff.prefix(20).joined(separator: "\n"), file: file, line: line)
    }

    func testEdgeCaseTreeRoundTrips() throws {
        let frame = 16 << 10
        let fixture = TreeFixture.edgeCases(frameSize: frame)
        cleanup.append(fixture.root)
        let out = temp("out") + "/arc"
        let stats = try build([fixture.root], out, frameSize: frame)
        XCTAssertEqual(stats.duplicateFiles, 2)
        XCTAssertEqual(stats.hardLinks, 2)
        XCTAssertTrue(stats.warnings.isEmpty, "\(stats.warnings)")
        let dest = temp("dest") + "/restored"
        let report = try extract(out + ".001", to: dest)
        XCTAssertEqual(report.failures, [])
        assertSameTree(fixture.root, dest)
    }

    func testMultiVolumeWithTinyVolumes() throws {
        let fixture = TreeFixture(root: temp("mv"))
        for i in 0..<20 { fixture.file("f\(i).bin", TreeFixture.random(9000 + i * 1000, seed: UInt64(i))) }
        let out = temp("out") + "/arc"
        let stats = try build([fixture.root], out, frameSize: 8 << 10, volumeSize: 32 << 10)
        XCTAssertGreaterThan(stats.volumes.count, 5)
        for v in stats.volumes {
            var st = stat()
            XCTAssertEqual(stat(v, &st), 0)
            XCTAssertLessThanOrEqual(Int(st.st_size), 32 << 10, v)
        }
        let dest = temp("dest") + "/r"
        XCTAssertEqual(try extract(out + ".003", to: dest).failures, [])
        assertSameTree(fixture.root, dest)
    }

    func testSeveralSourcesBecomeTopLevelDirectories() throws {
        let base = temp("versions")
        for v in 1...3 {
            let f = TreeFixture(root: base + "/v\(v)")
            f.file("same.txt", TreeFixture.text(4000, seed: 1))
            f.file("changes.txt", TreeFixture.text(4000, seed: UInt64(v + 10)))
        }
        let out = temp("out") + "/arc"
        let stats = try build([base + "/v1", base + "/v2", base + "/v3/"], out)
        XCTAssertEqual(stats.duplicateFiles, 2)
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertNotNil(reader.index.resolve(path: "v1/same.txt"))
        XCTAssertNotNil(reader.index.resolve(path: "v3/changes.txt"))
        let dest = temp("dest") + "/r"
        XCTAssertEqual(try extract(out + ".001", to: dest).failures, [])
        for v in 1...3 { assertSameTree(base + "/v\(v)", dest + "/v\(v)") }

        let other = temp("x") + "/v1"
        mkdir(other, 0o755)
        XCTAssertThrowsError(try build([base + "/v1", other], temp("out2") + "/a")) { error in
            XCTAssertTrue("\(error)".contains("distinct"), "\(error)")
        }
    }

    /// Snapshots made with `cp -al` share inodes across SRCs: one inode in the
    /// archive, with every name, and the link count of the archive's names.
    func testHardLinksAcrossSourcesBecomeOneInode() throws {
        let base = temp("linked")
        let v1 = TreeFixture(root: base + "/v1"), v2 = TreeFixture(root: base + "/v2")
        v1.file("shared.txt", TreeFixture.text(3000, seed: 1))
        v1.file("own.txt", TreeFixture.text(100, seed: 2))
        v2.dir("sub")
        XCTAssertEqual(link(v1.path("shared.txt"), v2.path("sub/shared.txt")), 0)
        XCTAssertEqual(link(v1.path("shared.txt"), v2.path("again.txt")), 0)
        let out = temp("out") + "/arc"
        let stats = try build([v1.root, v2.root], out)
        XCTAssertEqual(stats.hardLinks, 2)
        let index = try ArchiveReader(path: out + ".001").index
        let a = index.resolve(path: "v1/shared.txt"), b = index.resolve(path: "v2/sub/shared.txt"), c = index.resolve(path: "v2/again.txt")
        XCTAssertNotNil(a)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a, c)
        XCTAssertEqual(index.inodes[a!].nlink, 3)
        XCTAssertNotEqual(index.resolve(path: "v1/own.txt"), a)
        let dest = temp("dest") + "/r"
        XCTAssertEqual(try extract(out + ".001", to: dest).failures, [])
        var s1 = stat(), s2 = stat()
        XCTAssertEqual(stat(dest + "/v1/shared.txt", &s1), 0)
        XCTAssertEqual(stat(dest + "/v2/sub/shared.txt", &s2), 0)
        XCTAssertEqual(s1.st_ino, s2.st_ino)
        XCTAssertEqual(s1.st_nlink, 3)
    }

    /// A hash that says every file is the same: dedup must still keep every
    /// distinct file, because candidates are confirmed byte for byte.
    struct CollidingHasher: FileHashing {
        func hashFiles(_ files: [Int], sizes: [UInt64], from source: SourceReading) -> [UInt64?] { files.map { _ in 42 } }
    }

    /// Each stage of the filter drops exactly the files it can tell apart:
    /// a size of its own, then the first 2, the last 2, the centre 3 bytes;
    /// what is left is hashed, and only byte-equal files become references.
    func testFourStageFilterDropsFilesStageByStage() throws {
        let f = TreeFixture(root: temp("stages"))
        let n = 9001
        let base = TreeFixture.text(n, seed: 7)
        func variant(_ at: Int) -> [UInt8] { var v = base; v[at] ^= 0x55; return v }
        f.file("unique-size", TreeFixture.text(n + 1, seed: 8))   // no other file of its size
        f.file("s1/first", variant(0))                           // differs from the rest in its first 2 bytes
        f.file("s1/first-too", variant(1))                       // ... and from that one
        f.file("s2/last", variant(n - 1))                        // the same first bytes; its own last 2
        f.file("s3/centre", variant(n / 2))                      // same first and last; its own centre
        f.file("s4/elsewhere", variant(1234))                    // every probe alike: only the hash tells it apart
        f.file("s4/copy-a", base)
        f.file("s5/copy-b", base)
        let out = temp("out") + "/arc"
        let stats = try build([f.root], out)
        // size: 7 share one; first 2: two drop; last 2: one more; centre 3:
        // one more; of the 3 hashed, 2 share a hash (and are equal).
        XCTAssertEqual(stats.dedupSurvivors, [7, 5, 4, 3, 2])
        XCTAssertEqual(stats.duplicateFiles, 1)
        let dest = temp("dest") + "/r"
        XCTAssertEqual(try extract(out + ".001", to: dest).failures, [])
        assertSameTree(f.root, dest)
    }

    func testFNVCollisionNeverCostsAFile() throws {
        let f = TreeFixture(root: temp("collide"))
        // Same size, same first/last/centre bytes: they survive the whole
        // filter; larger than the files dedup hashes with SHA-256 as it
        // probes them, so the hasher's FNV-1a is what groups them.
        let size = Int(FileDeduplicator.wholeProbeLimit) + 10_000
        var a = TreeFixture.text(size, seed: 1), b = a, c = a
        b[1234] ^= 0xFF
        c[size - 7777] ^= 0x01
        f.file("a", a); f.file("b", b); f.file("c", c); f.file("a-copy", a)
        let out = temp("out") + "/arc"
        let stats = try build([f.root], out) { $0.hasher = CollidingHasher() }
        XCTAssertEqual(stats.duplicateFiles, 1)
        XCTAssertEqual(stats.hashCollisions, 3)   // b vs a, c vs a, c vs b
        let dest = temp("dest") + "/r"
        XCTAssertEqual(try extract(out + ".001", to: dest).failures, [])
        assertSameTree(f.root, dest)
    }

    /// Files small enough to be probed whole are grouped by their SHA-256,
    /// taken from the probe's read: the hasher is not asked (even one that
    /// calls everything equal cannot merge them), and equal digests are
    /// duplicates without a second read.
    func testSmallFilesAreDedupedByTheirSHA256() throws {
        let f = TreeFixture(root: temp("small"))
        var a = TreeFixture.text(10_000, seed: 1), b = a
        b[1234] ^= 0xFF
        f.file("a", a); f.file("b", b); f.file("a-copy", a); f.file("sub/a-again", a)
        let out = temp("out") + "/arc"
        let stats = try build([f.root], out) { $0.hasher = CollidingHasher() }
        XCTAssertEqual(stats.duplicateFiles, 2)
        XCTAssertEqual(stats.hashCollisions, 0)
        XCTAssertEqual(stats.dedupSurvivors.last, 3)
        let dest = temp("dest") + "/r"
        XCTAssertEqual(try extract(out + ".001", to: dest).failures, [])
        assertSameTree(f.root, dest)
    }

    func testFourStageFilterNarrowsCandidates() throws {
        let f = TreeFixture(root: temp("filter"))
        let base = TreeFixture.text(1000, seed: 9)
        var first = base; first[0] ^= 1
        var last = base; last[999] ^= 1
        var centre = base; centre[499] ^= 1
        var middle = base; middle[250] ^= 1   // only the full hash can tell
        f.file("base", base); f.file("first", first); f.file("last", last); f.file("centre", centre)
        f.file("middle", middle); f.file("copy", base); f.file("other-size", Array(base.prefix(999)))
        let stats = try build([f.root], temp("out") + "/arc")
        XCTAssertEqual(stats.dedupSurvivors, [6, 5, 4, 3, 2])
        XCTAssertEqual(stats.duplicateFiles, 1)
    }

    func testNoDedupStoresEveryFile() throws {
        let f = TreeFixture(root: temp("nodedup"))
        f.file("a", TreeFixture.random(5000, seed: 1)); f.file("b", TreeFixture.random(5000, seed: 1))
        // Same 64 KiB tail behind different heads: shared chunks, not a shared file.
        let tail = TreeFixture.random(64 << 10, seed: 2)
        f.file("c", TreeFixture.random(3000, seed: 3) + tail); f.file("d", TreeFixture.random(3000, seed: 4) + tail)
        let out = temp("out") + "/arc"
        let stats = try build([f.root], out) { $0.dedup = false }
        XCTAssertEqual(stats.duplicateFiles, 0)
        XCTAssertEqual(stats.similarity.duplicateChunks, 0, "--no-dedup must not share chunks either")
        XCTAssertEqual(stats.similarity.deltaHits, [0, 0, 0])
        XCTAssertGreaterThanOrEqual(stats.storedBytes, 10_000 + 2 * (3000 + 64 << 10))
        let dest = temp("dest") + "/r"
        XCTAssertEqual(try extract(out + ".001", to: dest).failures, [])
        assertSameTree(f.root, dest)
    }

    func testExtractRefusesToOverwriteWithoutForce() throws {
        let f = TreeFixture(root: temp("ow"))
        f.file("a.txt", Array("new".utf8))
        let out = temp("out") + "/arc"
        try build([f.root], out)
        let dest = temp("dest")
        let existing = dest + "/a.txt"
        FileManager.default.createFile(atPath: existing, contents: Data("old".utf8))
        let report = try extract(out + ".001", to: dest)
        XCTAssertEqual(report.failures.count, 1)
        XCTAssertTrue(report.failures[0].contains("--force"), report.failures[0])
        XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "old")
        XCTAssertEqual(try extract(out + ".001", to: dest, force: true).failures, [])
        XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "new")
    }

    /// A symlink planted in DEST where the archive has a directory must not
    /// lead extraction outside DEST, even with --force.
    func testExtractNeverFollowsSymlinksInDestination() throws {
        let f = TreeFixture(root: temp("esc"))
        f.file("sub/payload", Array("data".utf8))
        let out = temp("out") + "/arc"
        try build([f.root], out)
        let dest = temp("dest"), outside = temp("outside")
        XCTAssertEqual(symlink(outside, dest + "/sub"), 0)
        let report = try extract(out + ".001", to: dest, force: true)
        XCTAssertFalse(report.failures.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: outside + "/payload"))
    }
}
