import CSysCalls
import Glibc
import XCTest
@testable import Archive
@testable import Builder
@testable import ArchiveWriter

/// `gpuarc-build --append`: versions added to an archive in new volumes,
/// its own volumes untouched, each version restored exactly (bytes and
/// metadata, names as bytes) after any number of appends; unchanged files
/// reused unread (and what that trusts), chunks found among the stored ones,
/// deltas against them, and an append cut short leaving the archive as it was.
final class AppendTests: ScratchTestCase {
    /// `caf\xe9.txt`: a name that is not UTF-8.
    static let latin: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".txt".utf8)

    func options() -> BuildOptions {
        var o = BuildOptions()
        o.frameSize = 16 << 10
        o.volumeSize = 64 << 10
        o.threads = 2
        return o
    }

    /// One snapshot of a small tree: text that changes a little from version
    /// to version, a random file that does not, a non-UTF-8 name, a symlink,
    /// a hard link pair, an xattr and set times.
    func snapshot(_ version: Int, in parent: String) -> String {
        let f = TreeFixture(root: parent + "/snap\(version)")
        f.dir("")
        f.file("stable.bin", TreeFixture.random(40_000, seed: 7), mtime: (1_600_000_000, 5))
        var text = TreeFixture.text(60_000, seed: 3)
        for k in 0..<version { text[1000 + k * 7919] ^= 0x20 }   // a few bytes per version
        f.file("docs/notes.txt", text, mode: 0o640)
        f.file("docs/v\(version).txt", TreeFixture.text(5_000, seed: UInt64(100 + version)))
        let latin = BytePath(f.root).appending(Array("docs/".utf8) + Self.latin)
        let fd = latin.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        _ = write(fd, "latin \(version)", 7 + String(version).count)
        close(fd)
        f.symlink("link", to: "docs/notes.txt")
        f.file("pair1", Array("pair \(version)".utf8))
        f.hardLink("docs/pair2", to: "pair1")
        XCTAssertEqual(lsetxattr(f.path("stable.bin"), "user.origin", "snapshot", 8, 0), 0)
        return f.root
    }

    func versionsRestored(_ archive: String, _ expected: [(name: String, source: String)], file: StaticString = #filePath, line: UInt = #line) throws {
        let reader = try ArchiveReader(path: archive)
        XCTAssertEqual(reader.notices, [], file: file, line: line)
        XCTAssertEqual(reader.index.versions.map { Escaped.text(reader.index.nameBytes(of: $0)) }, expected.map(\.name), file: file, line: line)
        let dest = temp("append-dest") + "/r"
        XCTAssertEqual(try Extractor(reader: reader, destination: dest).run().failures, [], file: file, line: line)
        for (name, source) in expected {
            let diff = TreeSnapshot(source).differences(from: TreeSnapshot(dest + "/" + name))
            XCTAssertTrue(diff.isEmpty, "\(name): " + diff.prefix(10).joined(separator: "\n"), file: file, line: line)
        }
        for v in reader.index.versions {
            let source = expected.first { $0.name == Escaped.text(reader.index.nameBytes(of: v)) }!.source
            // Hard links count once.
            let files = Set(TreeSnapshot(source).entries.filter { $0.value.type == S_IFREG }.map { $0.value.linkGroup ?? $0.key }).count
            XCTAssertEqual(Int(v.files), files, file: file, line: line)
        }
    }

    /// Rewrites the index of a one-volume-index archive at `out` as
    /// `compressed` (an older format's, as its release wrote it) and removes
    /// the index copy, which holds the index as built.
    func replaceIndex(of out: String, with compressed: (ArchiveIndex) throws -> [UInt8]) throws {
        let built = try ArchiveReader(path: out + ".001")
        let last = built.volumes.textPaths.last!
        let offset = built.index.volumeSizes.last!
        let bytes = try compressed(built.index)
        XCTAssertEqual(truncate(last, off_t(offset)), 0)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: last))
        handle.seekToEndOfFile()
        handle.write(Data(bytes + Footer(indexOffset: offset, indexSize: UInt64(bytes.count)).encoded()))
        handle.closeFile()
        unlink(out + ".idx")
    }

    func sizes(_ out: String) -> [String: Data] {
        var all: [String: Data] = [:]
        for n in VolumeNaming.existingVolumeNumbers(base: BytePath(out)) {
            let path = VolumeNaming.path(base: BytePath(out), number: n).description
            all[path] = FileManager.default.contents(atPath: path)
        }
        return all
    }

    func testRoundTripsAfterOneTwoAndManyAppends() throws {
        let work = temp("append-work")
        let out = temp("append-out") + "/arc"
        var o = options()
        o.name = Array("day0".utf8)
        o.versioned = true
        let first = snapshot(0, in: work)
        XCTAssertEqual(try ArchiveBuilder(sources: [BytePath(first)], output: BytePath(out), options: o).run().warnings, [])
        var expected = [(name: "day0", source: first)]
        try versionsRestored(out + ".001", expected)
        for day in 1...5 {
            let before = sizes(out)
            var a = options()
            a.append = BytePath(out + ".001")
            a.name = Array("day\(day)".utf8)
            let source = snapshot(day, in: work)
            let stats = try ArchiveBuilder(sources: [BytePath(source)], output: BytePath(out), options: a).run()
            XCTAssertEqual(stats.warnings, [])
            XCTAssertEqual(stats.previousVersions, day)
            XCTAssertGreaterThan(stats.similarity.previousDuplicateChunks, 0, "the random file's chunks are stored already")
            // Volumes written before are not touched.
            let after = sizes(out)
            for (path, bytes) in before { XCTAssertEqual(after[path], bytes, "\(path) changed") }
            XCTAssertGreaterThan(after.count, before.count)
            expected.append((name: "day\(day)", source: source))
            if day <= 2 || day == 5 { try versionsRestored(out + ".001", expected) }
        }
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertEqual(reader.index.segments.count, 6)
        // The copy stands alone and describes the same archive.
        let copyOnly = temp("append-copy")
        for (path, bytes) in sizes(out) where !path.hasSuffix(".\(String(format: "%03d", sizes(out).count))") {
            FileManager.default.createFile(atPath: copyOnly + "/" + (path as NSString).lastPathComponent, contents: bytes)
        }
        FileManager.default.createFile(atPath: copyOnly + "/arc.idx", contents: FileManager.default.contents(atPath: out + ".idx"))
        let fromCopy = try ArchiveReader(path: copyOnly + "/arc.001")
        XCTAssertEqual(fromCopy.index.versions, reader.index.versions)
        XCTAssertEqual(fromCopy.index.inodes, reader.index.inodes)
        XCTAssertTrue(fromCopy.notices.first?.contains("copy") == true, "\(fromCopy.notices)")
    }

    /// A file rewritten all over between versions shares too little with its
    /// old self for the similarity index to find, yet the append codes its
    /// chunks against the chunks at the same offsets of its previous
    /// version (the file at the same path in the archive's newest version),
    /// and both versions restore exactly.
    func testAppendCodesARewrittenFileAgainstItsPreviousVersion() throws {
        let work = temp("append-prev")
        let out = temp("append-prev-out") + "/arc"
        var text = TreeFixture.text(400_000, seed: 9)
        let v0 = TreeFixture(root: work + "/v0")
        v0.file("log.txt", text)
        v0.file("other.txt", TreeFixture.text(50_000, seed: 10))
        var o = options()
        o.frameSize = 1 << 20
        o.volumeSize = 64 << 20
        o.name = Array("v0".utf8)
        _ = try ArchiveBuilder(sources: [BytePath(v0.root)], output: BytePath(out), options: o).run()
        // A byte in every 40 changed: no 8 KiB chunk keeps its super-features.
        for k in stride(from: 7, to: text.count, by: 40) { text[k] ^= 0x01 }
        let v1 = TreeFixture(root: work + "/v1")
        v1.file("log.txt", text)
        v1.file("other.txt", TreeFixture.text(50_000, seed: 11))
        var a = options()
        a.frameSize = 1 << 20
        a.volumeSize = 64 << 20
        a.append = BytePath(out + ".001")
        a.name = Array("v1".utf8)
        a.deltas = true
        let stats = try ArchiveBuilder(sources: [BytePath(v1.root)], output: BytePath(out), options: a).run()
        XCTAssertGreaterThan(stats.similarity.previousVersionDeltas, 10, stats.summary())
        XCTAssertTrue(stats.summary().contains("previous version of the file: "), stats.summary())
        try versionsRestored(out + ".001", [(name: "v0", source: v0.root), (name: "v1", source: v1.root)])
    }

    /// An archive of format 5 (zlib segments, before format 6 compressed each
    /// against the one before) still takes appends: in its own format, so its
    /// chain keeps one format, and every version restores.
    func testFormat5ArchivesTakeAppendsInFormat5() throws {
        let work = temp("append-v5")
        let out = temp("append-v5-out") + "/arc"
        var o = options()
        o.name = Array("day0".utf8)
        let first = snapshot(0, in: work)
        _ = try ArchiveBuilder(sources: [BytePath(first)], output: BytePath(out), options: o).run()
        XCTAssertEqual(try ArchiveReader(path: out + ".001").index.formatVersion, 6)
        // The index rewritten as format 5 wrote it.
        try replaceIndex(of: out) { try Zlib.compress(IndexCodec.encode($0, version: 5, segment: $0.segments[0])) }
        XCTAssertEqual(try ArchiveReader(path: out + ".001").index.formatVersion, 5)
        var expected = [(name: "day0", source: first)]
        for day in 1...2 {
            var a = options()
            a.append = BytePath(out + ".001")
            a.name = Array("day\(day)".utf8)
            let source = snapshot(day, in: work)
            _ = try ArchiveBuilder(sources: [BytePath(source)], output: BytePath(out), options: a).run()
            expected.append((name: "day\(day)", source: source))
        }
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertEqual(reader.index.formatVersion, 5)
        XCTAssertEqual(reader.index.segments.map(\.number), [1, 2, 3])
        XCTAssertEqual(reader.checkIndexCopy(), nil)
        try versionsRestored(out + ".001", expected)
    }

    /// `gpuarc-build /backups out` over snapshot directories records them as
    /// versions, so the next snapshot is appended to that archive too.
    func testAnArchiveOfSnapshotsInOneSRCTakesAppends() throws {
        let parent = temp("append-snapshots")
        let sources = (0..<3).map { snapshot($0, in: parent) }
        let out = temp("append-snapshots-out") + "/arc"
        _ = try ArchiveBuilder(sources: [BytePath(parent)], output: BytePath(out), options: options()).run()
        XCTAssertEqual(try ArchiveReader(path: out + ".001").index.versions.count, 3)
        var a = options()
        a.append = BytePath(out + ".001")
        let next = snapshot(3, in: temp("append-snapshots-next"))
        let stats = try ArchiveBuilder(sources: [BytePath(next)], output: BytePath(out), options: a).run()
        XCTAssertGreaterThan(stats.similarity.previousDuplicateChunks, 0)
        try versionsRestored(out + ".001", [("snap0", sources[0]), ("snap1", sources[1]), ("snap2", sources[2]), ("snap3", next)])
    }

    /// Several SRCs in one append, a delta against a chunk stored by the
    /// build before, and names that clash.
    func testSeveralSourcesDeltasAcrossRunsAndNameClashes() throws {
        let work = temp("append-multi")
        let out = temp("append-multi-out") + "/arc"
        let s0 = snapshot(0, in: work), s1 = snapshot(1, in: work)
        var o = options()
        o.deltas = true
        XCTAssertEqual(try ArchiveBuilder(sources: [BytePath(s0)], output: BytePath(out), options: {
            var v = o; v.versioned = true; return v
        }()).run().warnings, [])
        var a = options()
        a.append = BytePath(out + ".001")
        // notes.txt changed by a byte: found similar to the stored chunk and stored as a delta against it.
        let stats = try ArchiveBuilder(sources: [BytePath(s1), BytePath(snapshot(2, in: work))], output: BytePath(out), options: a).run()
        XCTAssertGreaterThan(stats.similarity.previousBases, 0, "\(stats.similarity)")
        try versionsRestored(out + ".001", [("snap0", s0), ("snap1", s1), ("snap2", work + "/snap2")])
        let clash = ArchiveBuilder(sources: [BytePath(s1)], output: BytePath(out), options: a)
        XCTAssertThrowsError(try clash.run()) { XCTAssertTrue("\($0)".contains("already has a version named \"snap1\""), "\($0)") }
        a.name = Array("snap1".utf8)
        XCTAssertThrowsError(try ArchiveBuilder(sources: [BytePath(s0)], output: BytePath(out), options: a).run())
    }

    /// An archive whose frames are LZ4X (built before zstd was the default,
    /// or with --codec lz4x) takes appends in zstd: one archive then holds
    /// both codecs, and zstd deltas against LZ4X-stored bases, and reads back
    /// exactly; an append in LZ4X after that adds LZ4X deltas to the mix.
    func testAppendsMixCodecsInOneArchive() throws {
        let work = temp("mixed")
        let out = temp("mixed-out") + "/arc"
        var o = options()
        o.codec = .lz4x
        o.deltas = true
        o.name = Array("snap0".utf8)
        let s0 = snapshot(0, in: work)
        XCTAssertEqual(try ArchiveBuilder(sources: [BytePath(s0)], output: BytePath(out), options: o).run().warnings, [])
        var a = options()
        a.deltas = true
        a.append = BytePath(out + ".001")
        a.name = Array("snap1".utf8)
        let s1 = snapshot(1, in: work)
        let stats = try ArchiveBuilder(sources: [BytePath(s1)], output: BytePath(out), options: a).run()
        XCTAssertEqual(stats.codec, "zstd")
        XCTAssertGreaterThan(stats.similarity.previousBases, 0, "\(stats.similarity)")
        a.codec = .lz4x
        a.name = Array("snap2".utf8)
        let s2 = snapshot(2, in: work)
        XCTAssertGreaterThan(try ArchiveBuilder(sources: [BytePath(s2)], output: BytePath(out), options: a).run().similarity.deltaChunks, 0)
        let index = try ArchiveReader(path: out + ".001").index
        XCTAssertEqual(Set(index.frames.map(\.codec)).subtracting([.raw]), [.lz4x, .zstd])
        XCTAssertEqual(Set(index.chunks.map(\.kind)), [.literal, .delta, .zstdDelta])
        try versionsRestored(out + ".001", [("snap0", s0), ("snap1", s1), ("snap2", s2)])
    }

    /// The files cache trusts metadata, as borg's does: a file whose bytes
    /// changed while its path, size, mtime and inode stayed (and, with the
    /// default keys, its ctime) keeps its stored content; with ctime among
    /// the keys the same change is seen (writing moves the ctime), and a
    /// changed mtime is always read again.
    func testFilesCacheReusesByMetadataAndRereadsChangedFiles() throws {
        let src = TreeFixture(root: temp("cache-src") + "/data")
        src.dir("")
        src.file("same.txt", TreeFixture.text(20_000, seed: 1), mtime: (1_500_000_000, 1))
        src.file("sneaky.txt", Array("original content".utf8), mtime: (1_500_000_000, 2))
        src.file("touched.txt", Array("touched v1".utf8), mtime: (1_500_000_000, 3))
        XCTAssertEqual(lsetxattr(src.path("same.txt"), "user.kept", "yes", 3, 0), 0)
        let out = temp("cache-out") + "/arc"
        var o = options()
        o.name = Array("mon".utf8)
        _ = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(out), options: o).run()

        // Same size, same mtime, same inode: rewritten in place, times set back.
        func rewrite(_ name: String, _ text: String, mtime: (Int, Int)) {
            let fd = open(src.path(name), O_WRONLY)
            _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
            var times = [timespec(tv_sec: mtime.0, tv_nsec: mtime.1), timespec(tv_sec: mtime.0, tv_nsec: mtime.1)]
            futimens(fd, &times)
            close(fd)
        }
        rewrite("sneaky.txt", "CHANGED content!", mtime: (1_500_000_000, 2))
        rewrite("touched.txt", "touched v2", mtime: (1_600_000_000, 3))

        // cp -al style keys (no ctime): the sneaky change is not seen, by design.
        var a = options()
        a.append = BytePath(out + ".001")
        a.name = Array("tue".utf8)
        a.filesCache = [.size, .mtime, .inode]
        let tue = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(out), options: a).run()
        XCTAssertEqual(tue.filesReused, 2, "same.txt and sneaky.txt")
        let reader = try ArchiveReader(path: out + ".001")
        func content(_ path: String) throws -> String {
            let inode = try XCTUnwrap(reader.index.resolve(path: path))
            var bytes = [UInt8](repeating: 0, count: Int(reader.index.inodes[inode].size))
            _ = try bytes.withUnsafeMutableBytes { try reader.read(inode: inode, offset: 0, count: $0.count, into: $0.baseAddress!) }
            return String(decoding: bytes, as: UTF8.self)
        }
        XCTAssertEqual(try content("tue/sneaky.txt"), "original content", "reused unread: the documented trade-off")
        XCTAssertEqual(try content("tue/touched.txt"), "touched v2", "a changed mtime is read again")

        // The default keys include ctime, which the rewrite moved: read again.
        a.name = Array("wed".utf8)
        a.filesCache = .all
        let wed = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(out), options: a).run()
        XCTAssertEqual(wed.filesReused, 3, "tue's stamps are the files as they are now")
        a.name = Array("thu".utf8)
        a.reread = true
        XCTAssertEqual(try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(out), options: a).run().filesReused, 0)
        let again = try ArchiveReader(path: out + ".001")
        XCTAssertEqual(again.index.versions.count, 4)
        let dest = temp("cache-dest")
        XCTAssertEqual(try Extractor(reader: again, destination: dest).run().failures, [])
        XCTAssertEqual(try String(contentsOfFile: dest + "/thu/sneaky.txt", encoding: .utf8), "CHANGED content!")
        XCTAssertEqual(try String(contentsOfFile: dest + "/mon/sneaky.txt", encoding: .utf8), "original content")
        // A reused file keeps what the scan saw of it: its attributes are this version's.
        var value = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(lgetxattr(dest + "/wed/same.txt", "user.kept", &value, 8), 3)
        let diff = TreeSnapshot(src.root).differences(from: TreeSnapshot(dest + "/thu"))
        XCTAssertTrue(diff.isEmpty, diff.joined(separator: "\n"))
    }

    /// The default keys: the same in-place rewrite with times set back is
    /// seen through the ctime it moved.
    func testDefaultKeysSeeARewriteThroughItsCtime() throws {
        let src = TreeFixture(root: temp("ctime-src") + "/data")
        src.dir("")
        src.file("sneaky.txt", Array("original content".utf8), mtime: (1_500_000_000, 2))
        let out = temp("ctime-out") + "/arc"
        var o = options()
        o.name = Array("mon".utf8)
        _ = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(out), options: o).run()
        var st = stat()
        stat(src.path("sneaky.txt"), &st)
        let before = st.st_ctim
        // Until the clock has moved on, a rewrite could keep the ctime.
        while true {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME_COARSE, &now)
            if (now.tv_sec, now.tv_nsec) > (before.tv_sec, before.tv_nsec) { break }
            sched_yield()
        }
        let fd = open(src.path("sneaky.txt"), O_WRONLY)
        _ = "CHANGED content!".withCString { pwrite(fd, $0, 16, 0) }
        var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 2), timespec(tv_sec: 1_500_000_000, tv_nsec: 2)]
        futimens(fd, &times)
        close(fd)
        var a = options()
        a.append = BytePath(out + ".001")
        a.name = Array("tue".utf8)
        XCTAssertEqual(try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(out), options: a).run().filesReused, 0)
        let dest = temp("ctime-dest")
        XCTAssertEqual(try Extractor(reader: try ArchiveReader(path: out + ".001"), destination: dest).run().failures, [])
        XCTAssertEqual(try String(contentsOfFile: dest + "/tue/sneaky.txt", encoding: .utf8), "CHANGED content!")
    }

    /// An append that fails before its index leaves the archive as it was:
    /// same versions, same bytes, the same index copy; the next append goes
    /// through.
    func testInterruptedAppendLeavesThePreviousState() throws {
        let work = temp("interrupt-work")
        let out = temp("interrupt-out") + "/arc"
        var o = options()
        o.name = Array("day0".utf8)
        let s0 = snapshot(0, in: work)
        _ = try ArchiveBuilder(sources: [BytePath(s0)], output: BytePath(out), options: o).run()
        let before = sizes(out)
        let copyBefore = FileManager.default.contents(atPath: out + ".idx")
        struct Stop: Error {}

        // A new volume per frame or two: the append writes several.
        let big = TreeFixture(root: work + "/big")
        big.dir("")
        for k in 0..<6 { big.file("r\(k).bin", TreeFixture.random(40_000, seed: UInt64(50 + k))) }
        var a = options()
        a.append = BytePath(out + ".001")
        a.name = Array("day1".utf8)
        a.beforeIndex = { throw Stop() }
        XCTAssertThrowsError(try ArchiveBuilder(sources: [BytePath(big.root)], output: BytePath(out), options: a).run())
        XCTAssertEqual(sizes(out), before, "nothing is left of an append stopped before its index")
        try versionsRestored(out + ".001", [("day0", s0)])

        XCTAssertEqual(FileManager.default.contents(atPath: out + ".idx"), copyBefore)

        // The next append goes through. (Kills at every step of a commit:
        // CommitTests.)
        a.beforeIndex = nil
        let stats = try ArchiveBuilder(sources: [BytePath(big.root)], output: BytePath(out), options: a).run()
        XCTAssertEqual(stats.warnings, [])
        try versionsRestored(out + ".001", [("day0", s0), ("day1", big.root)])
    }

    /// Archives that cannot take an append are refused before anything is
    /// written, each with what to do.
    func testAppendsAreRefusedWhereTheyCannotBeMade() throws {
        let src = TreeFixture(root: temp("refuse-src") + "/data")
        src.dir("")
        for k in 0..<8 { src.file("f\(k).bin", TreeFixture.random(30_000, seed: UInt64(k))) }
        var a = options()
        func refused(_ out: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
            a.append = BytePath(out + ".001")
            a.name = Array("next".utf8)
            let before = sizes(out)
            XCTAssertThrowsError(try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(out), options: a).run(),
                                 file: file, line: line) {
                XCTAssertTrue("\($0)".contains(text), "\($0)", file: file, line: line)
            }
            XCTAssertEqual(sizes(out), before, file: file, line: line)
        }
        // One SRC at the root: no place for a version.
        let plain = temp("refuse-plain") + "/arc"
        _ = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(plain), options: options()).run()
        refused(plain, "gpuarc-build --name NAME SRC OUT")

        var o = options()
        o.name = Array("first".utf8)
        // A volume truncated.
        let cut = temp("refuse-cut") + "/arc"
        _ = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(cut), options: o).run()
        XCTAssertEqual(truncate(cut + ".002", 1000), 0)
        refused(cut, "Repair it first")
        // The index damaged (the copy would be read instead).
        let damaged = temp("refuse-index") + "/arc"
        _ = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(damaged), options: o).run()
        let last = VolumeNaming.path(base: BytePath(damaged), number: VolumeNaming.existingVolumeNumbers(base: BytePath(damaged)).last!).description
        var st = stat()
        stat(last, &st)
        ArchiveDamage.flipByte(last, at: Int(st.st_size) - Footer.size - 2)
        refused(damaged, "damaged")
        // An archive in index format 4 (as the release before format 5 wrote it).
        let old = temp("refuse-v4") + "/arc"
        _ = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(old), options: options()).run()
        try replaceIndex(of: old) { try Zlib.compress(IndexCodec.encode($0, version: 4)) }
        XCTAssertEqual(try ArchiveReader(path: old + ".001").index.formatVersion, 4)
        refused(old, "index format 4, and appends need format 5 or later")
        // Another build holds the lock.
        let locked = temp("refuse-lock") + "/arc"
        _ = try ArchiveBuilder(sources: [BytePath(src.root)], output: BytePath(locked), options: o).run()
        let holder = try ArchiveLock(base: BytePath(locked))
        refused(locked, "another gpuarc-build, append or repair is writing")
        holder.release()
    }

    /// Tier 2 and 3 entries live for their windows of versions across runs
    /// as within one: after each append the loose tiers hold only the
    /// chunks of the last `window` versions, tier 1 those of all.
    func testTierWindowsExpireAcrossRuns() throws {
        let work = temp("tiers-work")
        let out = temp("tiers-out") + "/arc"
        var o = options()
        o.deltas = true
        o.similarity.index = SimilarityIndexOptions(enabledTiers: 3, tier2Window: 3, tier3Window: 2)
        o.name = Array("v0".utf8)
        func version(_ v: Int) -> String {
            let f = TreeFixture(root: work + "/v\(v)")
            f.dir("")
            f.file("own.bin", TreeFixture.random(64_000, seed: UInt64(1000 + v)))   // chunks no other version has
            return f.root
        }
        var stats = try ArchiveBuilder(sources: [BytePath(version(0))], output: BytePath(out), options: o).run()
        var chunksPerVersion = [stats.similarity.literalChunks]
        for v in 1...5 {
            var a = o
            a.append = BytePath(out + ".001")
            a.name = Array("v\(v)".utf8)
            stats = try ArchiveBuilder(sources: [BytePath(version(v))], output: BytePath(out), options: a).run()
            chunksPerVersion.append(stats.similarity.literalChunks)
            let entries = stats.similarity.indexEntries
            let all = chunksPerVersion.reduce(0, +)
            let last3 = chunksPerVersion.suffix(3).reduce(0, +), last2 = chunksPerVersion.suffix(2).reduce(0, +)
            XCTAssertEqual(entries[0], 3 * all, "tier 1 keeps every version (v\(v))")
            XCTAssertEqual(entries[1], 4 * last3, "tier 2: the last 3 versions (v\(v))")
            XCTAssertEqual(entries[2], 6 * last2, "tier 3: the last 2 versions (v\(v))")
            XCTAssertEqual(stats.similarity.seededChunks, all - chunksPerVersion.last!)
        }
    }
}
