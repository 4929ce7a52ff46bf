import XCTest
@testable import Archive

final class FormatTests: XCTestCase {
    func testVolumeHeaderRoundTripAndDamage() throws {
        let id = (0..<16).map { UInt8($0 * 7) }
        let bytes = VolumeHeader(archiveID: id, number: 3).encoded()
        XCTAssertEqual(bytes.count, VolumeHeader.size)
        let back = try bytes.withUnsafeBytes { try VolumeHeader.decode($0, volume: "v") }
        XCTAssertEqual(back, VolumeHeader(archiveID: id, number: 3))
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= 0x40
            XCTAssertThrowsError(try bad.withUnsafeBytes { try VolumeHeader.decode($0, volume: "v") }, "byte \(i)")
        }
    }

    func testFrameHeaderRoundTripAndDamage() throws {
        let h = FrameHeader(codec: .lz4x, number: 9, storedSize: 100, decodedSize: 300, payloadHash: 1, decodedHash: 2)
        let bytes = h.encoded()
        XCTAssertEqual(bytes.count, FrameHeader.size)
        XCTAssertEqual(try bytes.withUnsafeBytes { try FrameHeader.decode($0, location: "f") }, h)
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= 0x01
            XCTAssertThrowsError(try bad.withUnsafeBytes { try FrameHeader.decode($0, location: "f") }, "byte \(i)")
        }
    }

    func testFooterChecksPlacement() throws {
        let f = Footer(indexOffset: 100, indexSize: 50)
        let bytes = f.encoded()
        XCTAssertEqual(bytes.count, 24)
        XCTAssertEqual(Array(bytes[16...]), Array("GPU_IDX1".utf8))
        XCTAssertEqual(try bytes.withUnsafeBytes { try Footer.decode($0, fileSize: 174, volume: "v") }, f)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try Footer.decode($0, fileSize: 175, volume: "v") })
        var bad = bytes
        bad[20] = 0x30
        XCTAssertThrowsError(try bad.withUnsafeBytes { try Footer.decode($0, fileSize: 174, volume: "v") })
        let huge = Footer(indexOffset: UInt64.max - 10, indexSize: 100).encoded()
        XCTAssertThrowsError(try huge.withUnsafeBytes { try Footer.decode($0, fileSize: 174, volume: "v") })
        // Fuzzing regression: an index ending just below UInt64.max made `end + 24` trap.
        let nearMax = Footer(indexOffset: UInt64.max - 10, indexSize: 5).encoded()
        XCTAssertThrowsError(try nearMax.withUnsafeBytes { try Footer.decode($0, fileSize: 174, volume: "v") }) {
            XCTAssertTrue("\($0)".contains("footer is damaged"), "\($0)")
        }
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try Footer.decode($0, fileSize: 10, volume: "v") })
    }

    func testVolumeNaming() {
        XCTAssertEqual(VolumeNaming.path(base: "a/OUT", number: 1), "a/OUT.001")
        XCTAssertEqual(VolumeNaming.path(base: "OUT", number: 1234), "OUT.1234")
        XCTAssertEqual(VolumeNaming.base(of: "x/OUT.003"), "x/OUT")
        XCTAssertEqual(VolumeNaming.base(of: "x/OUT.1000"), "x/OUT")
        XCTAssertEqual(VolumeNaming.base(of: "x/OUT"), "x/OUT")
        XCTAssertEqual(VolumeNaming.base(of: "x/OUT.tar"), "x/OUT.tar")
    }
}
