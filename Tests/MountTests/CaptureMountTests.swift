// What the capture model stores, served through a real mount: extended
// attributes and ACLs (answered, and enforced by the kernel with
// allow_other), sparse files (st_blocks from their data, SEEK_DATA and
// SEEK_HOLE), names that are not UTF-8, and a tree deeper than PATH_MAX.
import Archive
import Builder
import CFuse3
import Foundation
import XCTest

final class CaptureMountTests: XCTestCase {
    /// Builds `source` (a directory of bytes-named entries) and mounts it.
    private func mounted(_ source: String, options: [String] = []) throws -> MountedArchive {
        try MountHarness.requireFuse()
        return try MountedArchive(archive: try TestArchive.build(source), options: options)
    }

    private func write(_ path: BytePath, _ bytes: [UInt8], mode: mode_t = 0o644) {
        let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC, mode) }
        XCTAssertGreaterThanOrEqual(fd, 0, "create \(path)")
        bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        close(fd)
    }

    /// getxattr and listxattr answer what was archived, with the size-probe
    /// and ERANGE conventions of the system calls; a missing one is ENODATA.
    func testExtendedAttributesAreServed() throws {
        let source = try MountHarness.scratchDirectory("xattr-source")
        write(BytePath(source + "/file"), Array("x".utf8))
        let binary: [UInt8] = [0, 1, 2]
        XCTAssertEqual(setxattr(source + "/file", "user.b", binary, 3, 0), 0)
        XCTAssertEqual(setxattr(source + "/file", "user.a", "first", 5, 0), 0)
        XCTAssertEqual(mkdir(source + "/dir", 0o755), 0)
        XCTAssertEqual(setxattr(source + "/dir", "user.dir", "d", 1, 0), 0)
        let mount = try mounted(source)
        defer { mount.unmount() }
        XCTAssertEqual(listxattr(mount.path("file"), nil, 0), 14)
        var names = [CChar](repeating: 0, count: 64)
        XCTAssertEqual(listxattr(mount.path("file"), &names, 64), 14)
        XCTAssertEqual(String(decoding: names.prefix(14).map { UInt8(bitPattern: $0) }, as: UTF8.self), "user.a\0user.b\0")
        var value = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(getxattr(mount.path("file"), "user.b", nil, 0), 3)
        XCTAssertEqual(getxattr(mount.path("file"), "user.b", &value, 8), 3)
        XCTAssertEqual(Array(value.prefix(3)), [0, 1, 2])
        XCTAssertEqual(getxattr(mount.path("file"), "user.a", &value, 2), -1)
        XCTAssertEqual(errno, ERANGE)
        XCTAssertEqual(getxattr(mount.path("file"), "user.none", &value, 8), -1)
        XCTAssertEqual(errno, ENODATA)
        XCTAssertEqual(getxattr(mount.path("dir"), "user.dir", &value, 8), 1)
    }

    /// With allow_other (so default_permissions), the kernel enforces the
    /// archived ACL: a user the ACL shuts out cannot read a file its mode
    /// bits alone would let it read, and one it lets in can.
    func testArchivedACLsAreEnforcedForOtherUsers() throws {
        let source = try MountHarness.scratchDirectory("acl-source")
        chmod(source, 0o755)
        write(BytePath(source + "/shut-out"), Array("secret\n".utf8), mode: 0o644)
        write(BytePath(source + "/let-in"), Array("shared\n".utf8), mode: 0o600)
        // user::rw- user:65534:--- group::r-- mask::r-- other::r--  /  user::rw- user:65534:r-- group::--- mask::r-- other::---
        func acl(nobody: UInt16, group: UInt16, other: UInt16) -> [UInt8] {
            var a: [UInt8] = [2, 0, 0, 0]
            func entry(_ tag: UInt16, _ perm: UInt16, _ id: UInt32) {
                a += [UInt8(tag & 0xFF), UInt8(tag >> 8), UInt8(perm & 0xFF), UInt8(perm >> 8)]
                a += [UInt8(id & 0xFF), UInt8((id >> 8) & 0xFF), UInt8((id >> 16) & 0xFF), UInt8(id >> 24)]
            }
            entry(1, 6, .max); entry(2, nobody, 65534); entry(4, group, .max); entry(0x10, 4, .max); entry(0x20, other, .max)
            return a
        }
        let shut = acl(nobody: 0, group: 4, other: 4), open = acl(nobody: 4, group: 0, other: 0)
        XCTAssertEqual(setxattr(source + "/shut-out", "system.posix_acl_access", shut, shut.count, 0), 0)
        XCTAssertEqual(setxattr(source + "/let-in", "system.posix_acl_access", open, open.count, 0), 0)
        let mount = try mounted(source, options: ["-o", "allow_other"])
        defer { mount.unmount() }
        chmod(mount.mountpoint, 0o755)
        func readAsNobody(_ name: String) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/cat", mount.path(name)]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        XCTAssertNotEqual(try readAsNobody("shut-out"), 0, "the ACL denies user 65534")
        XCTAssertEqual(try readAsNobody("let-in"), 0, "the ACL lets user 65534 in past mode 0600")
    }

    /// A sparse file reads back exactly, reports the blocks of its data
    /// only, and SEEK_DATA/SEEK_HOLE find its data where it was.
    func testSparseFilesThroughTheMount() throws {
        let source = try MountHarness.scratchDirectory("sparse-source")
        let fd = open(source + "/image", O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 0xAB, count: 4096)
        _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 1 << 20) }
        _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, 40 << 20) }
        ftruncate(fd, 64 << 20)
        close(fd)
        let mount = try mounted(source)
        defer { mount.unmount() }
        var st = stat()
        XCTAssertEqual(stat(mount.path("image"), &st), 0)
        XCTAssertEqual(st.st_size, 64 << 20)
        XCTAssertEqual(st.st_blocks, 16, "8 KiB of data")
        let m = open(mount.path("image"), O_RDONLY)
        defer { close(m) }
        XCTAssertEqual(lseek(m, 0, 3), 1 << 20, "SEEK_DATA")
        XCTAssertEqual(lseek(m, 1 << 20, 4), (1 << 20) + 4096, "SEEK_HOLE")
        XCTAssertEqual(lseek(m, (1 << 20) + 4096, 3), 40 << 20)
        XCTAssertEqual(lseek(m, 40 << 20, 4), (40 << 20) + 4096, "the hole at the end starts there")
        XCTAssertEqual(lseek(m, (40 << 20) + 4096, 4), (40 << 20) + 4096, "an offset in a hole is its own answer")
        XCTAssertEqual(lseek(m, (40 << 20) + 4096, 3), -1)
        XCTAssertEqual(errno, ENXIO)
        var bytes = [UInt8](repeating: 1, count: 8192)
        XCTAssertEqual(pread(m, &bytes, 8192, (1 << 20) - 4096), 8192)
        XCTAssertEqual(Array(bytes[0..<4096]), [UInt8](repeating: 0, count: 4096))
        XCTAssertEqual(Array(bytes[4096...]), block)
    }

    /// Names that are not UTF-8 and a tree deeper than PATH_MAX, walked
    /// through the mount with directory descriptors, equal the source.
    func testByteNamesAndDeepTreesThroughTheMount() throws {
        let source = try MountHarness.scratchDirectory("bytes-source")
        XCTAssertEqual(BytePath(source).appending(Array("d".utf8) + [0xFF]).withCString { mkdir($0, 0o755) }, 0)
        XCTAssertEqual(BytePath(source).appending(Array("d\u{FFFD}".utf8)).withCString { mkdir($0, 0o755) }, 0)
        write(BytePath(source).appending(Array("d".utf8) + [0xFF] + Array("/caf".utf8) + [0xE9]), Array("latin-1".utf8))
        write(BytePath(source).appending(Array("d\u{FFFD}/caf".utf8) + [0xE9]), Array("utf-8 dir".utf8))
        // 60 levels of 100-byte names, made one `cd` at a time (no path is ever that long).
        let deep = Process()
        deep.executableURL = URL(fileURLWithPath: "/bin/bash")
        deep.arguments = ["-c", "cd \"$1\" && n=$(printf 'n%.0s' $(seq 100)) && for i in $(seq 60); do mkdir $n && cd $n || exit 1; done && echo 6 KB down > leaf",
                          "deep", source]
        try deep.run()
        deep.waitUntilExit()
        XCTAssertEqual(deep.terminationStatus, 0)
        let mount = try mounted(source)
        defer { mount.unmount() }
        let (status, text) = try MountHarness.treecmp(source, mount.mountpoint)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("66 entries compared, 0 differences"), text)
    }
}

