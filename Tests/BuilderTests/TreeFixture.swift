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

/// What a tree looks like, entry by entry.
struct TreeSnapshot: Equatable {
    struct Entry: Equatable {
        var type: mode_t
        var mode: mode_t
        var uid: uid_t
        var gid: gid_t
        var size: Int
        var mtime: timespec?
        var target: String?
        var bytesHash: UInt64?
        var linkGroup: String?   // first path sharing this inode (hard links)

        static func == (a: Entry, b: Entry) -> Bool {
            a.type == b.type && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.size == b.size &&
                a.mtime?.tv_sec == b.mtime?.tv_sec && a.mtime?.tv_nsec == b.mtime?.tv_nsec &&
                a.target == b.target && a.bytesHash == b.bytesHash && a.linkGroup == b.linkGroup
        }
    }

    var entries: [String: Entry] = [:]

    /// `directoryTimes: false` skips directory mtimes (a mount or a fresh
    /// extract may legitimately differ only if not restored; we do restore them).
    init(_ root: String, directoryTimes: Bool = true) {
        var inodes: [UInt64: String] = [:]
        func walk(_ relative: String) {
            let full = relative.isEmpty ? root : root + "/" + relative
            var st = stat()
            guard lstat(full, &st) == 0 else { return }
            let type = st.st_mode & S_IFMT
            var e = Entry(type: type, mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid,
                          size: type == S_IFREG ? Int(st.st_size) : 0, mtime: st.st_mtim)
            if type == S_IFDIR && !directoryTimes { e.mtime = nil }
            if type == S_IFLNK {
                e.target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?"
                e.mtime = st.st_mtim
            }
            if type == S_IFREG {
                let data = FileManager.default.contents(atPath: full) ?? Data()
                e.bytesHash = data.withUnsafeBytes { raw in
                    var h: UInt64 = 0xcbf2_9ce4_8422_2325
                    for b in raw { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
                    return h
                }
            }
            if type != S_IFDIR && st.st_nlink > 1 {
                let key = UInt64(st.st_ino)
                if inodes[key] == nil { inodes[key] = relative }
                e.linkGroup = inodes[key]
            }
            entries[relative] = e
            if type == S_IFDIR {
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: full)) ?? []).sorted()
                for n in names { walk(relative.isEmpty ? n : relative + "/" + n) }
            }
        }
        walk("")
    }

    /// Lists the differences, for a readable failure message.
    func differences(from other: TreeSnapshot) -> [String] {
        var out: [String] = []
        for key in Set(entries.keys).union(other.entries.keys).sorted() {
            let a = entries[key], b = other.entries[key]
            if a == nil { out.append("only in second: \(key)") } else if b == nil { out.append("only in first: \(key)") } else if a != b {
                out.append("differs: \(key): \(a!) vs \(b!)")
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
        throw XCTSkip("\(tool) not built at \(url.path); run `swift build` first")
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
