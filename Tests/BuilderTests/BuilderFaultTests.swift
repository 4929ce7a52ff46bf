import XCTest
import Glibc
@testable import Archive
@testable import Builder

/// The builder when its sources or its output misbehave: source files replaced
/// by things that cannot be archived, a full disk, a read-only output. Each
/// ends in a clear message and never in an archive that looks complete but is not.
final class BuilderFaultTests: ScratchTestCase {
    var mounts: [String] = []
    override func tearDown() {
        for m in mounts { umount(m) }
        mounts = []
        super.tearDown()
    }

    /// A small tmpfs (needs root and mount rights; skipped with the reason otherwise).
    func tmpfs(size: String, readOnly: Bool = false) throws -> String {
        let dir = temp("tmpfs")
        guard mount("tmpfs", dir, "tmpfs", readOnly ? UInt(MS_RDONLY) : 0, "size=\(size)") == 0 else {
            throw ArchiveError(.io, "cannot mount a tmpfs here (\(posixErrorText(errno))): these tests need root to make a full or read-only disk")
        }
        mounts.append(dir)
        return dir
    }

    /// Sources replaced between scan and packing by a FIFO (whose plain open
    /// would block forever), a device that reads endlessly, a directory and a
    /// symlink: each is warned about and left out; the build neither hangs nor
    /// stores wrong content, and the archive holds the rest exactly.
    func testSourcesReplacedByNonFilesAreWarnedNotReadAndDoNotHang() throws {
        let f = TreeFixture(root: temp("src"))
        for name in ["keep", "fifo", "device", "dir", "symlink"] { f.file(name, TreeFixture.text(4000, seed: UInt64(name.count))) }
        let out = temp("out") + "/arc"
        var options = BuildOptions()
        options.beforePacking = {
            unlink(f.path("fifo")); mkfifo(f.path("fifo"), 0o644)
            unlink(f.path("device")); mknod(f.path("device"), S_IFCHR | 0o644, 0x105)   // 1:5, /dev/zero
            unlink(f.path("dir")); mkdir(f.path("dir"), 0o755)
            unlink(f.path("symlink")); symlink("keep", f.path("symlink"))
        }
        let done = DispatchSemaphore(value: 0)
        let frozen = options
        nonisolated(unsafe) var result: Result<BuildStats, Error>?
        Thread.detachNewThread {
            result = Result { try ArchiveBuilder(sources: [f.root], output: out, options: frozen).run() }
            done.signal()
        }
        if done.wait(timeout: .now() + 60) == .timedOut {
            // Unblock a reader stuck in open() of the FIFO so the suite can go on.
            let w = open(f.path("fifo"), O_WRONLY | O_NONBLOCK)
            if w >= 0 { close(w) }
            done.wait()
            XCTFail("the build hung on a source replaced by a FIFO")
        }
        let stats = try XCTUnwrap(result).get()
        for name in ["fifo", "device", "dir", "symlink"] {
            XCTAssertTrue(stats.warnings.contains { $0.contains(f.path(name)) && $0.contains("not archived") }, "\(name): \(stats.warnings)")
        }
        XCTAssertEqual(stats.warnings.count, 4, "\(stats.warnings)")
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertEqual(ArchiveDamage.readAll(reader, source: f.root), [:])
        XCTAssertNotNil(reader.index.resolve(path: "keep"))
        for name in ["fifo", "device", "dir", "symlink"] { XCTAssertNil(reader.index.resolve(path: name), name) }
    }

    /// Three identical files, two of which vanish after dedup: whichever was
    /// the original, the surviving copy is archived (a regression: it used to be
    /// dropped as "a copy of a file that could not be archived").
    /// (With the files read on the packer thread and read ahead by the chunk preparer.)
    func testACopyOfAVanishedOriginalIsStillArchived() throws {
        for ahead in [false, true] { try copyOfVanishedOriginal(analyzeAhead: ahead) }
    }

    private func copyOfVanishedOriginal(analyzeAhead: Bool) throws {
        let f = TreeFixture(root: temp("src"))
        for name in ["x", "y", "z"] { f.file(name, TreeFixture.text(5000, seed: 7)) }
        let out = temp("out") + "/arc"
        var options = BuildOptions()
        options.analyzeAhead = analyzeAhead
        options.beforePacking = { unlink(f.path("x")); unlink(f.path("y")) }
        let stats = try ArchiveBuilder(sources: [f.root], output: out, options: options).run()
        XCTAssertEqual(stats.warnings.count, 2, "\(stats.warnings)")
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertNil(reader.index.resolve(path: "x"))
        XCTAssertNil(reader.index.resolve(path: "y"))
        XCTAssertNotNil(reader.index.resolve(path: "z"))
        XCTAssertEqual(ArchiveDamage.readAll(reader, source: f.root), [:])
    }

    /// Builds into a 256 KiB tmpfs with sources of sizes around its capacity, so
    /// the disk fills while writing frames, starting a volume, writing the index
    /// or the footer. Each build either succeeds with an archive that reads back
    /// exactly, or fails naming the volume and the cause, leaving no file behind.
    func testFullDiskFailsCleanlyWhereverItFills() throws {
        let disk = try tmpfs(size: "256k")
        var failures = 0, successes = 0
        for kib in stride(from: 160, through: 280, by: 8) {
            let f = TreeFixture(root: temp("src"))
            f.file("random.bin", TreeFixture.random(kib << 10, seed: UInt64(kib)))
            f.file("text.txt", TreeFixture.text(16 << 10, seed: UInt64(kib)))
            var options = BuildOptions()
            options.frameSize = 32 << 10
            options.volumeSize = 96 << 10
            options.threads = 1
            let out = disk + "/arc"
            do {
                _ = try ArchiveBuilder(sources: [f.root], output: out, options: options).run()
                successes += 1
                let reader = try ArchiveReader(path: out + ".001")
                XCTAssertEqual(ArchiveDamage.readAll(reader, source: f.root), [:], "\(kib) KiB")
            } catch {
                failures += 1
                XCTAssertTrue("\(error)".contains("No space left on device") && "\(error)".contains(out), "\(kib) KiB: \(error)")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk), [], "\(kib) KiB: leftovers after \(error)")
            }
            for name in try FileManager.default.contentsOfDirectory(atPath: disk) { unlink(disk + "/" + name) }
        }
        XCTAssertGreaterThan(failures, 0, "the disk never filled")
        XCTAssertGreaterThan(successes, 0, "no build fitted")
    }

    func testReadOnlyOutputIsRefusedBeforeAnyWork() throws {
        let disk = try tmpfs(size: "64k", readOnly: true)
        let f = TreeFixture(root: temp("src"))
        f.file("a", TreeFixture.text(1000, seed: 1))
        XCTAssertThrowsError(try ArchiveBuilder(sources: [f.root], output: disk + "/arc", options: BuildOptions()).run()) { error in
            XCTAssertTrue("\(error)".contains(disk) && "\(error)".contains("not writable"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk), [])
    }
}
