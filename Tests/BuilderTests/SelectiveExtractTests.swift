import CSysCalls
import XCTest
import Glibc
@testable import Archive
@testable import Builder

/// `gpuarc-extract ARCHIVE DEST PATH...`: only the named entries (and what
/// is below them) are restored, at their place under DEST, with the
/// directories on the way and their attributes but none of their other
/// entries. Each restored tree is compared, entry by entry (bytes, mode,
/// owner, mtime, xattrs, hard links), with what the source holds under the
/// selection, and every entry outside it must be absent.
final class SelectiveExtractTests: ScratchTestCase {
    static let slash = UInt8(ascii: "/")
    /// `v2/d\xff` and `v2/docs/caf\xe9.txt`: names that are not UTF-8.
    static let latinDir: [UInt8] = Array("v2/d".utf8) + [0xFF]
    static let latinFile: [UInt8] = Array("v2/docs/caf".utf8) + [0xE9] + Array(".txt".utf8)

    // MARK: fixture

    func write(_ path: BytePath, _ bytes: [UInt8], mode: mode_t = 0o644, mtime: (Int, Int)? = nil) {
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        XCTAssertGreaterThanOrEqual(fd, 0, "create \(path)")
        bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        if let mtime { setTime(fd, mtime) }
        close(fd)
    }

    func makeDirectory(_ path: BytePath, mode: mode_t = 0o755) {
        XCTAssertEqual(path.withCString { mkdir($0, mode) }, 0, "mkdir \(path)")
        XCTAssertEqual(path.withCString { chmod($0, mode) }, 0)
    }

    func setTime(_ fd: Int32, _ mtime: (Int, Int)) {
        var times = [timespec(tv_sec: mtime.0, tv_nsec: mtime.1), timespec(tv_sec: mtime.0, tv_nsec: mtime.1)]
        XCTAssertEqual(futimens(fd, &times), 0)
    }

    func setTime(_ path: BytePath, _ mtime: (Int, Int)) {
        var times = [timespec(tv_sec: mtime.0, tv_nsec: mtime.1), timespec(tv_sec: mtime.0, tv_nsec: mtime.1)]
        XCTAssertEqual(path.withCString { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }, 0, "times of \(path)")
    }

    func setXattr(_ path: BytePath, _ name: String, _ value: [UInt8]) {
        XCTAssertEqual(path.withCString { lsetxattr($0, name, value, value.count, 0) }, 0, "\(name) on \(path): \(posixErrorText(errno))")
    }

    /// Three versions, v1, v2 and v3, built into one archive. v2 holds names
    /// that are not UTF-8, a symlink, a FIFO, extended attributes on files
    /// and directories, unusual modes and set mtimes on its directories, a
    /// pair of hard links (`v2/pair1` = `v2/docs/pair2`: both in v2, one
    /// each side of v2/docs) and a name (`v2/out-link.txt`) of an inode
    /// whose other name is `v1/shared.txt`. v3 holds random files only.
    func makeArchive(frameSize: Int = 16 << 10, volumeSize: Int = 1 << 30) throws -> (source: String, archive: String) {
        let base = BytePath(temp("select-src"))
        for v in ["v1", "v2", "v3"] { makeDirectory(base.appending(Array(v.utf8))) }
        func p(_ relative: [UInt8]) -> BytePath { base.appending(relative) }
        func p(_ relative: String) -> BytePath { base.appending(Array(relative.utf8)) }

        makeDirectory(p("v1/docs"))
        write(p("v1/docs/a.txt"), TreeFixture.text(3000, seed: 1))
        write(p("v1/docs/b.txt"), TreeFixture.text(4000, seed: 2), mtime: (1_500_000_000, 7))
        write(p("v1/shared.txt"), TreeFixture.text(5000, seed: 3))

        makeDirectory(p("v2/docs"), mode: 0o750)
        makeDirectory(p(Self.latinDir))
        write(p("v2/docs/a.txt"), TreeFixture.text(20_000, seed: 4) + TreeFixture.random(30_000, seed: 4), mode: 0o640,
              mtime: (1_650_000_000, 123_456_789))
        setXattr(p("v2/docs/a.txt"), "user.note", Array("a note".utf8))
        write(p(Self.latinFile), Array("latin-1 name\n".utf8))
        XCTAssertEqual(symlink("a.txt", p("v2/docs/link").description), 0)
        XCTAssertEqual(mkfifo(p("v2/docs/fifo").description, 0o640), 0)
        write(p(Self.latinDir + Array("/inner.txt".utf8)), TreeFixture.text(2000, seed: 5))
        write(p(Self.latinDir + [Self.slash, 0xE9]), Array("é in Latin-1\n".utf8), mode: 0o600)
        write(p("v2/pair1"), TreeFixture.text(6000, seed: 6))
        XCTAssertEqual(link(p("v2/pair1").description, p("v2/docs/pair2").description), 0)
        XCTAssertEqual(link(p("v1/shared.txt").description, p("v2/out-link.txt").description), 0)
        write(p("v2/top.txt"), TreeFixture.random(40_000, seed: 7), mode: 0o755)
        setXattr(p("v2/docs"), "user.dir", Array("on docs".utf8))
        setXattr(p("v2"), "user.version", [0, 2, 0xFF])
        setXattr(p("v2/docs/link"), "trusted.on-symlink", Array("t".utf8))

        for i in 0..<4 { write(p("v3/big\(i).bin"), TreeFixture.random(40_000 + i * 1000, seed: UInt64(10 + i))) }

        // Directory times last, deepest first, once nothing changes them.
        setTime(p(Self.latinDir), (1_600_000_000, 1))
        setTime(p("v2/docs"), (1_600_000_001, 2))
        setTime(p("v2/docs/link"), (1_600_000_002, 3))
        setTime(p("v2"), (1_600_000_003, 4))
        chmod(p("v2").description, 0o711)

        var options = BuildOptions()
        options.frameSize = frameSize
        options.volumeSize = volumeSize
        options.threads = 2
        let out = temp("select-out") + "/arc"
        let stats = try ArchiveBuilder(sources: ["v1", "v2", "v3"].map { p($0).description }, output: out, options: options).run()
        XCTAssertTrue(stats.warnings.isEmpty, "\(stats.warnings)")
        return (base.description, out)
    }

