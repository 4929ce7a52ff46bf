// Real mounts through the gpuarc-mount binary. Each test mounts with a
// watchdog and auto_unmount and always unmounts (MountHarness).
import Archive
import CFuse3
import Foundation
import XCTest

final class MountTests: XCTestCase {
    private var source = ""
    private var archive = ""

    /// One source tree and archive for the whole class: building them is the slow part.
    nonisolated(unsafe) private static var shared: (source: String, archive: String)?

    override class func tearDown() {
        // Only once nothing of ours is mounted there any more.
        let busy = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8))?.contains(MountHarness.scratchRoot) ?? true
        if !busy { try? FileManager.default.removeItem(atPath: MountHarness.scratchRoot) }
    }

    override func setUpWithError() throws {
        try MountHarness.requireFuse()
        if MountTests.shared == nil {
            let source = try MountHarness.scratchDirectory("source")
            try SourceTree.make(at: source)
            MountTests.shared = (source, try TestArchive.build(source))
        }
        (source, archive) = MountTests.shared!
    }

    func testMountedTreeEqualsSource() throws {
        let mount = try MountedArchive(archive: archive)
        defer { mount.unmount() }
        SourceTree.assertEqual(source: source, mounted: mount.mountpoint)
        var a = stat(), b = stat()
        XCTAssertEqual(lstat(mount.path("docs/hello.txt"), &a), 0)
        XCTAssertEqual(lstat(mount.path("docs/hello-hardlink.txt"), &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino, "hard links share st_ino")
        XCTAssertEqual(a.st_nlink, 2)
    }

    func testReadsAtAwkwardOffsets() throws {
        let mount = try MountedArchive(archive: archive)
        defer { mount.unmount() }
        for name in ["docs/big.bin", "docs/odd-size.bin", "docs/text.txt"] {
            let expected = try Array(Data(contentsOf: URL(fileURLWithPath: source + "/" + name)))
            let fd = open(mount.path(name), O_RDONLY)
            XCTAssertGreaterThanOrEqual(fd, 0, name)
            defer { close(fd) }
            let size = expected.count
            var offsets = [0, 1, 4095, 4096, 65_535, 65_536, 131_071, 131_072, size - 1, size, size + 1, size + 1_000_000]
            for boundary in stride(from: 1 << 16, to: size, by: 1 << 16) { offsets += [boundary - 3, boundary] }
            for offset in offsets where offset >= 0 {
                for count in [1, 7, 4096, 200_000] {
                    var buffer = [UInt8](repeating: 0, count: count)
                    let got = pread(fd, &buffer, count, off_t(offset))
                    let want = max(0, min(count, size - offset))
                    XCTAssertEqual(got, want, "\(name) pread(\(offset), \(count))")
                    if got == want {
                        XCTAssertTrue(same(buffer, expected, at: offset, count: want), "\(name) bytes at \(offset)+\(count)")
                    }
                }
            }
        }
    }

    func testManyThreadsOfRandomReads() throws {
        let mount = try MountedArchive(archive: archive, options: ["--cache-size", "2M"])
        defer { mount.unmount() }
        let names = ["docs/big.bin", "docs/big-copy.bin", "docs/odd-size.bin", "docs/text.txt", "deep/big-hardlink.bin"]
        let expected = try names.map { try Array(Data(contentsOf: URL(fileURLWithPath: source + "/" + $0))) }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 16) { thread in
            var rng = SplitMix(seed: UInt64(thread + 1))
            for _ in 0..<200 {
                let pick = Int(rng.next() % UInt64(names.count))
                let data = expected[pick]
                let offset = Int(rng.next() % UInt64(data.count + 10))
                let count = 1 + Int(rng.next() % 300_000)
                // A fresh descriptor with O_DIRECT-free reads; the page cache
                // serves repeats, so vary offsets widely.
                let fd = open(mount.path(names[pick]), O_RDONLY)
                guard fd >= 0 else { failures.add("open \(names[pick]): errno \(errno)"); continue }
                var buffer = [UInt8](repeating: 0, count: count)
                let got = pread(fd, &buffer, count, off_t(offset))
                close(fd)
                let want = max(0, min(count, data.count - offset))
                if got != want || !same(buffer, data, at: offset, count: want) {
                    failures.add("\(names[pick]) pread(\(offset), \(count)) -> \(got), wanted \(want)")
                }
            }
        }
        XCTAssertEqual(failures.list, [])
    }

    func testCorruptContentGivesEIOForThatFileOnly() throws {
        let damaged = try TestArchive.withOneCorruptFile()
        let mount = try MountedArchive(archive: damaged.archive)
        defer { mount.unmount() }
        let fd = open(mount.path(damaged.victim), O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        // Reading through the file reaches the damaged frame: EIO, not wrong bytes.
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var result = 0
        repeat { result = read(fd, &buffer, buffer.count) } while result > 0
        XCTAssertEqual(result, -1)
        XCTAssertEqual(errno, EIO)
        close(fd)
        XCTAssertTrue(mount.stderrText.contains("b-victim.bin") && mount.stderrText.contains("frame"),
                      "the log names the file and frame: \(mount.stderrText)")
        for name in damaged.intact {
            XCTAssertTrue(FileManager.default.contentsEqual(atPath: damaged.source + "/" + name, andPath: mount.path(name)), name)
        }
    }

    func testWritesAreRefusedWithEROFS() throws {
        let mount = try MountedArchive(archive: archive)
        defer { mount.unmount() }
        func expectEROFS(_ what: String, _ result: Int32) {
            XCTAssertEqual(result, -1, what)
            XCTAssertEqual(errno, EROFS, what)
        }
        expectEROFS("open for writing", open(mount.path("docs/hello.txt"), O_WRONLY))
        expectEROFS("create", open(mount.path("docs/new"), O_WRONLY | O_CREAT, 0o644))
        expectEROFS("truncate", truncate(mount.path("docs/hello.txt"), 0))
        expectEROFS("mkdir", mkdir(mount.path("newdir"), 0o755))
        expectEROFS("unlink", unlink(mount.path("docs/hello.txt")))
        expectEROFS("rmdir", rmdir(mount.path("empty")))
        expectEROFS("rename", rename(mount.path("docs/hello.txt"), mount.path("docs/moved")))
        expectEROFS("symlink", symlink("x", mount.path("docs/newlink")))
        expectEROFS("link", link(mount.path("docs/hello.txt"), mount.path("docs/newhard")))
        expectEROFS("chmod", chmod(mount.path("docs/hello.txt"), 0o777))
        expectEROFS("setxattr", setxattr(mount.path("docs/hello.txt"), "user.x", "1", 1, 0))
    }

    func testStatfsAndXattrs() throws {
        let mount = try MountedArchive(archive: archive)
        defer { mount.unmount() }
        var st = statvfs()
        XCTAssertEqual(statvfs(mount.mountpoint, &st), 0)
        XCTAssertGreaterThan(st.f_blocks, 0)
        XCTAssertEqual(st.f_bfree, 0)
        XCTAssertNotEqual(st.f_flag & UInt(ST_RDONLY), 0)
        var value = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(getxattr(mount.path("docs/hello.txt"), "user.x", &value, 64), -1)
        XCTAssertTrue(errno == ENODATA || errno == ENOTSUP, "getxattr of a name the file does not have: errno \(errno)")
        XCTAssertEqual(listxattr(mount.path("docs/hello.txt"), nil, 0), 0, "no attributes listed")
    }

    func testSigtermUnmountsCleanly() throws {
        let mount = try MountedArchive(archive: archive)
        defer { mount.unmount() }
        kill(mount.pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while MountHarness.isMounted(mount.mountpoint) && Date() < deadline { usleep(10_000) }
        XCTAssertFalse(MountHarness.isMounted(mount.mountpoint), "still mounted after SIGTERM")
    }

    func testDetachesOnlyAfterTheMountIsLive() throws {
        let mountpoint = try MountHarness.scratchDirectory("mnt-daemon")
        let result = try MountHarness.run([archive, mountpoint, "-o", "auto_unmount"])
        defer { runQuietly("/bin/fusermount3", ["-u", "-z", mountpoint]) }
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(MountHarness.isMounted(mountpoint), "the parent returned before the mount was live")
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: source + "/docs/hello.txt", andPath: mountpoint + "/docs/hello.txt"))
    }

    func testFstabLineWorksThroughMountFuse3() throws {
        guard FileManager.default.isExecutableFile(atPath: "/sbin/mount.fuse3") else {
            throw MountError(description: "mount.fuse3 is not installed: run `make deps` (fuse3)")
        }
        let mountpoint = try MountHarness.scratchDirectory("mnt-fstab")
        // What mount(8) runs for: ARCHIVE MNT fuse.gpuarc-mount ro,cache_size=64M,auto_unmount 0 0
        let result = try MountHarness.run([archive, mountpoint, "-t", "fuse.gpuarc-mount", "-o", "ro,cache_size=64M,auto_unmount"],
                                          executable: "/sbin/mount.fuse3")
        defer { runQuietly("/bin/fusermount3", ["-u", "-z", mountpoint]) }
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: source + "/docs/text.txt", andPath: mountpoint + "/docs/text.txt"))
    }

    func testMissingArchiveIsRefusedWithAMessage() throws {
        let mountpoint = try MountHarness.scratchDirectory("mnt-missing")
        for foreground in [false, true] {
            let result = try MountHarness.run([mountpoint + "/no-such-archive.001", mountpoint] + (foreground ? ["-f"] : []))
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.output.contains("no-such-archive"), "message: \(result.output)")
            XCTAssertFalse(MountHarness.isMounted(mountpoint))
        }
    }

    func testMissingVolumeIsRefusedNamingIt() throws {
        let archive = try TestArchive.multiVolume()
        let second = String(archive.dropLast(4)) + ".002"
        try FileManager.default.removeItem(atPath: second)
        let mountpoint = try MountHarness.scratchDirectory("mnt-missing-volume")
        for foreground in [false, true] {
            // auto_unmount: should a regression mount it after all, no dead mount stays behind.
            let result = try MountHarness.run([archive, mountpoint, "-o", "auto_unmount"] + (foreground ? ["-f"] : []))
            XCTAssertEqual(result.status, 1, result.output)
            XCTAssertTrue(result.output.contains("arc.002"), "message: \(result.output)")
            XCTAssertFalse(MountHarness.isMounted(mountpoint))
        }
    }

    /// `-o degraded` serves what the other volumes hold; the lost files give EIO.
    func testDegradedMountServesTheOtherVolumes() throws {
        let archive = try TestArchive.multiVolume()
        let reader = try ArchiveReader(path: archive)
        let second = reader.volumes.paths[1].description
        let lost = Set(reader.files(touching: Set(reader.index.frames.indices.filter { reader.index.frames[$0].volume == 1 })))
        let paths = reader.index.paths()
        try FileManager.default.removeItem(atPath: second)
        let mount = try MountedArchive(archive: archive, options: ["-o", "degraded"])
        defer { mount.unmount() }
        XCTAssertTrue(mount.stderrText.contains("arc.002"), mount.stderrText)
        var served = 0
        for i in 0..<4 {
            let name = "f\(i).bin"
            let inode = reader.index.resolve(path: name)!
            let data = FileManager.default.contents(atPath: mount.path(name))
            if lost.contains(inode) {
                XCTAssertNil(data, "\(paths[inode]!) lives in the missing volume but was read")
            } else {
                XCTAssertEqual(data.map { [UInt8]($0) }, SourceTree.bytes(count: 100_000, seed: UInt64(i)), name)
                served += 1
            }
        }
        XCTAssertFalse(lost.isEmpty)
        XCTAssertGreaterThan(served, 0)
    }

    func testGpuDecoderReadsExactlyOrIsRefusedClearly() throws {
        let mountpoint = try MountHarness.scratchDirectory("mnt-gpu")
        let result = try MountHarness.run([archive, mountpoint, "--decoder", "gpu", "-o", "auto_unmount"], timeout: 120)
        defer { runQuietly("/bin/fusermount3", ["-u", "-z", mountpoint]) }
        if result.status == 0 {
            // An OpenCL device (PoCL on a CPU will do) decodes the frames.
            SourceTree.assertEqual(source: source, mounted: mountpoint)
        } else {
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.output.contains("GPU"), result.output)
            XCTAssertFalse(MountHarness.isMounted(mountpoint))
        }
    }
}

/// buffer[0..<count] == data[offset..<offset+count], without a per-byte loop in debug builds.
func same(_ buffer: [UInt8], _ data: [UInt8], at offset: Int, count: Int) -> Bool {
    count == 0 || buffer.withUnsafeBytes { b in data.withUnsafeBytes { d in memcmp(b.baseAddress!, d.baseAddress! + offset, count) == 0 } }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var list: [String] = []
    func add(_ message: String) { lock.lock(); if list.count < 20 { list.append(message) }; lock.unlock() }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
