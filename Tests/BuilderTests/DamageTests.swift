import XCTest
import Glibc
@testable import Archive
@testable import Builder

/// Damaged volumes and failing sources: every case ends in a clear error that
/// names what is wrong, never in wrong bytes.
final class DamageTests: ScratchTestCase {

    func makeArchive(files: Int = 12) throws -> (String, String) {
        try ArchiveDamage.makeArchive(files: files, source: temp("src"), output: temp("out"))
    }

    func flipByte(_ path: String, at offset: Int) { ArchiveDamage.flipByte(path, at: offset) }

    func testFlippedPayloadByteGivesErrorNamingFrameAndVolume() throws {
        let (src, out) = try makeArchive()
        let reader0 = try ArchiveReader(path: out + ".001")
        let frame = reader0.index.frames.firstIndex { $0.volume == 1 }!
        let record = reader0.index.frames[frame]
        flipByte(out + ".002", at: Int(record.offset) + FrameHeader.size + Int(record.storedSize) / 2)

        let reader = try ArchiveReader(path: out + ".001", options: ReaderOptions(cacheBytes: 1 << 20))
        XCTAssertThrowsError(try reader.checkFrame(frame)) { error in
            XCTAssertTrue("\(error)".contains("frame \(frame)") && "\(error)".contains("arc.002"), "\(error)")
        }
        // Only the files that need that frame fail; the rest read back exactly.
        let bad = Set(reader.files(touching: [frame]))
        XCTAssertFalse(bad.isEmpty)
        let paths = reader.index.paths()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        for inode in reader.index.inodes.indices where reader.index.inodes[inode].kind == .regular {
            let expected = Array(FileManager.default.contents(atPath: src + "/" + paths[inode]!)!)
            do {
                let n = try buffer.withUnsafeMutableBytes { try reader.read(inode: inode, offset: 0, count: $0.count, into: $0.baseAddress!) }
                XCTAssertFalse(bad.contains(inode), "damaged file read without error")
                XCTAssertEqual(Array(buffer[0..<n]), expected)
            } catch {
                XCTAssertTrue(bad.contains(inode), "\(paths[inode]!) failed but does not touch the damaged frame: \(error)")
            }
        }
        // Extract restores every other file and names the damaged ones.
        let dest = temp("dest") + "/r"
        let report = try Extractor(reader: reader, destination: dest).run()
        XCTAssertEqual(report.failures.count, bad.count)
        XCTAssertEqual(report.files, 12 - bad.count)
    }

    func testFlippedFrameHeaderByteIsCaught() throws {
        let (_, out) = try makeArchive()
        let record = try ArchiveReader(path: out + ".001").index.frames[0]
        flipByte(out + ".001", at: Int(record.offset) + 14)
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertThrowsError(try reader.checkFrame(0)) { XCTAssertTrue("\($0)".contains("frame 0"), "\($0)") }
    }

    /// (Without the index copy, which ParityTests and FaultInjectionTests
    /// show standing in for a damaged index.)
    func testDamagedIndexOrFooterIsRefused() throws {
        let (_, out) = try makeArchive()
        unlink(out + ".idx")
        let last = try ArchiveReader(path: out + ".001").volumes.textPaths.last!
        var st = stat(); stat(last, &st)
        let size = Int(st.st_size)
        // A byte in the middle of the compressed index (not one near its end:
        // one there may hold only the padding bits of a deflate block, which
        // inflating ignores, so the index is still whole).
        let footer = try Data(contentsOf: URL(fileURLWithPath: last)).suffix(Footer.size).withUnsafeBytes {
            (offset: Int($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian),
             size: Int($0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian))
        }
        XCTAssertEqual(footer.offset + footer.size + Footer.size, size)
        flipByte(last, at: footer.offset + footer.size / 2)
        XCTAssertThrowsError(try ArchiveReader(path: out + ".001")) { XCTAssertTrue("\($0)".contains("index"), "\($0)") }
        flipByte(last, at: footer.offset + footer.size / 2)
        // The footer's magic.
        flipByte(last, at: size - 3)
        XCTAssertThrowsError(try ArchiveReader(path: out + ".001")) { XCTAssertTrue("\($0)".contains("footer"), "\($0)") }
        flipByte(last, at: size - 3)
        // The footer's offset.
        flipByte(last, at: size - Footer.size)
        XCTAssertThrowsError(try ArchiveReader(path: out + ".001"))
    }

