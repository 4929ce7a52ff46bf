// A source tree with every kind of thing a backup holds, and a checker that
// walks it beside a mounted copy and compares everything lstat and read see.
import Foundation
import XCTest

enum SourceTree {
    /// Content that is the same for a given seed and position, so tests can
    /// check bytes without keeping a copy.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var words = [UInt64](repeating: 0, count: (count + 7) / 8)
        for i in words.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            words[i] = state
        }
        return words.withUnsafeBytes { Array($0.prefix(count)) }
    }

    /// The next version of file `file` of version `version`: `flips` bytes
    /// XORed with `mask` `stride` apart, then `insert` new bytes at `at`.
    static func nextVersion(of bytes: [UInt8], version: Int, file: Int, flips: Int, stride: Int, shift: Int,
                            mask: UInt8, insert: Int, at: Int) -> [UInt8] {
        var next = bytes
        for k in 0..<flips { next[(k * stride + version * shift + file) % next.count] ^= mask }
        next.insert(contentsOf: SourceTree.bytes(count: insert, seed: UInt64(version * 10 + file)), at: at)
        return next
    }

    static func write(_ path: String, _ data: [UInt8], mode: mode_t = 0o644, mtime: (Int, Int)? = nil) throws {
        try Data(data).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
        if let (sec, nsec) = mtime { setTime(path, sec, nsec) }
    }

    static func setTime(_ path: String, _ sec: Int, _ nsec: Int) {
        var times = [timespec(tv_sec: sec, tv_nsec: nsec), timespec(tv_sec: sec, tv_nsec: nsec)]
        utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// Files up to `bigSize` bytes: big enough to span several frames when the
    /// archive is built with a small frame size.
    static func make(at root: String, bigSize: Int = 3 << 20) throws {
        let fm = FileManager.default
        for dir in ["docs", "empty", "deep/a/b/c/d", "ünïcödé ✓", "many", "modes"] {
            try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        try write(root + "/docs/hello.txt", Array("hello, archive\n".utf8), mtime: (1_600_000_000, 123_456_789))
        try write(root + "/docs/empty-file", [])
        try write(root + "/docs/big.bin", bytes(count: bigSize, seed: 1))
        try write(root + "/docs/big-copy.bin", bytes(count: bigSize, seed: 1))      // deduplicated content
        try write(root + "/docs/odd-size.bin", bytes(count: (1 << 20) + 4097, seed: 2))
        try write(root + "/docs/text.txt", Array(String(repeating: "the quick brown fox jumps\n", count: 40_000).utf8))
        try write(root + "/ünïcödé ✓/日本語.txt", Array("名前\n".utf8))
        try write(root + "/deep/a/b/c/d/leaf", Array("leaf\n".utf8), mtime: (86_400, 0))
        try write(root + "/modes/secret", Array("s\n".utf8), mode: 0o600)
        try write(root + "/modes/script", Array("#!/bin/sh\n".utf8), mode: 0o755)
        try write(root + "/modes/readonly", Array("r\n".utf8), mode: 0o444)
        chmod(root + "/modes", 0o750)
        for i in 0..<300 {
            try write(root + "/many/file-\(String(format: "%04d", i))-with-a-long-name.txt", Array("\(i)\n".utf8))
        }
        link(root + "/docs/hello.txt", root + "/docs/hello-hardlink.txt")
        link(root + "/docs/big.bin", root + "/deep/big-hardlink.bin")
        symlink("hello.txt", root + "/docs/link-relative")
        symlink("/etc/passwd", root + "/docs/link-absolute")
        symlink("does/not/exist", root + "/docs/link-dangling")
        symlink("../ünïcödé ✓", root + "/docs/link-to-dir")
        setTime(root + "/docs/link-relative", 1_500_000_000, 5)
        setTime(root + "/empty", 1_234_567_890, 999_999_999)
    }

    /// Compares `mounted` with `source` entry by entry.
    static func assertEqual(source: String, mounted: String, file: StaticString = #filePath, line: UInt = #line) {
        var inodeMap: [ino_t: ino_t] = [:]
        compare(source, mounted, "", &inodeMap, file, line)
    }

    private static func compare(_ source: String, _ mounted: String, _ relative: String,
                                _ inodeMap: inout [ino_t: ino_t], _ file: StaticString, _ line: UInt) {
        let a = source + relative, b = mounted + relative
        var sa = stat(), sb = stat()
        guard lstat(a, &sa) == 0 else { return XCTFail("lstat \(a)", file: file, line: line) }
        guard lstat(b, &sb) == 0 else { return XCTFail("missing in mount: \(relative) (errno \(errno))", file: file, line: line) }
        let what = relative.isEmpty ? "/" : relative
        XCTAssertEqual(sa.st_mode, sb.st_mode, "mode of \(what)", file: file, line: line)
        XCTAssertEqual(sa.st_uid, sb.st_uid, "uid of \(what)", file: file, line: line)
        XCTAssertEqual(sa.st_gid, sb.st_gid, "gid of \(what)", file: file, line: line)
        XCTAssertEqual(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec, "mtime of \(what)", file: file, line: line)
        XCTAssertEqual(sa.st_mtim.tv_nsec, sb.st_mtim.tv_nsec, "mtime ns of \(what)", file: file, line: line)
        switch sa.st_mode & S_IFMT {
        case S_IFDIR:
            let la = (try? FileManager.default.contentsOfDirectory(atPath: a).sorted()) ?? []
            let lb = (try? FileManager.default.contentsOfDirectory(atPath: b).sorted()) ?? []
            XCTAssertEqual(la, lb, "listing of \(what)", file: file, line: line)
            for name in la where lb.contains(name) { compare(source, mounted, relative + "/" + name, &inodeMap, file, line) }
        case S_IFLNK:
            XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: a),
                           try? FileManager.default.destinationOfSymbolicLink(atPath: b), "target of \(what)", file: file, line: line)
            XCTAssertEqual(sa.st_size, sb.st_size, "size of \(what)", file: file, line: line)
        default:
            XCTAssertEqual(sa.st_size, sb.st_size, "size of \(what)", file: file, line: line)
            XCTAssertEqual(sa.st_nlink, sb.st_nlink, "links of \(what)", file: file, line: line)
            XCTAssertTrue(FileManager.default.contentsEqual(atPath: a, andPath: b), "bytes of \(what)", file: file, line: line)
            // Hard links: the same source inode must show as the same mount inode, and only that one.
            if let known = inodeMap[sa.st_ino] {
                XCTAssertEqual(known, sb.st_ino, "hard link \(what) has its own inode number", file: file, line: line)
            } else {
                XCTAssertFalse(inodeMap.values.contains(sb.st_ino), "\(what) shares an inode number it should not", file: file, line: line)
                inodeMap[sa.st_ino] = sb.st_ino
            }
        }
    }
}