/// A mount of an archive with parity, two of whose volumes (the last one,
/// with the index, among them) are gone: served whole, every file exact,
/// without `-o degraded`, and it says what it rebuilds.
final class ParityMountTests: XCTestCase {
    func testMountThroughTwoMissingVolumes() throws {
        try MountHarness.requireFuse()
        let source = try MountHarness.scratchDirectory("parity-source")
        for i in 0..<10 { try SourceTree.write(source + "/f\(i).bin", SourceTree.bytes(count: 50_000, seed: UInt64(100 + i))) }
        let out = try MountHarness.scratchDirectory("parity-archive") + "/arc"
        var options = BuildOptions()
        options.frameSize = 32 << 10
        options.volumeSize = 64 << 10
        options.parity = .volumes(2)
        let stats = try ArchiveBuilder(sources: [source], output: out, options: options).run()
        XCTAssertGreaterThanOrEqual(stats.volumes.count, 8)
        unlink(stats.volumes.last!)
        unlink(out + ".003")
        unlink(out + ".idx")
        let mount = try MountedArchive(archive: out + ".001", options: ["--decoder", "cpu"])
        defer { mount.unmount() }
        XCTAssertTrue(mount.stderrText.contains("rebuilt from parity"), mount.stderrText)
        SourceTree.assertEqual(source: source, mounted: mount.mountpoint)
    }
}
