import Archive
@testable import Builder
import Foundation
import Glibc
import XCTest

/// Builds source trees on disk for round-trip tests and compares trees
/// entry by entry (type, mode, uid/gid, size, mtime to the nanosecond, symlink
/// target, bytes, and which names share an inode).
struct TreeFixture {
    let root: String

    static func temporaryDirectory(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "gpuarc-test-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    func dir(_ relative: String, mode: mode_t = 0o755) {
        try! FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
        chmod(path(relative), mode)
    }

    func file(_ relative: String, _ bytes: [UInt8], mode: mode_t = 0o644, mtime: (Int, Int)? = nil) {
        let p = path(relative)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(bytes)))
        chmod(p, mode)
        if let (sec, nsec) = mtime {
            var times = [timespec(tv_sec: sec, tv_nsec: nsec), timespec(tv_sec: sec, tv_nsec: nsec)]
            utimensat(AT_FDCWD, p, &times, 0)
        }
    }

    func symlink(_ relative: String, to target: String) { XCTAssertEqual(Glibc.symlink(target, path(relative)), 0) }
    func hardLink(_ relative: String, to existing: String) { XCTAssertEqual(link(path(existing), path(relative)), 0) }

    /// Deterministic pseudo-random bytes.
    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// Text-like bytes (compressible, with repeats at varied distances).
    static func text(_ count: Int, seed: UInt64) -> [UInt8] {
        let words = ["archive", "frame", "volume", "index", "chunk", "delta", "the", "of", "gpu", "swift", "\n", "    ", "func", "{", "}"]
        var out: [UInt8] = []
        var state = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15 | 1
        while out.count < count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            out += Array(words[Int(state % UInt64(words.count))].utf8) + [0x20]
        }
        return Array(out.prefix(count))
    }

    /// Every edge case the format must carry.
    static func edgeCases(frameSize: Int) -> TreeFixture {
        let f = TreeFixture(root: temporaryDirectory("src"))
        f.file("empty", [])
        f.file("one", [0x41])
        f.file("eleven", Array("hello world".utf8))
        f.file("exact-frame", text(frameSize, seed: 1))
        f.file("frame-plus-one", text(frameSize + 1, seed: 2))
        f.file("big/several-frames.bin", random(frameSize * 3 + 17, seed: 3))
        f.file("big/text.txt", text(frameSize * 5 / 2, seed: 4), mtime: (1_600_000_000, 123_456_789))
        f.dir("empty-dir")
        f.dir("nested/a/b/c/empty")
        f.file("nested/a/b/c/deep.txt", Array("deep".utf8), mode: 0o600)
        f.file("dup1.txt", text(5000, seed: 5))
        f.file("nested/dup2.txt", text(5000, seed: 5))
        f.file("nested/a/dup3.txt", text(5000, seed: 5))
        f.file("日本語/ファイル.txt", Array("unicode ✓".utf8))
        f.file("spaces in name & quotes'\"", Array("x".utf8))
        f.file("exec.sh", Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
        f.file("setuid", Array("s".utf8), mode: 0o4755)
        f.dir("sticky", mode: 0o1777)
        f.symlink("link-rel", to: "dup1.txt")
        f.symlink("link-abs", to: "/etc/hostname")
        f.symlink("link-dangling", to: "does/not/exist")
        f.symlink("nested/link-up", to: "../../one")
        f.file("hard/original", text(3000, seed: 6))
        f.hardLink("hard/second", to: "hard/original")
        f.hardLink("nested/third-link", to: "hard/original")
        XCTAssertEqual(mkfifo(f.path("fifo"), 0o640), 0)
        return f
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// What a tree looks like, entry by entry, with names as bytes: type, mode,
/// owner, size, mtime to the nanosecond, symlink target, a hash of the
/// bytes, extended attributes (ACLs included), where a sparse file's data
/// lies, and which names share an inode. Walked with directory descriptors,
/// so no name is ever turned into text on the way.
struct TreeSnapshot: Equatable {
    struct Entry: Equatable {
        var type: mode_t
        var mode: mode_t
        var uid: uid_t
        var gid: gid_t
        var size: Int
        var mtime: timespec?
        var target: [UInt8]?
        var bytesHash: UInt64?
        var xattrs: [ExtendedAttribute] = []
        /// Data extents of a file with holes (nil for one without).
        var dataMap: [DataExtent]?
        var linkGroup: [UInt8]?   // first path sharing this inode (hard links)

        static func == (a: Entry, b: Entry) -> Bool {
            a.type == b.type && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.size == b.size &&
                a.mtime?.tv_sec == b.mtime?.tv_sec && a.mtime?.tv_nsec == b.mtime?.tv_nsec &&
                a.target == b.target && a.bytesHash == b.bytesHash && a.xattrs == b.xattrs &&
                a.dataMap == b.dataMap && a.linkGroup == b.linkGroup
        }
    }

    var entries: [[UInt8]: Entry] = [:]

    /// `directoryTimes: false` skips directory mtimes; `xattrs: false` leaves
    /// attributes out (a mount of an archive built with --no-xattrs).
    init(_ root: String, directoryTimes: Bool = true, xattrs: Bool = true) {
        var inodes: [UInt64: [UInt8]] = [:]
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return }
        defer { close(rootFD) }
        // (directory descriptor, name in it, path from the root)
        func visit(_ dirFD: Int32, _ name: [UInt8]?, _ relative: [UInt8]) {
            var st = stat()
            let ok = name.map { n in BytePath.withCString(n) { fstatat(dirFD, $0, &st, AT_SYMLINK_NOFOLLOW) } } ?? fstat(dirFD, &st)
            guard ok == 0 else { return }
            let type = st.st_mode & S_IFMT
            var e = Entry(type: type, mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid,
                          size: type == S_IFREG ? Int(st.st_size) : 0, mtime: st.st_mtim)
            if type == S_IFDIR && !directoryTimes { e.mtime = nil }
            if xattrs {
                let target: ExtendedAttributes.Target = name.map { .entry(directory: dirFD, name: $0) } ?? .descriptor(dirFD)
                e.xattrs = (try? ExtendedAttributes.read(target)) ?? [ExtendedAttribute(name: Array("unreadable".utf8), value: [])]
            }
            if type == S_IFLNK, let name {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = BytePath.withCString(name) { c in buffer.withUnsafeMutableBytes { readlinkat(dirFD, c, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096) } }
                e.target = n >= 0 ? Array(buffer[0..<n]) : Array("?".utf8)
            }
            if type == S_IFREG, let name {
                let fd = BytePath.withCString(name) { openat(dirFD, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
                if fd >= 0 {
                    e.dataMap = Self.dataMap(fd, st)
                    e.bytesHash = Self.hash(fd, extents: e.dataMap)
                    close(fd)
                }
            }
            if type != S_IFDIR && st.st_nlink > 1 {
                let key = UInt64(st.st_ino)
                if inodes[key] == nil { inodes[key] = relative }
                e.linkGroup = inodes[key]
            }
            entries[relative] = e
            guard type == S_IFDIR else { return }
            let fd = name.map { n in BytePath.withCString(n) { openat(dirFD, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } } ?? dup(dirFD)
            guard fd >= 0 else { return }
            defer { close(fd) }
            for child in Self.names(fd) {
                visit(fd, child, relative.isEmpty ? child : relative + [UInt8(ascii: "/")] + child)
            }
        }
        visit(rootFD, nil, [])
    }

    static func names(_ fd: Int32) -> [[UInt8]] {
        guard let dir = fdopendir(dup(fd)) else { return [] }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let ent = readdir(dir) {
            let name: [UInt8] = withUnsafeBytes(of: ent.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// A hash of the file's bytes: SHA-256 of each MiB (libcrypto: fast even
    /// in a debug build), combined. Of a file with holes, only the data
    /// extents are read: the holes read as zeros, and `dataMap` compares where they are.
    static func hash(_ fd: Int32, extents: [DataExtent]?) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var st = stat()
        fstat(fd, &st)
        for e in extents ?? [DataExtent(offset: 0, length: UInt64(st.st_size))] {
            var offset = e.offset
            while offset < e.end {
                let want = Int(min(UInt64(buffer.count), e.end - offset))
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
                if n <= 0 { return 0 }
                let digest = buffer.withUnsafeBytes { ChunkDigest(of: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                h = (h ^ digest.words.0 ^ offset) &* 0x100_0000_01b3
                offset += UInt64(n)
            }
        }
        return h
    }

    /// Where a file with holes has data (SEEK_DATA/SEEK_HOLE), nil when it has none.
    static func dataMap(_ fd: Int32, _ st: stat) -> [DataExtent]? {
        guard UInt64(max(st.st_blocks, 0)) * 512 < UInt64(st.st_size) else { return nil }
        var extents: [DataExtent] = []
        var position: off_t = 0
        while position < st.st_size {
            let data = lseek(fd, position, 3)
            if data < 0 { break }
            let hole = lseek(fd, data, 4)
            if hole < 0 { break }
            extents.append(DataExtent(offset: UInt64(data), length: UInt64(hole - data)))
            position = hole
        }
        return extents.count == 1 && extents[0].offset == 0 && extents[0].length == UInt64(st.st_size) ? nil : extents
    }

    /// Lists the differences, for a readable failure message.
    func differences(from other: TreeSnapshot) -> [String] {
        var out: [String] = []
        for key in Set(entries.keys).union(other.entries.keys).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let a = entries[key], b = other.entries[key]
            let name = Escaped.text(key)
            if a == nil { out.append("only in second: \(name)") } else if b == nil { out.append("only in first: \(name)") } else if a != b {
                out.append("differs: \(name): \(a!) vs \(b!)")
            }
        }
        return out
    }
}

/// A test case whose scratch directories are removed after each test.
class ScratchTestCase: XCTestCase {
    var cleanup: [String] = []

    override func tearDown() {
        for p in cleanup { try? FileManager.default.removeItem(atPath: p) }
        cleanup = []
        super.tearDown()
    }

    /// A new empty directory, removed after the test.
    func temp(_ label: String) -> String {
        let p = TreeFixture.temporaryDirectory(label)
        cleanup.append(p)
        return p
    }
}

/// Runs one of the package's executables (built next to the test bundle) and
/// collects its exit status, stdout and stderr.
@discardableResult
func runTool(_ tool: String, _ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let url = Bundle.main.bundleURL.appendingPathComponent(tool)
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        throw ArchiveError(.usage, "\(tool) not built at \(url.path); run `swift build` first")
    }
    let p = Process()
    p.executableURL = url
    p.arguments = args
    if !environment.isEmpty {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

extension VolumeSet {
    /// The volume paths as text (test archives have ASCII names).
    var textPaths: [String] { paths.map(\.description) }
}