    // MARK: checks

    func components(_ path: [UInt8]) -> [[UInt8]] {
        path.split(separator: Self.slash).map(Array.init)
    }

    func componentOrder(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        components(a).lexicographicallyPrecedes(components(b)) { $0.lexicographicallyPrecedes($1) }
    }

    /// What DEST must hold after restoring `paths` (clean paths, from the
    /// root) of the archive of `source`: every entry at or below a path,
    /// the directories above one, nothing else. Names of one inode stay
    /// linked only among the restored names.
    func expected(_ source: String, _ paths: [[UInt8]]) -> [[UInt8]: TreeSnapshot.Entry] {
        let selected = paths.map(components)
        var out: [[UInt8]: TreeSnapshot.Entry] = [:]
        for (key, entry) in TreeSnapshot(source).entries where !key.isEmpty {
            let parts = components(key)
            if selected.contains(where: { parts.starts(with: $0) || ($0.starts(with: parts) && entry.type == S_IFDIR) }) {
                out[key] = entry
            }
        }
        var groups: [[UInt8]: [[UInt8]]] = [:]
        for (key, entry) in out { if let group = entry.linkGroup { groups[group, default: []].append(key) } }
        for members in groups.values {
            let sorted = members.sorted(by: componentOrder)
            for key in members { out[key]!.linkGroup = sorted.count > 1 ? sorted[0] : nil }
        }
        return out
    }

    /// DEST holds exactly what `expected` says (DEST's own entry aside).
    func assertRestored(_ dest: String, from source: String, selecting paths: [[UInt8]],
                        file: StaticString = #filePath, line: UInt = #line) {
        var actual = TreeSnapshot(dest).entries
        actual[[]] = nil
        let wanted = expected(source, paths)
        XCTAssertFalse(wanted.isEmpty, "the selection is empty in the source", file: file, line: line)
        var differences: [String] = []
        for key in Set(actual.keys).union(wanted.keys).sorted(by: componentOrder) {
            let name = Escaped.text(key)
            switch (wanted[key], actual[key]) {
            case (nil, _?): differences.append("restored although not selected: \(name)")
            case (_?, nil): differences.append("not restored: \(name)")
            case let (w?, a?) where w != a: differences.append("differs: \(name): \(a) instead of \(w)")
            default: break
            }
        }
        XCTAssertTrue(differences.isEmpty, differences.prefix(20).joined(separator: "\n"), file: file, line: line)
    }

