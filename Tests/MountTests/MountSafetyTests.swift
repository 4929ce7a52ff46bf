// What a mount must never do on any path it is started by: let an archived
// setuid binary or device node work (mount(8) and fstab included), mount
// over something that is not a directory, or make tar --xattrs and cp -a
// warn about every file of an archive without xattrs.
@testable import Archive
import Builder
import CFuse3   // the xattr calls
import Foundation
import XCTest

final class MountSafetyTests: XCTestCase {
    override func setUpWithError() throws { try MountHarness.requireFuse() }

    /// A tree with what nosuid and nodev exist for: a setuid-root copy of
    /// id(1) and a world-writable /dev/null node.
    private func dangerousArchive() throws -> String {
        let source = try MountHarness.scratchDirectory("dangerous-source")
        XCTAssertNoThrow(try FileManager.default.copyItem(atPath: "/usr/bin/id", toPath: source + "/id"))
        XCTAssertEqual(chown(source + "/id", 0, 0), 0)
        XCTAssertEqual(chmod(source + "/id", 0o4755), 0)
        XCTAssertEqual(mknod(source + "/null", S_IFCHR | 0o666, makedev(1, 3)), 0, "mknod needs root")
        XCTAssertEqual(chmod(source + "/null", 0o666), 0)
        return try TestArchive.build(source)
    }

    private func makedev(_ major: UInt32, _ minor: UInt32) -> dev_t {
        dev_t((UInt64(major) << 8) | UInt64(minor))
    }

    /// `mount -t fuse "gpuarc-mount#ARCHIVE" MNT -o ro,allow_other`, as
    /// mount(8) and fstab run it (mount.fuse3 adds dev,suid): the mount is
    /// nosuid,nodev, the setuid binary runs as its caller and the device
    /// node does not open; `allow_suid,allow_dev` lift both.
    func testMountThroughMountEightIsNosuidNodev() throws {
        let archive = try dangerousArchive()
        // (With auto_unmount libfuse mounts through fusermount3, which is
        // always nosuid,nodev: the lifted mount goes without it.)
        for (extra, lifted) in [(",auto_unmount", false), (",allow_suid,allow_dev", true)] {
            let mountpoint = try MountHarness.scratchDirectory("mnt-mount8")
            let result = try MountHarness.run(["-t", "fuse", MountHarness.binary + "#" + archive, mountpoint,
                                               "-o", "ro,allow_other" + extra], executable: "/usr/bin/mount")
            defer { runQuietly("/bin/fusermount3", ["-u", "-z", mountpoint]) }
            XCTAssertEqual(result.status, 0, result.output)
            let options = try output("/usr/bin/findmnt", ["-no", "OPTIONS", mountpoint]).split(separator: ",").map(String.init)
            XCTAssertEqual(options.contains("nosuid"), !lifted, "\(options)")
            XCTAssertEqual(options.contains("nodev"), !lifted, "\(options)")
            // The archived setuid-root id(1), run by nobody.
            let euid = try output("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", mountpoint + "/id", "-u"])
            XCTAssertEqual(euid.trimmingCharacters(in: .whitespacesAndNewlines), lifted ? "0" : "65534")
            let fd = open(mountpoint + "/null", O_RDWR)
            let code = errno
            if fd >= 0 { close(fd) }
            XCTAssertEqual(fd >= 0, lifted, "open of the archived device node: errno \(code)")
        }
    }

    func testAMountpointThatIsNotADirectoryIsRefused() throws {
        let archive = try TestArchive.multiVolume()
        let file = try MountHarness.scratchDirectory("not-a-dir") + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let result = try MountHarness.run([archive, file])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("is not a directory"), result.output)
        XCTAssertFalse(MountHarness.isMounted(file))
    }

    /// An archive stored without extended attributes lists none for any
    /// entry, as ext4 does for a file without any, so cp -a and tar --xattrs
    /// copy it without a word (they warned about every file when listxattr
    /// was ENOTSUP). A getxattr of a name is ENOTSUP without a round trip
    /// (what keeps ls -l fast: docs/MOUNT.md).
    func testXattrCallsOnAnArchiveWithoutXattrs() throws {
        let source = try MountHarness.scratchDirectory("no-xattr-source")
        try SourceTree.write(source + "/a.txt", Array("plain\n".utf8))
        XCTAssertEqual(setxattr(source + "/a.txt", "user.left", "out", 3, 0), 0)
        let out = try MountHarness.scratchDirectory("no-xattr-archive") + "/arc"
        var options = BuildOptions()
        options.xattrs = false
        _ = try ArchiveBuilder(sources: [BytePath(source)], output: BytePath(out), options: options).run()
        XCTAssertTrue(try ArchiveReader(path: out + ".001").index.xattrSets.isEmpty)
        let mount = try MountedArchive(archive: out + ".001")
        defer { mount.unmount() }
        for path in [mount.path("a.txt"), mount.mountpoint] {
            XCTAssertEqual(listxattr(path, nil, 0), 0, path)
            var buffer = [CChar](repeating: 0, count: 64)
            XCTAssertEqual(listxattr(path, &buffer, 64), 0, path)
            var value = [UInt8](repeating: 0, count: 64)
            XCTAssertEqual(getxattr(path, "user.left", &value, 64), -1)
            XCTAssertEqual(errno, ENOTSUP, path)
        }
        // cp -a and tar --xattrs copy the tree without a word.
        let copy = try MountHarness.scratchDirectory("no-xattr-copy") + "/c"
        let cp = try MountHarness.run(["-a", mount.mountpoint, copy], executable: "/bin/cp")
        XCTAssertEqual(cp.status, 0, cp.output)
        XCTAssertEqual(cp.output, "")
        let tar = try MountHarness.run(["--xattrs", "-cf", "/dev/null", "-C", mount.mountpoint, "."], executable: "/bin/tar")
        XCTAssertEqual(tar.status, 0, tar.output)
        XCTAssertEqual(tar.output, "")
    }

    private func output(_ tool: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text
    }
}
