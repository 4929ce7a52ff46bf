import CSysCalls
import Foundation
import Glibc
import XCTest
@testable import Archive
@testable import Builder

/// The capture model under attack: names that are not text, files changing
/// between the stages of a build and while they are read (driven by the
/// build's hooks at exact points, never by sleeps), directories swapped for
/// symlinks, hard links renamed over, extended attributes and ACLs, sparse
/// files, trees deeper than PATH_MAX. Each ends in an exact round trip
/// (bytes and metadata, names as bytes) or in a warning naming what was not
/// captured, and never in bytes or attributes a file never had.
final class CaptureTests: ScratchTestCase {
    @discardableResult
    func build(_ source: String, _ out: String, configure: (inout BuildOptions) -> Void = { _ in }) throws -> BuildStats {
        var options = BuildOptions()
        options.frameSize = 64 << 10
        options.threads = 2
        configure(&options)
        return try ArchiveBuilder(sources: [source], output: out, options: options).run()
    }

    func extract(_ out: String) throws -> String {
        let dest = temp("dest") + "/r"
        let report = try Extractor(reader: try ArchiveReader(path: out + ".001"), destination: dest).run()
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.warnings, [])
        return dest
    }

    /// `directoryTimes: false` where a test changed a directory after the scan
    /// listed it (the archive holds the time the listing had).
    func assertSameTree(_ a: String, _ b: String, directoryTimes: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
        let diff = TreeSnapshot(a, directoryTimes: directoryTimes).differences(from: TreeSnapshot(b, directoryTimes: directoryTimes))
        XCTAssertTrue(diff.isEmpty, "trees differ:\n" + diff.prefix(20).joined(separator: "\n"), file: file, line: line)
        XCTAssertFalse(TreeSnapshot(a).entries.isEmpty, file: file, line: line)
    }

    /// Creates `relative` (bytes, "/"-separated) under `root` with `bytes`.
    func write(_ root: String, _ relative: [UInt8], _ bytes: [UInt8], mode: mode_t = 0o644) {
        let path = BytePath(root).appending(relative)
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC, mode) }
        XCTAssertGreaterThanOrEqual(fd, 0, "create \(path)")
        bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        close(fd)
    }

    func mkdirBytes(_ root: String, _ relative: [UInt8]) {
        XCTAssertEqual(BytePath(root).appending(relative).withCString { mkdir($0, 0o755) }, 0)
    }

    /// Runs a build on its own thread so a test can act while it waits in a hook.
    func buildInBackground(_ source: String, _ out: String, options: BuildOptions) -> () -> Result<BuildStats, Error> {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<BuildStats, Error>?
        Thread.detachNewThread {
            result = Result { try ArchiveBuilder(sources: [source], output: out, options: options).run() }
            done.signal()
        }
        return {
            if done.wait(timeout: .now() + 120) == .timedOut { return .failure(ArchiveError(.io, "the build did not finish in 120 s")) }
            return result!
        }
    }

    // MARK: names

    /// Latin-1 names, a directory named 0xFF beside a real "d\u{FFFD}" one
    /// (which is what a lossy conversion turns it into), control characters
    /// and a backslash: every one archived as itself, with its own bytes.
    func testNamesThatAreNotUTF8RoundTripAsBytes() throws {
        let src = temp("names")
        mkdirBytes(src, Array("d".utf8) + [0xFF])
        mkdirBytes(src, Array("d\u{FFFD}".utf8))
        write(src, Array("caf".utf8) + [0xE9] + Array(".txt".utf8), Array("latin-1 name\n".utf8))
        write(src, Array("d".utf8) + [0xFF] + Array("/inner".utf8), Array("in the 0xFF directory".utf8))
        write(src, Array("d\u{FFFD}/inner".utf8), Array("in the U+FFFD directory".utf8))
        write(src, Array("tab\tnew\nline\\back".utf8), [1, 2, 3])
        XCTAssertEqual(symlink("caf\u{E9}", src + "/link"), 0)
        let out = temp("out") + "/arc"
        let stats = try build(src, out)
        XCTAssertEqual(stats.warnings, [])
        let index = try ArchiveReader(path: out + ".001").index
        XCTAssertNotNil(index.resolve(bytes: Array("d".utf8) + [0xFF] + Array("/inner".utf8)))
        XCTAssertNotEqual(index.resolve(bytes: Array("d".utf8) + [0xFF] + Array("/inner".utf8)),
                          index.resolve(bytes: Array("d\u{FFFD}/inner".utf8)), "two directories, two files")
        XCTAssertTrue(Listing.lines(index).contains { $0.hasSuffix(" caf\\351.txt") }, "listed as ls -b shows it")
        assertSameTree(src, try extract(out))
    }

    // MARK: files changing between stages

    /// `a` and `b` identical when dedup compares them, then `a` (the one
    /// whose bytes are stored for both) edited in place: `b` keeps its own
    /// bytes, `a` is stored as it is now. `b` edited instead (it is never read
    /// again): both hold the original bytes, `b` with the attributes it had
    /// when its bytes were compared, so its stored time says which version it is.
    func testAFileEditedAfterDedupNeverLendsItsNewBytesToItsCopy() throws {
        for edited in ["a", "b"] {
            let src = temp("dedup")
            let original = TreeFixture.text(3000, seed: 1)
            write(src, Array("a".utf8), original)
            write(src, Array("b".utf8), original)
            var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 1), timespec(tv_sec: 1_500_000_000, tv_nsec: 1)]
            utimensat(AT_FDCWD, src + "/b", &times, 0)
            let out = temp("out") + "/arc"
            let stats = try build(src, out) { options in
                options.beforePacking = {
                    let fd = open(src + "/" + edited, O_WRONLY)
                    _ = pwrite(fd, "EDITED", 6, 100)
                    close(fd)
                }
            }
            XCTAssertEqual(stats.warnings, [], edited)
            // a's bytes, held from the probe, serve only while a is as scanned.
            XCTAssertEqual(stats.filesHeld, edited == "a" ? 0 : 1, edited)
            let dest = try extract(out)
            var now = original
            now.replaceSubrange(100..<106, with: Array("EDITED".utf8))
            if edited == "a" {
                XCTAssertEqual(ArchiveDamage.readFile(BytePath(dest + "/a")), now, "a is stored as it is now")
                XCTAssertEqual(ArchiveDamage.readFile(BytePath(dest + "/b")), original, "b keeps the bytes it had")
                assertSameTree(src, dest)
            } else {
                XCTAssertEqual(ArchiveDamage.readFile(BytePath(dest + "/a")), original)
                XCTAssertEqual(ArchiveDamage.readFile(BytePath(dest + "/b")), original, "b as it was compared")
                var st = stat()
                stat(dest + "/b", &st)
                XCTAssertEqual(st.st_mtim.tv_sec, 1_500_000_000, "with the time of those bytes, not of the edit")
            }
        }
    }

    /// A file changed while it is read (between the read and the check) is
    /// read again and stored consistently; one that changes at every read is
    /// left out with a warning that says so, its copies stored on their own.
    func testFilesChangingWhileReadAreReadAgainOrReported() throws {
        for ahead in [false, true] {
            let src = temp("reading")
            write(src, Array("once".utf8), TreeFixture.text(100_000, seed: 2))
            write(src, Array("always".utf8), TreeFixture.text(50_000, seed: 3))
            write(src, Array("copy-of-always".utf8), TreeFixture.text(50_000, seed: 3))
            write(src, Array("steady".utf8), TreeFixture.text(30_000, seed: 4))
            let out = temp("out") + "/arc"
            let counter = NSLock()
            nonisolated(unsafe) var onceEdits = 0
            let stats = try build(src, out) { options in
                options.analyzeAhead = ahead
                // "always" changes at every read, dedup's too: its probe is
                // refused, so none of its bytes are held for storage.
                options.afterSourceRead = { purpose, path in
                    counter.lock(); defer { counter.unlock() }
                    if purpose == .store && path == Array("once".utf8) && onceEdits == 0 {
                        onceEdits += 1
                        let fd = open(src + "/once", O_WRONLY | O_APPEND)
                        _ = Glibc.write(fd, "appended while read\n", 20)
                        close(fd)
                    }
                    if path == Array("always".utf8) {
                        let fd = open(src + "/always", O_WRONLY | O_APPEND)
                        _ = Glibc.write(fd, "x", 1)
                        close(fd)
                    }
                }
            }
            XCTAssertEqual(stats.warnings.count, 1, "\(stats.warnings)")
            XCTAssertTrue(stats.warnings[0].contains("always") && stats.warnings[0].contains("changed while being read"), stats.warnings[0])
            XCTAssertGreaterThanOrEqual(stats.filesReadAgain, 1)
            let reader = try ArchiveReader(path: out + ".001")
            XCTAssertNil(reader.index.resolve(path: "always"))
            unlink(src + "/always")
            assertSameTree(src, try extract(out), directoryTimes: false)
        }
    }

    /// A 0644 file replaced (renamed over) by a 0600 one of the same size
    /// after the scan: stored with the new bytes and the new mode, never the
    /// secret bytes with the old, open mode.
    func testAReplacedFileIsStoredWithItsOwnAttributes() throws {
        let src = temp("replace")
        write(src, Array("report".utf8), Array(repeating: 0x41, count: 4096), mode: 0o644)
        let out = temp("out") + "/arc"
        try build(src, out) { options in
            options.beforePacking = {
                let fd = open(src + "/.new", O_WRONLY | O_CREAT, 0o600)
                _ = Glibc.write(fd, [UInt8](repeating: 0x53, count: 4096), 4096)
                close(fd)
                rename(src + "/.new", src + "/report")
            }
        }
        let index = try ArchiveReader(path: out + ".001").index
        let inode = try XCTUnwrap(index.resolve(path: "report"))
        XCTAssertEqual(index.inodes[inode].mode & 0o7777, 0o600, "the mode of the bytes stored")
        assertSameTree(src, try extract(out), directoryTimes: false)
    }

    /// Hard links x and y. A new file renamed over y during the build: x and
    /// y are stored as the scan saw them (one inode, its bytes). Renamed over
    /// x, the name captured: x is stored as the new file, y keeps the old
    /// bytes; neither gets bytes it never had, and neither is left out.
    func testAHardLinkRenamedOverDuringTheBuild() throws {
        for victim in ["y", "x"] {
            let src = temp("links")
            let old = TreeFixture.text(10_000, seed: 5)
            write(src, Array("x".utf8), old)
            XCTAssertEqual(link(src + "/x", src + "/y"), 0)
            let new = TreeFixture.text(12_000, seed: 6)
            let out = temp("out") + "/arc"
            let stats = try build(src, out) { options in
                options.beforePacking = {
                    let fd = open(src + "/.new", O_WRONLY | O_CREAT, 0o644)
                    _ = new.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    close(fd)
                    rename(src + "/.new", src + "/" + victim)
                }
            }
            XCTAssertEqual(stats.warnings, [], victim)
            let dest = try extract(out)
            let other = victim == "x" ? "y" : "x"
            XCTAssertEqual(ArchiveDamage.readFile(BytePath(dest + "/" + other)), old, "\(victim) replaced: \(other) keeps its bytes")
            let stored = ArchiveDamage.readFile(BytePath(dest + "/" + victim))
            XCTAssertTrue(stored == old || stored == new, "\(victim) holds bytes it had at some point")
            if victim == "x" { assertSameTree(src, dest, directoryTimes: false) }
        }
    }

    /// A directory swapped for a symlink to a directory outside SRC after
    /// the scan: nothing is read from outside. Its files are left out with a
    /// warning, and the secret they would have read is not in the archive.
    /// (Both ways a file is opened: one openat2 below the SRC, and from its
    /// directory's descriptor, which a path longer than PATH_MAX takes.)
    func testADirectorySwappedForASymlinkNeverReadsOutsideTheSource() throws {
        defer { SourceFiles.useOpenat2 = true }
        for openat2 in [true, false] {
            SourceFiles.useOpenat2 = openat2
            try swappedDirectory()
        }
    }

    /// The same with the directory swapped for another directory (renamed
    /// away, a new one with a file of the same name and size put in its
    /// place): that file is not taken for the one scanned.
    func testADirectorySwappedForAnotherIsNotReadAsTheOneScanned() throws {
        defer { SourceFiles.useOpenat2 = true }
        for openat2 in [true, false] {
            SourceFiles.useOpenat2 = openat2
            let src = temp("swap-dir")
            mkdirBytes(src, Array("d".utf8))
            write(src, Array("d/f".utf8), Array("original".utf8))
            let out = temp("out") + "/arc"
            let stats = try build(src, out) { options in
                options.beforePacking = {
                    rename(src + "/d", src + "/d.old")
                    mkdir(src + "/d", 0o755)
                    let fd = open(src + "/d/f", O_WRONLY | O_CREAT, 0o644)
                    _ = Glibc.write(fd, "imposter", 8)
                    close(fd)
                }
            }
            let reader = try ArchiveReader(path: out + ".001")
            if let inode = reader.index.resolve(path: "d/f") {
                // Taken as it is now (a fresh capture of what is at that name), never as the scanned version.
                XCTAssertEqual(stats.filesReadAgain, 1, "openat2 \(openat2)")
                var bytes = [UInt8](repeating: 0, count: 8)
                _ = try reader.read(inode: inode, offset: 0, count: 8, into: &bytes)
                XCTAssertEqual(bytes, Array("imposter".utf8), "openat2 \(openat2)")
            } else {
                XCTAssertEqual(stats.warnings.count, 1, "openat2 \(openat2): \(stats.warnings)")
            }
        }
    }

    private func swappedDirectory() throws {
        let src = temp("swap"), outside = temp("outside")
        mkdirBytes(src, Array("d".utf8))
        write(src, Array("d/f".utf8), Array("inside\n".utf8))
        write(src, Array("keep".utf8), Array("kept\n".utf8))
        let secret = Array("SECRET outside the source\n".utf8) + TreeFixture.random(200, seed: 7)
        write(outside, Array("f".utf8), secret)
        let out = temp("out") + "/arc"
        let stats = try build(src, out) { options in
            options.beforePacking = {
                rename(src + "/d", src + "/d.moved")
                symlink(outside, src + "/d")
            }
        }
        XCTAssertEqual(stats.warnings.count, 1, "\(stats.warnings)")
        XCTAssertTrue(stats.warnings[0].contains("d/f") && stats.warnings[0].contains("replaced"), stats.warnings[0])
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertNil(reader.index.resolve(path: "d/f"))
        for volume in reader.volumes.paths {
            let bytes = ArchiveDamage.readFile(volume) ?? []
            XCTAssertNil(bytes.firstRange(of: secret.prefix(16)), "outside bytes in \(volume)")
        }
        XCTAssertEqual(ArchiveDamage.readAll(reader, source: src), [:])
    }

    // MARK: small files held from dedup

    /// Small files of a size another file shares are read whole by dedup's
    /// probe and stored from those bytes: each is read once, not twice.
    /// Copies are references and are not held. With room for only some, or
    /// for none, the rest are read again to be stored. Every way round, the
    /// archive is the tree, names as bytes and attributes included. (Stored
    /// on the packer's thread and by the chunk preparer.)
    func testSmallFilesTheProbeReadWholeAreNotReadAgainToBeStored() throws {
        for ahead in [false, true] {
            for limit in [HeldContents.limit, 6000, 0] {
                let src = temp("held")
                mkdirBytes(src, Array("sub".utf8))
                let distinct: [[UInt8]] = [Array("a".utf8), Array("b".utf8), Array("caf".utf8) + [0xE9], Array("sub/d".utf8)]
                for (i, name) in distinct.enumerated() {
                    write(src, name, TreeFixture.text(3000, seed: UInt64(10 + i)), mode: i == 1 ? 0o600 : 0o644)
                }
                write(src, Array("copy-of-a".utf8), TreeFixture.text(3000, seed: 10))
                write(src, Array("sub/copy-of-d".utf8), TreeFixture.text(3000, seed: 13), mode: 0o640)
                write(src, Array("lone".utf8), TreeFixture.text(5000, seed: 20))
                let out = temp("out") + "/arc"
                let lock = NSLock()
                nonisolated(unsafe) var stored: [[UInt8]] = []
                let stats = try build(src, out) { options in
                    options.analyzeAhead = ahead
                    options.heldBytes = limit
                    options.afterSourceRead = { purpose, path in
                        guard purpose == .store else { return }
                        lock.lock(); stored.append(path); lock.unlock()
                    }
                }
                let label = "ahead \(ahead), limit \(limit)"
                XCTAssertEqual(stats.duplicateFiles, 2, label)
                XCTAssertEqual(stats.warnings, [], label)
                XCTAssertEqual(stored.count, Set(stored).count, "no file read twice to be stored, \(label)")
                XCTAssertEqual(stored.count + stats.filesHeld, 5, "each distinct file either held or read: \(label)")
                switch limit {
                case HeldContents.limit:
                    XCTAssertEqual(stored, [Array("lone".utf8)], "only the file with a size of its own is read again, \(label)")
                case 0: XCTAssertEqual(stats.filesHeld, 0, label)
                default: XCTAssertLessThanOrEqual(stats.filesHeld, 2, "two fit, \(label)")
                }
                assertSameTree(src, try extract(out))
            }
        }
    }

    /// A held file changed after dedup (its stat no longer the scan's) is
    /// read again as it is then; one replaced by a symlink or removed is
    /// not archived from what was held, but reported.
    func testAHeldFileChangedSwappedOrGoneAfterDedupIsNotStoredFromWhatWasHeld() throws {
        for ahead in [false, true] {
            let src = temp("held-changed")
            for (i, name) in ["edited", "swapped", "gone", "steady"].enumerated() {
                write(src, Array(name.utf8), TreeFixture.text(4000, seed: UInt64(30 + i)))
            }
            let out = temp("out") + "/arc"
            let stats = try build(src, out) { options in
                options.analyzeAhead = ahead
                options.beforePacking = {
                    let fd = open(src + "/edited", O_WRONLY | O_APPEND)
                    _ = Glibc.write(fd, "more", 4)
                    close(fd)
                    unlink(src + "/swapped")
                    symlink("steady", src + "/swapped")
                    unlink(src + "/gone")
                }
            }
            XCTAssertEqual(stats.filesHeld, 1, "only steady, ahead \(ahead)")
            XCTAssertEqual(stats.filesReadAgain, 1, "edited, ahead \(ahead)")
            XCTAssertEqual(stats.warnings.count, 2, "\(stats.warnings)")
            XCTAssertTrue(stats.warnings.contains { $0.contains("gone") && $0.contains("vanished") }, "\(stats.warnings)")
            XCTAssertTrue(stats.warnings.contains { $0.contains("swapped") && $0.contains("symlink") }, "\(stats.warnings)")
            let reader = try ArchiveReader(path: out + ".001")
            XCTAssertNil(reader.index.resolve(path: "gone"))
            XCTAssertNil(reader.index.resolve(path: "swapped"))
            unlink(src + "/swapped")
            assertSameTree(src, try extract(out), directoryTimes: false)
        }
    }

    // MARK: output

    /// A second build to the same OUT while one runs fails at once, naming
    /// the other build; the first completes and its archive reads back.
    func testASecondBuildToTheSameOutputFailsAtOnce() throws {
        let src = temp("src")
        write(src, Array("a".utf8), TreeFixture.text(10_000, seed: 8))
        let out = temp("out") + "/arc"
        let inside = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0)
        var options = BuildOptions()
        options.beforePacking = { inside.signal(); proceed.wait() }
        let first = buildInBackground(src, out, options: options)
        inside.wait()
        XCTAssertThrowsError(try build(src, out)) { error in
            XCTAssertTrue("\(error)".contains("another gpuarc-build, append or repair is writing"), "\(error)")
        }
        proceed.signal()
        XCTAssertNoThrow(try first().get())
        assertSameTree(src, try extract(out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".lock"), "the lock goes with the build")
        XCTAssertNoThrow(try build(src, out), "and the next build runs")
    }

    /// Symlinks planted where the build writes (a temporary volume, the lock,
    /// a volume) are never followed: their targets outside OUT stay intact.
    func testPlantedSymlinksAtTheOutputAreNotFollowed() throws {
        let src = temp("src")
        write(src, Array("a".utf8), TreeFixture.text(10_000, seed: 9))
        let outDir = temp("out"), victims = temp("victims")
        let out = outDir + "/arc"
        for name in ["partial", "volume", "lock"] { write(victims, Array(name.utf8), Array("precious \(name)\n".utf8)) }
        XCTAssertEqual(symlink(victims + "/partial", out + ".001.partial"), 0)
        XCTAssertEqual(symlink(victims + "/volume", out + ".001"), 0)
        try build(src, out)
        for name in ["partial", "volume"] {
            XCTAssertEqual(ArchiveDamage.readFile(BytePath(victims + "/" + name)), Array("precious \(name)\n".utf8))
        }
        assertSameTree(src, try extract(out))
        XCTAssertEqual(symlink(victims + "/lock", out + ".lock"), 0)
        XCTAssertThrowsError(try build(src, out)) { error in
            XCTAssertTrue("\(error)".contains("symlink"), "\(error)")
        }
        XCTAssertEqual(ArchiveDamage.readFile(BytePath(victims + "/lock")), Array("precious lock\n".utf8))
    }

    // MARK: metadata

    /// User attributes with binary values, a long one, an access ACL on a
    /// file and a default ACL on a directory, trusted attributes on a symlink
    /// and a FIFO, a file capability: all restored (as root); --no-xattrs
    /// leaves them all out.
    func testExtendedAttributesAndACLsRoundTrip() throws {
        let src = temp("xattrs")
        write(src, Array("file".utf8), Array("with attributes\n".utf8))
        mkdirBytes(src, Array("dir".utf8))
        XCTAssertEqual(symlink("file", src + "/link"), 0)
        XCTAssertEqual(mkfifo(src + "/fifo", 0o644), 0)
        func set(_ path: String, _ name: String, _ value: [UInt8]) {
            XCTAssertEqual(lsetxattr(path, name, value, value.count, 0), 0, "\(name) on \(path): \(posixErrorText(errno))")
        }
        set(src + "/file", "user.binary", [0, 1, 2, 0xFF, 0])
        set(src + "/file", "user.long", TreeFixture.random(1500, seed: 10))
        // ACL user::rw- user:65534:r-- group::r-- mask::r-- other::r-- (the kernel's binary form).
        let acl: [UInt8] = [2, 0, 0, 0, 1, 0, 6, 0, 0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 4, 0, 0xFE, 0xFF, 0, 0,
                            4, 0, 4, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0, 4, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x20, 0, 4, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        set(src + "/file", "system.posix_acl_access", acl)
        set(src + "/dir", "system.posix_acl_default", acl)
        set(src + "/dir", "user.dir", Array("on a directory".utf8))
        set(src + "/link", "trusted.on-symlink", Array("t".utf8))
        set(src + "/fifo", "trusted.on-fifo", Array("f".utf8))
        set(src + "/file", "security.capability", [0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        let out = temp("out") + "/arc"
        let stats = try build(src, out)
        XCTAssertEqual(stats.entriesWithXattrs, 4)
        let index = try ArchiveReader(path: out + ".001").index
        XCTAssertEqual(index.xattrs(of: try XCTUnwrap(index.resolve(path: "file"))).count, 4)
        assertSameTree(src, try extract(out))

        let bare = temp("out") + "/bare"
        try build(src, bare) { $0.xattrs = false }
        XCTAssertTrue(try ArchiveReader(path: bare + ".001").index.xattrSets.isEmpty)
    }

    /// Sparse files: holes are not stored, extract puts the data where it
    /// was and leaves the holes unallocated; a file that is all hole, one
    /// with data at the very end, and two identical sparse files.
    func testSparseFilesKeepTheirHoles() throws {
        let src = temp("sparse")
        func sparse(_ name: String, size: off_t, data: [(off_t, [UInt8])]) {
            let fd = open(src + "/" + name, O_WRONLY | O_CREAT, 0o644)
            for (offset, bytes) in data { _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) } }
            ftruncate(fd, size)
            close(fd)
        }
        let chunk = TreeFixture.random(5000, seed: 11)
        sparse("image", size: 64 << 20, data: [(0, chunk), (20 << 20, chunk), ((64 << 20) - 10, Array(chunk.prefix(10)))])
        sparse("copy", size: 64 << 20, data: [(0, chunk), (20 << 20, chunk), ((64 << 20) - 10, Array(chunk.prefix(10)))])
        sparse("nothing", size: 16 << 30, data: [])
        write(src, Array("dense".utf8), TreeFixture.text(10_000, seed: 12))
        let out = temp("out") + "/arc"
        let stats = try build(src, out)
        XCTAssertEqual(stats.sparseFiles, 3)
        XCTAssertLessThan(stats.outputBytes, 200_000, "holes are not stored")
        let dest = try extract(out)
        assertSameTree(src, dest)
        var st = stat()
        XCTAssertEqual(stat(dest + "/nothing", &st), 0)
        XCTAssertLessThan(st.st_blocks, 64, "restored without allocating its holes")
    }

    /// A tree deeper than PATH_MAX (its paths are 6 KB long): the scan,
    /// the reads and extract all work relative to directory descriptors.
    func testATreeDeeperThanPathMax() throws {
        let src = temp("deep")
        let name = Array(repeating: UInt8(ascii: "d"), count: 40)
        var fd = open(src, O_RDONLY | O_DIRECTORY)
        for level in 0..<150 {
            XCTAssertEqual(BytePath.withCString(name) { mkdirat(fd, $0, 0o755) }, 0, "level \(level)")
            let next = BytePath.withCString(name) { openat(fd, $0, O_RDONLY | O_DIRECTORY) }
            if level % 50 == 0 {
                let file = openat(next, "file-at-\(level)", O_WRONLY | O_CREAT, 0o644)
                _ = Glibc.write(file, "level \(level)", 8)
                close(file)
            }
            close(fd)
            fd = next
        }
        let bottom = openat(fd, "bottom", O_WRONLY | O_CREAT, 0o644)
        _ = Glibc.write(bottom, "the bottom", 10)
        close(bottom)
        close(fd)
        let out = temp("out") + "/arc"
        let stats = try build(src, out)
        XCTAssertEqual(stats.warnings, [])
        XCTAssertEqual(stats.files, 4)
        let dest = try extract(out)
        assertSameTree(src, dest)
        XCTAssertEqual(TreeSnapshot(dest).entries.count, 150 + 4 + 1)
    }
}