    /// Restores `paths` through the library into `dest` (a new directory by default).
    func extract(_ archive: String, _ paths: [String], into dest: String? = nil) throws -> (dest: String, report: ExtractReport) {
        let reader = try ArchiveReader(path: archive + ".001", options: ReaderOptions(cacheBytes: 1 << 20))
        var options = ExtractOptions()
        options.paths = paths.map { Array($0.utf8) }
        let dest = dest ?? temp("select-dest") + "/r"
        return (dest, try Extractor(reader: reader, destination: dest, options: options).run())
    }

    func inode(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    /// The tools' directory first on PATH, Tests/Tools/treecmp.py as $TREECMP.
    func bash(_ script: String, in directory: String) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = Bundle.main.bundleURL.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        var tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while tools.path != "/" && !FileManager.default.fileExists(atPath: tools.path + "/Tests/Tools/treecmp.py") {
            tools = tools.deletingLastPathComponent()
        }
        env["TREECMP"] = tools.path + "/Tests/Tools/treecmp.py"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: killer)
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    // MARK: tests

    func testPathsAreNormalizedAndDotDotIsRefused() throws {
        XCTAssertEqual(try PathSelection.components(of: Array("/".utf8)), [])
        XCTAssertEqual(try PathSelection.components(of: Array(".".utf8)), [])
        XCTAssertEqual(try PathSelection.components(of: Array("./v2//docs/./a.txt/".utf8)), ["v2", "docs", "a.txt"].map { Array($0.utf8) })
        XCTAssertEqual(try PathSelection.components(of: [0x2F, 0xE9, 0x2F]), [[0xE9]])
        XCTAssertEqual(try PathSelection.components(of: Array("v2/..a/b..".utf8)), ["v2", "..a", "b.."].map { Array($0.utf8) })
        for bad in ["..", "v2/..", "v2/../v1", "./../x", ""] {
            XCTAssertThrowsError(try PathSelection.components(of: Array(bad.utf8)), bad) { error in
                XCTAssertEqual((error as? ArchiveError)?.kind, .usage, bad)
            }
        }
    }

