import Archive
import Foundation
@testable import Mount
import XCTest

final class OptionTests: XCTestCase {
    func testSizes() throws {
        XCTAssertEqual(try parseSize("4096"), 4096)
        XCTAssertEqual(try parseSize("64K"), 64 << 10)
        XCTAssertEqual(try parseSize("512m"), 512 << 20)
        XCTAssertEqual(try parseSize("2GiB"), 2 << 30)
        XCTAssertThrowsError(try parseSize("12Q"))
        XCTAssertThrowsError(try parseSize("M"))
        XCTAssertThrowsError(try parseSize("-5"))
    }

    func testFstabStyleOptionsAfterPositionals() throws {
        // What mount.fuse3 runs for: /a/b.001 /mnt fuse.gpuarc-mount ro,allow_other,cache_size=1G 0 0
        let options = try MountOptions.parse(["/a/b.001", "/mnt", "-o", "ro,allow_other,cache_size=1G,decoder=cpu,device=0:2,dev,suid"])
        XCTAssertEqual(options.archive, "/a/b.001")
        XCTAssertEqual(options.mountpoint, "/mnt")
        XCTAssertEqual(options.cacheBytes, 1 << 30)
        XCTAssertEqual(options.decoder, .cpu)
        XCTAssertEqual(options.devices, "0,2")
        // mount.fuse3 appends "dev,suid" to every line: they do not lift nosuid,nodev.
        XCTAssertEqual(options.fuseOptions, ["allow_other"])
        XCTAssertFalse(options.foreground)
        let fuse = MountCommand.fuseArguments(options)
        XCTAssertEqual(fuse[1], "-o")
        XCTAssertTrue(fuse[2].hasPrefix("ro,fsname=/a/b.001,subtype=gpuarc,nosuid,nodev,default_permissions,allow_other"), fuse[2])
    }

    func testSetuidAndDevicesOnlyWhenAskedByName() throws {
        for list in ["suid,dev", "nosuid", "allow_other"] {
            let fuse = MountCommand.fuseArguments(try MountOptions.parse(["a.001", "m", "-o", list]))[2].split(separator: ",")
            XCTAssertTrue(fuse.contains("nosuid") && fuse.contains("nodev") && !fuse.contains("suid") && !fuse.contains("dev"), "\(list): \(fuse)")
        }
        let lifted = MountCommand.fuseArguments(try MountOptions.parse(["a.001", "m", "-o", "allow_suid,allow_dev,dev,suid"]))[2].split(separator: ",")
        XCTAssertTrue(lifted.contains("suid") && lifted.contains("dev") && !lifted.contains("nosuid") && !lifted.contains("nodev"), "\(lifted)")
    }

    func testFlagsAnywhere() throws {
        let options = try MountOptions.parse(["-f", "--cache-size", "64M", "x.001", "-oauto_unmount", "m", "--decoder=auto"])
        XCTAssertTrue(options.foreground)
        XCTAssertEqual(options.cacheBytes, 64 << 20)
        XCTAssertEqual(options.fuseOptions, ["auto_unmount"])
        XCTAssertEqual([options.archive, options.mountpoint], ["x.001", "m"])
        XCTAssertFalse(MountCommand.fuseArguments(options)[2].contains("default_permissions"))
    }

    func testCommasInThePathAreEscapedForLibfuse() throws {
        let options = try MountOptions.parse(["/b,ack\\up.001", "/mnt"])
        XCTAssertTrue(MountCommand.fuseArguments(options)[2].contains("fsname=/b\\,ack\\\\up.001,"))
    }

    func testUsageErrors() {
        XCTAssertThrowsError(try MountOptions.parse(["only-one"]))
        XCTAssertThrowsError(try MountOptions.parse(["a", "b", "c"]))
        XCTAssertThrowsError(try MountOptions.parse(["a", "b", "--bogus"]))
        XCTAssertThrowsError(try MountOptions.parse(["a", "b", "--decoder", "tpu"]))
        XCTAssertThrowsError(try MountOptions.parse(["a", "b", "-o"]))
    }
}
