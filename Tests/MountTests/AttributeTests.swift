import Archive
import Foundation
@testable import Mount
import XCTest

final class AttributeTests: XCTestCase {
    func testRegularFile() {
        let node = Inode(kind: .regular, mode: 0o100640, uid: 1000, gid: 100, mtimeSec: 1_600_000_000, mtimeNsec: 42,
                         nlink: 3, size: 1025, data: 7, count: 0)
        let st = makeStat(node, number: 9)
        XCTAssertEqual(st.st_ino, 10, "FUSE inode = index inode + 1")
        XCTAssertEqual(st.st_mode, 0o100640)
        XCTAssertEqual([st.st_uid, st.st_gid], [1000, 100])
        XCTAssertEqual(st.st_nlink, 3)
        XCTAssertEqual(st.st_size, 1025)
        XCTAssertEqual(st.st_blocks, 3, "512-byte blocks, rounded up")
        XCTAssertEqual(st.st_blksize, 4096)
        for time in [st.st_mtim, st.st_atim, st.st_ctim] {
            XCTAssertEqual(time.tv_sec, 1_600_000_000)
            XCTAssertEqual(time.tv_nsec, 42)
        }
        XCTAssertEqual(st.st_rdev, 0)
    }

    func testDeviceCarriesRdevAndNoSize() {
        let node = Inode(kind: .charDevice, mode: 0o020600, uid: 0, gid: 0, mtimeSec: 0, mtimeNsec: 0,
                         nlink: 1, size: 0, data: 0x0103, count: 0)
        let st = makeStat(node, number: 0)
        XCTAssertEqual(st.st_rdev, 0x0103)
        XCTAssertEqual(st.st_size, 0)
        XCTAssertEqual(st.st_ino, 1, "the root's number is FUSE_ROOT_ID")
    }
}