    /// A whole version: everything in v2, its hard-link pair still one
    /// inode, the name whose other name is in v1 a file of its own, DEST's
    /// own attributes left alone, nothing of v1 or v3.
    func testRestoringAVersion() throws {
        let (source, archive) = try makeArchive()
        // DEST exists, with its own mode: a selection leaves it (a full
        // restore gives DEST the archive root's).
        let rootMode = try ArchiveReader(path: archive + ".001").index.inodes[ArchiveIndex.rootInode].mode & 0o7777
        XCTAssertNotEqual(rootMode, 0o700)
        let dest = temp("select-dest") + "/r"
        XCTAssertEqual(mkdir(dest, 0o700), 0)
        let (_, report) = try extract(archive, ["v2"], into: dest)
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.warnings, [])
        assertRestored(dest, from: source, selecting: [Array("v2".utf8)])
        XCTAssertEqual(report.hardLinks, 1)
        let pair1 = try XCTUnwrap(inode(dest + "/v2/pair1")), pair2 = try XCTUnwrap(inode(dest + "/v2/docs/pair2"))
        XCTAssertEqual(pair1.st_ino, pair2.st_ino)
        XCTAssertEqual(pair1.st_nlink, 2)
        let outside = try XCTUnwrap(inode(dest + "/v2/out-link.txt"))
        XCTAssertEqual(outside.st_nlink, 1)
        XCTAssertEqual(outside.st_size, 5000)
        XCTAssertEqual(try XCTUnwrap(inode(dest)).st_mode & 0o7777, 0o700, "DEST keeps its own mode")
    }

    /// A directory (spelled ./v2/docs/): its parent v2 is created with v2's
    /// mode, mtime and xattrs but none of v2's other entries; pair2, whose
    /// other name is outside, is a plain file.
    func testRestoringADirectory() throws {
        let (source, archive) = try makeArchive()
        let (dest, report) = try extract(archive, ["./v2/docs/"])
        XCTAssertEqual(report.failures, [])
        assertRestored(dest, from: source, selecting: [Array("v2/docs".utf8)])
        XCTAssertEqual(report.hardLinks, 0)
        XCTAssertEqual(try XCTUnwrap(inode(dest + "/v2/docs/pair2")).st_nlink, 1)
        XCTAssertEqual(try XCTUnwrap(inode(dest + "/v2")).st_mode & 0o7777, 0o711)
        var value = [UInt8](repeating: 0, count: 16)
        let n = lgetxattr(dest + "/v2", "user.version", &value, value.count)
        XCTAssertEqual(Array(value.prefix(max(n, 0))), [0, 2, 0xFF])
    }

    /// A single file (spelled /v2/docs/a.txt), then a symlink and a FIFO:
    /// each alone, with its parents, and nothing next to it.
    func testRestoringASingleFileASymlinkAndAFifo() throws {
        let (source, archive) = try makeArchive()
        let (dest, report) = try extract(archive, ["/v2/docs/a.txt"])
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.files, 1)
        XCTAssertEqual(report.directories, 2)
        assertRestored(dest, from: source, selecting: [Array("v2/docs/a.txt".utf8)])
        XCTAssertEqual(ArchiveDamage.readFile(BytePath(dest + "/v2/docs/a.txt")), ArchiveDamage.readFile(BytePath(source + "/v2/docs/a.txt")))

        let (linkDest, linkReport) = try extract(archive, ["v2/docs/link", "v2/docs/fifo"])
        XCTAssertEqual(linkReport.failures, [])
        XCTAssertEqual(linkReport.files, 0, "the symlink's target is not restored with it")
        assertRestored(linkDest, from: source, selecting: [Array("v2/docs/link".utf8), Array("v2/docs/fifo".utf8)])
    }

    /// A directory and entries inside it, and the same path twice: each
    /// entry once (without --force a second write would fail on the first),
    /// and --list shows each once too.
    func testOverlappingPathsRestoreEachEntryOnce() throws {
        let (source, archive) = try makeArchive()
        let paths = ["v2/docs", "v2/docs/a.txt", "v2/docs/", "/v2/docs/link", "v2/docs/pair2", "v1/docs/a.txt", "v1/docs/a.txt"]
        let (dest, report) = try extract(archive, paths)
        XCTAssertEqual(report.failures, [])
        assertRestored(dest, from: source, selecting: [Array("v2/docs".utf8), Array("v1/docs/a.txt".utf8)])
        // a.txt, caf\xe9.txt, pair2 in v2/docs; a.txt in v1/docs.
        XCTAssertEqual(report.files, 4)
        XCTAssertEqual(report.symlinks, 1)

        let index = try ArchiveReader(path: archive + ".001").index
        let lines = Listing.lines(index, selection: try PathSelection(index: index, paths: paths.map { Array($0.utf8) }))
        // mode, owner, size, date, time, path
        let listed = lines.map { String($0.split(separator: " ")[5]) }
        XCTAssertEqual(lines.count, 7, lines.joined(separator: "\n"))
        XCTAssertEqual(Set(listed).count, lines.count, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasSuffix(" v2/docs/") } && lines.contains { $0.hasSuffix(" v1/docs/a.txt") }, lines.joined(separator: "\n"))
        XCTAssertFalse(lines.contains { $0.hasSuffix(" v2/") || $0.contains("v2/top.txt") }, lines.joined(separator: "\n"))
    }

    /// Through the real binary, PATHs as bytes (bash $'\xff'): a directory
    /// and a file whose names are not UTF-8, restored as themselves and
    /// compared by the independent checker; --list with the same PATHs.
    func testNonUTF8PathsThroughTheCommandLine() throws {
        let (source, archive) = try makeArchive()
        let dir = temp("select-argv")
        try FileManager.default.createSymbolicLink(atPath: dir + "/src", withDestinationPath: source)
        let result = try bash("""
            set -e
            gpuarc-extract --decoder cpu "\(archive).001" dest $'v2/d\\xff' $'v2/docs/caf\\xe9.txt' > /dev/null
            python3 "$TREECMP" $'src/v2/d\\xff' $'dest/v2/d\\xff'
            cmp $'src/v2/docs/caf\\xe9.txt' $'dest/v2/docs/caf\\xe9.txt'
            gpuarc-extract "\(archive).001" --list $'/v2/d\\xff/' $'v2/docs/caf\\xe9.txt' > list.txt
            """, in: dir)
        XCTAssertEqual(result.status, 0, result.out + result.err)
        assertRestored(dir + "/dest", from: source, selecting: [Self.latinDir, Self.latinFile])
        let list = try String(contentsOfFile: dir + "/list.txt", encoding: .utf8)
        let lines = list.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, list)
        for suffix in [" v2/d\\377/", " v2/d\\377/inner.txt", " v2/d\\377/\\351", " v2/docs/caf\\351.txt"] {
            XCTAssertTrue(lines.contains { $0.hasSuffix(suffix) }, "\(suffix) in\n\(list)")
        }
    }

    /// PATHs not in the archive: every one named (escaped) before anything
    /// is written, the others restored, exit 1; with only missing PATHs,
    /// DEST is not even created.
    func testMissingPathsAreNamedAndTheOthersRestored() throws {
        let (source, archive) = try makeArchive()
        let dir = temp("select-missing")
        let result = try bash("""
            gpuarc-extract --decoder cpu "\(archive).001" dest v2/docs/a.txt nope/x v1/docs $'v2/no\\xe9' v2/docs/link/a.txt
            echo "status=$?"
            gpuarc-extract --decoder cpu "\(archive).001" none nope; echo "none=$?"
            test -e none || echo "none not created"
            gpuarc-extract "\(archive).001" --list v1/docs/b.txt nope; echo "list=$?"
            """, in: dir)
        XCTAssertTrue(result.out.contains("status=1") && result.out.contains("none=1") && result.out.contains("list=1"), result.out + result.err)
        XCTAssertTrue(result.out.contains("none not created") && result.err.contains("the PATH is not in the archive; nothing restored"),
                      result.out + result.err)
        for message in ["nope/x: not in the archive", "v2/no\\351: not in the archive", "v2/docs/link/a.txt: not in the archive",
                        "3 of 5 PATHs are not in the archive"] {
            XCTAssertTrue(result.err.contains(message), "\(message) in\n\(result.err)")
        }
        XCTAssertFalse(result.err.contains("entries were NOT restored"), result.err)
        assertRestored(dir + "/dest", from: source, selecting: [Array("v2/docs/a.txt".utf8), Array("v1/docs".utf8)])
        XCTAssertTrue(result.out.contains(" v1/docs/b.txt") && !result.out.contains("a.txt"), result.out)

        let (dest, report) = try extract(archive, ["v3/big0.bin", "v3/none"])
        XCTAssertEqual(report.missingPaths, [Array("v3/none".utf8)])
        XCTAssertEqual(report.failures, ["v3/none: not in the archive"])
        XCTAssertEqual(report.files, 1)
        assertRestored(dest, from: source, selecting: [Array("v3/big0.bin".utf8)])
    }

    /// A `..` in any PATH refuses the whole request, naming it, before DEST
    /// is created.
    func testDotDotIsRefusedBeforeAnythingIsWritten() throws {
        let (_, archive) = try makeArchive()
        let reader = try ArchiveReader(path: archive + ".001")
        var options = ExtractOptions()
        options.paths = [Array("v2".utf8), Array("v2/../v1".utf8)]
        let dest = temp("select-dots") + "/r"
        XCTAssertThrowsError(try Extractor(reader: reader, destination: dest, options: options).run()) { error in
            XCTAssertEqual((error as? ArchiveError)?.kind, .usage)
            XCTAssertTrue("\(error)".contains("v2/../v1") && "\(error)".contains("\"..\" is not allowed"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))

        let dir = temp("select-dots-cli")
        let result = try bash("""
            gpuarc-extract --decoder cpu "\(archive).001" dest v1 ../v2; echo "status=$?"
            test -e dest || echo "dest not created"
            """, in: dir)
        XCTAssertTrue(result.out.contains("status=1") && result.out.contains("dest not created"), result.out + result.err)
        XCTAssertTrue(result.err.contains("PATH ../v2: \"..\" is not allowed"), result.err)
    }

    /// The frames the regular files below `top` need, found through the
    /// reader's own damage map (which files each frame holds).
    func framesNeeded(_ reader: ArchiveReader, below top: String) throws -> [Int] {
        let index = reader.index
        var files = Set<Int>(), stack = [try XCTUnwrap(index.resolve(bytes: Array(top.utf8)))]
        while let dir = stack.popLast() {
            for i in index.entryRange(ofDirectory: dir) {
                let child = Int(index.entries[i].inode)
                if index.inodes[child].kind == .directory { stack.append(child) } else { files.insert(child) }
            }
        }
        return index.frames.indices.filter { !Set(reader.files(touching: [$0])).isDisjoint(with: files) }
    }

    /// Only the frames the selection's files need are decoded, each once,
    /// in storage order (the cache holds 4 of v3's 16 frames).
    func testOnlyTheFramesTheSelectionNeedsAreDecodedEachOnce() throws {
        let (source, archive) = try makeArchive()
        let reader = try ArchiveReader(path: archive + ".001", options: ReaderOptions(cacheBytes: 64 << 10, readAhead: false))
        let needed = try framesNeeded(reader, below: "v3")
        let neededBytes = needed.reduce(0) { $0 + Int(reader.index.frames[$1].decodedSize) }
        XCTAssertGreaterThan(neededBytes, 2 * reader.cacheBudget, "the selection must not fit the cache (storage order)")
        XCTAssertLessThan(needed.count, reader.index.frames.count)

        var options = ExtractOptions()
        options.paths = [Array("v3".utf8)]
        let dest = temp("select-frames") + "/r"
        let report = try Extractor(reader: reader, destination: dest, options: options).run()
        XCTAssertEqual(report.failures, [])
        assertRestored(dest, from: source, selecting: [Array("v3".utf8)])
        XCTAssertEqual(reader.cacheStatistics.misses, needed.count, "frames decoded: \(reader.cacheStatistics), needed: \(needed)")
    }

    /// Read-ahead decodes only frames the selection needs: v1's frames are
    /// not next to each other, and the frame after each is not read ahead
    /// (the cache holds them all, so each needed one is decoded once).
    func testReadAheadStaysWithinTheSelection() throws {
        let (source, archive) = try makeArchive()
        let reader = try ArchiveReader(path: archive + ".001", options: ReaderOptions(cacheBytes: 8 << 20, readAhead: true))
        let needed = try framesNeeded(reader, below: "v1")
        XCTAssertTrue(needed.contains { $0 + 1 < reader.index.frames.count && !needed.contains($0 + 1) }, "\(needed)")

        var options = ExtractOptions()
        options.paths = [Array("v1".utf8)]
        let dest = temp("select-ahead") + "/r"
        let report = try Extractor(reader: reader, destination: dest, options: options).run()
        XCTAssertEqual(report.failures, [])
        assertRestored(dest, from: source, selecting: [Array("v1".utf8)])
        usleep(300_000)   // a read-ahead still under way has counted by now
        XCTAssertEqual(reader.cacheStatistics.misses, needed.count, "frames decoded: \(reader.cacheStatistics), needed: \(needed)")

        // The choice itself: the next allowed frame, or the next frame when unrestricted.
        let tracker = ReadAheadTracker()
        XCTAssertEqual(tracker.frame(after: 3, count: 10), 4)
        XCTAssertNil(tracker.frame(after: 9, count: 10))
        tracker.setAllowed([2, 5, 9])
        XCTAssertEqual([0, 2, 3, 5, 8].map { tracker.frame(after: $0, count: 10) }, [2, 5, 5, 9, 9])
        XCTAssertNil(tracker.frame(after: 9, count: 10))
    }

    /// A multi-volume archive with one volume gone: a selection whose frames
    /// all lie in the other volumes restores exactly, exit 0 (the missing
    /// volume named as a warning); one that needs it fails, exit 1.
    func testASelectionInIntactVolumesRestoresWhileAnotherIsMissing() throws {
        let (source, archive) = try makeArchive(frameSize: 8 << 10, volumeSize: 32 << 10)
        let intact = try ArchiveReader(path: archive + ".001")
        let index = intact.index
        XCTAssertGreaterThan(intact.volumes.paths.count, 4)
        func volumes(_ top: String) throws -> Set<Int> {
            Set(try framesNeeded(intact, below: top).map { Int(index.frames[$0].volume) })
        }
        let v1 = try volumes("v1"), v3 = try volumes("v3")
        let last = intact.volumes.paths.count - 1
        let victim = try XCTUnwrap(v3.subtracting(v1).subtracting([0, last]).min(), "v1: \(v1), v3: \(v3)")
        let missing = intact.volumes.textPaths[victim]
        XCTAssertEqual(unlink(missing), 0)

        let dest = temp("select-volume") + "/r"
        let good = try runTool("gpuarc-extract", ["--decoder", "cpu", archive + ".001", dest, "v1"])
        XCTAssertEqual(good.status, 0, good.err)
        XCTAssertTrue(good.err.contains(missing), good.err)
        assertRestored(dest, from: source, selecting: [Array("v1".utf8)])

        let bad = try runTool("gpuarc-extract", ["--decoder", "cpu", archive + ".001", temp("select-volume") + "/r", "v3"])
        XCTAssertEqual(bad.status, 1, bad.err)
        XCTAssertTrue(bad.err.contains("entries were NOT restored"), bad.err)
    }
}
