import XCTest
import Glibc
@testable import Archive
@testable import Builder

/// Systematic corruption of a multi-volume archive: a flipped byte in every
/// region kind, and volumes truncated, missing, extra, swapped or foreign.
/// Every case must end in an error naming what is wrong, and no read may ever
/// return bytes that differ from the source.
final class FaultInjectionTests: ScratchTestCase {

    func makeArchive() throws -> (String, String) {
        try ArchiveDamage.makeArchive(source: temp("src"), output: temp("out"))
    }

    /// Flips sampled bytes of every region in turn (restoring each before the
    /// next). Open-time regions of the last volume (its header, the index,
    /// the footer): with the index copy OUT.idx there, the archive opens from
    /// the copy, says so, and reads back exact but for the files of a last
    /// volume whose header is damaged; without the copy the open fails naming
    /// the volume. A frame region must make exactly that frame fail its
    /// check, exactly the files that need it fail to read, and every other
    /// file read back exact.
    func testFlippedByteInEveryRegionIsNamedAndNeverGivesWrongBytes() throws {
        let (src, out) = try makeArchive()
        let intact = try ArchiveReader(path: out + ".001")
        let regions = ArchiveDamage.regions(intact)
        var injected: [ArchiveDamage.RegionKind: Int] = [:]
        var harmless = 0
        for region in regions {
            for offset in ArchiveDamage.sample(region.range, interior: region.kind == .framePayload ? 4 : region.range.count) {
                ArchiveDamage.flipByte(region.volume, at: offset)
                defer { ArchiveDamage.flipByte(region.volume, at: offset) }
                injected[region.kind, default: 0] += 1
                let what = "\(region.kind) byte \(offset) of \(region.volume)"
                if region.kind == .volumeHeader, let v = intact.volumes.textPaths.firstIndex(of: region.volume), v < intact.volumes.textPaths.count - 1 {
                    // A volume before the last: only the files stored in it are lost.
                    try ArchiveDamage.assertOnlyVolumeLost(out, volume: v, source: src, mentioning: "")
                    continue
                }
                let reader: ArchiveReader
                do {
                    reader = try ArchiveReader(path: out + ".001", options: ReaderOptions(cacheBytes: 1 << 20, readAhead: false))
                } catch {
                    XCTFail("\(what): the open failed although the index copy is there: \(error)")
                    continue
                }
                if region.frame == nil && !reader.notices.isEmpty {
                    // Read from the copy: exact, but for what the last volume's own header holds.
                    XCTAssertTrue(reader.notices[0].contains("read its copy"), "\(what): \(reader.notices)")
                    // Every file read on a sample of the flips (each reads the whole archive).
                    if offset % 8 < 3 || region.kind != .index {
                        let lost = region.kind == .volumeHeader ? Set(reader.files(touching: Set(reader.index.frames.indices.filter {
                            Int(reader.index.frames[$0].volume) == reader.index.volumeSizes.count - 1 }))) : []
                        XCTAssertEqual(Set(ArchiveDamage.readAll(reader, source: src).keys), lost, what)
                    }
                    // Without the copy, the same damage refuses the archive, naming the volume.
                    let copy = out + ".idx", aside = out + ".idx.aside"
                    XCTAssertEqual(rename(copy, aside), 0)
                    defer { rename(aside, copy) }
                    XCTAssertThrowsError(try ArchiveReader(path: out + ".001"), what) { error in
                        let name = (region.volume as NSString).lastPathComponent
                        XCTAssertTrue("\(error)".contains(name), "\(what): error does not name the volume: \(error)")
                    }
                    continue
                }
                guard let frame = region.frame else {
                    // A flip zlib never reads (the padding bits of the last deflate byte)
                    // leaves the index intact, and it must then read exactly as before.
                    XCTAssertEqual(region.kind, .index, "\(what): damage not detected when opening")
                    XCTAssertEqual(reader.index.inodes, intact.index.inodes, what)
                    XCTAssertEqual(reader.index.chunks, intact.index.chunks, what)
                    XCTAssertEqual(ArchiveDamage.readAll(reader, source: src), [:], what)
                    harmless += 1
                    continue
                }
                var bad: [Int] = []
                for f in reader.index.frames.indices {
                    do { try reader.checkFrame(f) } catch {
                        bad.append(f)
                        XCTAssertTrue("\(error)".contains("frame \(f)") && "\(error)".contains(region.volume), "\(what): \(error)")
                    }
                }
                XCTAssertEqual(bad, [frame], what)
                let failed = ArchiveDamage.readAll(reader, source: src)
                XCTAssertEqual(Set(failed.keys), Set(reader.files(touching: [frame])), what)
            }
        }
        for kind in ArchiveDamage.RegionKind.allCases { XCTAssertGreaterThan(injected[kind, default: 0], 0, "\(kind) never hit") }
        print("fault injection: flipped bytes per region: \(injected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")); \(harmless) hit unused deflate padding bits")
    }

    /// Damage in three frames of different volumes: --verify reports each one
    /// (not just the first) and the files they hold; extract restores every
    /// other file exactly and names the ones it could not restore.
    func testVerifyListsEveryBadFrameAndExtractRestoresTheRest() throws {
        let (src, out) = try makeArchive()
        let intact = try ArchiveReader(path: out + ".001")
        var damaged: [Int] = []
        for volume in 0..<3 {
            let frame = intact.index.frames.lastIndex { $0.volume == volume }!
            let record = intact.index.frames[frame]
            ArchiveDamage.flipByte(intact.volumes.textPaths[volume], at: Int(record.offset) + FrameHeader.size + Int(record.storedSize) / 3)
            damaged.append(frame)
        }
        let verify = try runTool("gpuarc-extract", [out + ".001", "--verify", "--threads", "2"])
        XCTAssertEqual(verify.status, 1)
        for frame in damaged {
            let path = intact.volumes.textPaths[Int(intact.index.frames[frame].volume)]
            XCTAssertTrue(verify.err.contains("BAD frame \(frame) in volume \(path)"), verify.err)
        }
        XCTAssertTrue(verify.err.contains("\(damaged.count) of \(intact.index.frames.count) frames are damaged"), verify.err)

        let reader = try ArchiveReader(path: out + ".001")
        let lost = reader.files(touching: Set(damaged))
        let paths = reader.index.paths()
        for inode in lost { XCTAssertTrue(verify.err.contains("damaged file: \(paths[inode]!)"), verify.err) }

        let dest = temp("dest") + "/r"
        let extract = try runTool("gpuarc-extract", [out + ".001", dest])
        XCTAssertEqual(extract.status, 1)
        assertRestoredExceptLost(reader.index, lost: Set(lost), source: src, dest: dest, stderr: extract.err)
        XCTAssertTrue(extract.err.contains("\(lost.count) entries were NOT restored"), extract.err)
    }

    /// Every volume cut at lengths around its header and its end: a volume
    /// before the last loses only its own files; the last (the index) is refused.
    func testTruncatedVolumesAreNamed() throws {
        let (src, out) = try makeArchive()
        let intact = try ArchiveReader(path: out + ".001")
        let paths = intact.volumes.textPaths
        let framesEnd = Int(intact.index.volumeSizes.last!)
        for (v, path) in paths.enumerated() {
            let saved = try Data(contentsOf: URL(fileURLWithPath: path))
            for length in [0, 1, VolumeHeader.size - 1, VolumeHeader.size, saved.count / 2, saved.count - Footer.size, saved.count - 1] {
                XCTAssertEqual(truncate(path, off_t(length)), 0)
                if v == paths.count - 1 && length >= framesEnd {
                    // Only the index and footer cut: the copy stands in and nothing is lost.
                    let reader = try ArchiveReader(path: out + ".001")
                    XCTAssertTrue(reader.volumes.problems.isEmpty && !reader.notices.isEmpty, "\(path) cut to \(length)")
                    XCTAssertEqual(ArchiveDamage.readAll(reader, source: src), [:], "\(path) cut to \(length)")
                } else {
                    try ArchiveDamage.assertOnlyVolumeLost(out, volume: v, source: src, mentioning: "")
                }
                if v == paths.count - 1 {
                    // The last one cut: opened from the index copy above; without it, refused.
                    XCTAssertEqual(rename(out + ".idx", out + ".idx.away"), 0)
                    XCTAssertThrowsError(try ArchiveReader(path: out + ".001"), "\(path) cut to \(length)") { error in
                        XCTAssertTrue("\(error)".contains((path as NSString).lastPathComponent), "\(path) cut to \(length): \(error)")
                    }
                    XCTAssertEqual(rename(out + ".idx.away", out + ".idx"), 0)
                }
                try saved.write(to: URL(fileURLWithPath: path))
            }
        }
        XCTAssertNoThrow(try ArchiveReader(path: out + ".001"))
    }

    func testMissingLastVolumeExtraVolumesAndLaterSwapsAreNamed() throws {
        let (_, out) = try makeArchive()
        let paths = try ArchiveReader(path: out + ".001").volumes.textPaths
        let last = paths.last!, count = paths.count
        let extra = VolumeNaming.path(base: out, number: count + 1)

        // The last volume gone: the index comes from its copy, the volume is
        // named missing (its files fail); without the copy the archive is refused.
        XCTAssertEqual(rename(last, last + ".away"), 0)
        let withCopy = try ArchiveReader(path: out + ".001")
        XCTAssertTrue(withCopy.notices.contains { $0.contains("read its copy") }, "\(withCopy.notices)")
        XCTAssertEqual(withCopy.volumes.problems[count - 1]?.kind, .missingVolume)
        XCTAssertEqual(rename(out + ".idx", out + ".idx.away"), 0)
        XCTAssertThrowsError(try ArchiveReader(path: out + ".001")) { error in
            XCTAssertTrue("\(error)".contains("missing") || "\(error)".contains(VolumeNaming.path(base: out, number: count - 1)), "\(error)")
        }
        XCTAssertEqual(rename(out + ".idx.away", out + ".idx"), 0)
        XCTAssertEqual(rename(last + ".away", last), 0)

        // An extra volume after the last (a copy of the last, then junk): no
        // complete index lists it. Commits are atomic (CommitTests), so it is
        // not what an interrupted append leaves: the archive opens as the
        // newest readable index describes it and says that what the extra
        // volume holds cannot be read (readers exit non-zero), with the
        // index copy or without it.
        try FileManager.default.copyItem(atPath: last, toPath: extra)
        for _ in 0..<2 {
            let reader = try ArchiveReader(path: out + ".001")
            XCTAssertEqual(reader.leftoverVolumes.map(\.description), [extra])
            XCTAssertTrue(reader.lost?.contains(extra) == true, "\(reader.lost ?? "nothing lost")")
            XCTAssertEqual(reader.notices, [])
            XCTAssertEqual(reader.volumes.paths.count, count)
            try Data(TreeFixture.random(5000, seed: 9)).write(to: URL(fileURLWithPath: extra))
        }
        XCTAssertEqual(rename(out + ".idx", out + ".idx.away"), 0)
        let uncertain = try ArchiveReader(path: out + ".001")
        XCTAssertTrue(uncertain.lost?.contains(extra) == true, "\(uncertain.lost ?? "nothing lost")")
        XCTAssertEqual(rename(out + ".idx.away", out + ".idx"), 0)
        unlink(extra)

        // The last two swapped.
        let before = paths[count - 2]
        XCTAssertEqual(rename(before, before + ".tmp"), 0)
        XCTAssertEqual(rename(last, before), 0)
        XCTAssertEqual(rename(before + ".tmp", last), 0)
        // Opened from the index copy, with both volumes named (swapped, or not of the size it should be).
        let swapped = try ArchiveReader(path: out + ".001")
        for v in [count - 2, count - 1] {
            let problem = swapped.volumes.problems[v]?.description ?? ""
            XCTAssertTrue(problem.contains("swapped") || problem.contains("but the index expects") || problem.contains("truncated"),
                          "\(swapped.volumes.problems)")
        }
        XCTAssertEqual(rename(last, last + ".tmp"), 0)
        XCTAssertEqual(rename(before, last), 0)
        XCTAssertEqual(rename(last + ".tmp", before), 0)
        XCTAssertNoThrow(try ArchiveReader(path: out + ".001"))
    }

    /// Each volume in turn replaced by the same-numbered volume of another
    /// archive built from the same files (same sizes, different archive id):
    /// one before the last loses only its own files; a foreign last volume
    /// (another archive's index) is refused.
    func testEveryVolumeFromAnotherArchiveIsNamed() throws {
        let (src, out) = try makeArchive()
        let (_, other) = try makeArchive()
        let paths = try ArchiveReader(path: out + ".001").volumes.textPaths
        for (i, path) in paths.enumerated() {
            let saved = try Data(contentsOf: URL(fileURLWithPath: path))
            let foreign = VolumeNaming.path(base: other, number: i + 1)
            try Data(contentsOf: URL(fileURLWithPath: foreign)).write(to: URL(fileURLWithPath: path))
            // A foreign last volume too costs only its own files: the index copy stands in.
            try ArchiveDamage.assertOnlyVolumeLost(out, volume: i, source: src, mentioning: "another archive")
            if i == paths.count - 1 {
                XCTAssertEqual(rename(out + ".idx", out + ".idx.away"), 0)
                XCTAssertThrowsError(try ArchiveReader(path: out + ".001"), path) { error in
                    XCTAssertTrue("\(error)".contains("another archive") && "\(error)".contains(path), "\(path): \(error)")
                }
                XCTAssertEqual(rename(out + ".idx.away", out + ".idx"), 0)
            }
            try saved.write(to: URL(fileURLWithPath: path))
        }
    }

    /// A missing middle volume through the command line: --verify names it and
    /// every frame it held; extract restores every file stored elsewhere,
    /// byte-exact, and names each one it could not restore.
    func testMissingVolumeCommandLineRestoresEverythingElse() throws {
        let (src, out) = try makeArchive()
        let intact = try ArchiveReader(path: out + ".001")
        let missing = intact.volumes.textPaths[1]
        XCTAssertEqual(unlink(missing), 0)
        let lostFrames = Set(intact.index.frames.indices.filter { intact.index.frames[$0].volume == 1 })
        let lost = Set(intact.files(touching: lostFrames))

        let verify = try runTool("gpuarc-extract", [out + ".001", "--verify"])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.err.contains("volume \(missing) is missing"), verify.err)
        for frame in lostFrames { XCTAssertTrue(verify.err.contains("BAD frame \(frame) in volume \(missing)"), verify.err) }

        let dest = temp("dest") + "/r"
        let extract = try runTool("gpuarc-extract", [out + ".003", dest])
        XCTAssertEqual(extract.status, 1)
        XCTAssertTrue(extract.err.contains(missing), extract.err)
        assertRestoredExceptLost(intact.index, lost: lost, source: src, dest: dest, stderr: extract.err, lostMessage: ": not restored")
        XCTAssertTrue(extract.err.contains("\(lost.count) entries were NOT restored"), extract.err)
    }

    /// Every regular file of `index` is in `dest` byte for byte as in
    /// `source`, except the `lost` ones: those were not written, and stderr
    /// names each (followed by `lostMessage`).
    func assertRestoredExceptLost(_ index: ArchiveIndex, lost: Set<Int>, source: String, dest: String, stderr: String,
                                  lostMessage: String = "", file: StaticString = #filePath, line: UInt = #line) {
        let paths = index.paths()
        for inode in index.inodes.indices where index.inodes[inode].kind == .regular {
            let path = paths[inode]!
            let restored = FileManager.default.contents(atPath: dest + "/" + path)
            if lost.contains(inode) {
                XCTAssertNil(restored, "\(path) was written although its bytes are lost", file: file, line: line)
                XCTAssertTrue(stderr.contains(path + lostMessage), stderr, file: file, line: line)
            } else {
                XCTAssertEqual(restored, FileManager.default.contents(atPath: source + "/" + path), path, file: file, line: line)
            }
        }
    }
}