    /// A volume before the last that is missing, truncated, swapped or foreign
    /// costs only the files stored in it (FaultInjectionTests covers more).
    func testMissingTruncatedSwappedAndForeignVolumes() throws {
        let (src, out) = try makeArchive()
        let v2 = out + ".002", v3 = out + ".003"
        let saved = try Data(contentsOf: URL(fileURLWithPath: v2))

        XCTAssertEqual(rename(v2, v2 + ".away"), 0)
        try ArchiveDamage.assertOnlyVolumeLost(out, volume: 1, source: src, mentioning: "missing")
        XCTAssertEqual(rename(v2 + ".away", v2), 0)

        XCTAssertEqual(truncate(v2, off_t(saved.count - 100)), 0)
        try ArchiveDamage.assertOnlyVolumeLost(out, volume: 1, source: src, mentioning: "truncated")
        try saved.write(to: URL(fileURLWithPath: v2))

        // Volume 2's bytes in place of volume 1.
        let v1Data = try Data(contentsOf: URL(fileURLWithPath: out + ".001"))
        try saved.write(to: URL(fileURLWithPath: out + ".001"))
        try ArchiveDamage.assertOnlyVolumeLost(out, volume: 0, source: src, mentioning: "arc.001")
        try v1Data.write(to: URL(fileURLWithPath: out + ".001"))

        // A volume of another archive with the same layout.
        let (_, other) = try makeArchive()
        let foreign = try Data(contentsOf: URL(fileURLWithPath: other + ".002"))
        try foreign.write(to: URL(fileURLWithPath: v2))
        try ArchiveDamage.assertOnlyVolumeLost(out, volume: 1, source: src, mentioning: "another archive")
        try saved.write(to: URL(fileURLWithPath: v2))
        XCTAssertNoThrow(try ArchiveReader(path: v3))
    }

    /// With the files read on the packer thread and read ahead by the chunk preparer.
    func testFilesThatVanishOrChangeDuringBuildAreWarnedAndTheRestArchived() throws {
        for ahead in [false, true] { try filesVanishOrChange(analyzeAhead: ahead) }
    }

    private func filesVanishOrChange(analyzeAhead: Bool) throws {
        let f = TreeFixture(root: temp("vanish"))
        f.file("keep.txt", TreeFixture.text(3000, seed: 1))
        f.file("vanish.txt", TreeFixture.text(3000, seed: 2))
        f.file("shrink.txt", TreeFixture.text(3000, seed: 3))
        f.file("grow.txt", TreeFixture.text(3000, seed: 4))
        let out = temp("out") + "/arc"
        var options = BuildOptions()
        options.frameSize = 16 << 10
        options.analyzeAhead = analyzeAhead
        options.beforePacking = {
            unlink(f.path("vanish.txt"))
            truncate(f.path("shrink.txt"), 1000)
            f.file("grow.txt", TreeFixture.text(5000, seed: 4))
        }
        let stats = try ArchiveBuilder(sources: [f.root], output: out, options: options).run()
        // A file that changed after the scan is stored as it is when read
        // (consistently, with its new size and times); one that is gone is
        // named in a warning.
        XCTAssertEqual(stats.warnings.count, 1, "\(stats.warnings)")
        XCTAssertTrue(stats.warnings.contains { $0.contains("vanish.txt") && $0.contains("vanished") })
        XCTAssertEqual(stats.filesReadAgain, 2)
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertNil(reader.index.resolve(path: "vanish.txt"))
        XCTAssertEqual(reader.index.inodes[reader.index.resolve(path: "shrink.txt")!].size, 1000)
        XCTAssertEqual(reader.index.inodes[reader.index.resolve(path: "grow.txt")!].size, 5000)
        XCTAssertEqual(reader.index.inodes[reader.index.resolve(path: "keep.txt")!].size, 3000)
        XCTAssertEqual(ArchiveDamage.readAll(reader, source: f.root), [:], "every stored file holds the bytes it has now")
    }

    func testUnwritableOutputFailsCleanly() throws {
        let f = TreeFixture(root: temp("src"))
        f.file("a", [1, 2, 3])
        XCTAssertThrowsError(try ArchiveBuilder(sources: [f.root], output: "/nonexistent-dir/arc", options: BuildOptions()).run()) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent-dir"), "\(error)")
        }
    }

    func testInterruptedBuildLeavesNothingThatLooksComplete() throws {
        let f = TreeFixture(root: temp("src"))
        for i in 0..<4 { f.file("f\(i)", TreeFixture.random(50_000, seed: UInt64(i))) }
        let outDir = temp("out")
        var options = BuildOptions()
        options.frameSize = 16 << 10
        options.volumeSize = 32 << 10
        // Make the second volume impossible to create: a directory in its way.
        XCTAssertEqual(mkdir(outDir + "/arc.002.partial", 0o755), 0)
        XCTAssertThrowsError(try ArchiveBuilder(sources: [f.root], output: outDir + "/arc", options: options).run()) { error in
            XCTAssertTrue("\(error)".contains("arc.002"), "\(error)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: outDir).filter { $0 != "arc.002.partial" }
        XCTAssertEqual(left, [], "leftovers: \(left)")
    }
}
