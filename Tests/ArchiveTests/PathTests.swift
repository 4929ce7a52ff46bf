import XCTest
@testable import Archive

final class PathTests: XCTestCase {
    /// One-character names used to trap inside Foundation (an OUT named "m").
    func testParentDirectory() {
        XCTAssertEqual(parentDirectory(of: "m"), ".")
        XCTAssertEqual(parentDirectory(of: "OUT"), ".")
        XCTAssertEqual(parentDirectory(of: "a/m"), "a")
        XCTAssertEqual(parentDirectory(of: "/m"), "/")
        XCTAssertEqual(parentDirectory(of: "/x/y/OUT"), "/x/y")
        XCTAssertEqual(parentDirectory(of: "x/y/"), "x")
        XCTAssertEqual(parentDirectory(of: "/"), "/")
    }

    func testVolumeNumbersForOneCharacterBase() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-path-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["m.001", "m.002", "mm.003"] { FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data()) }
        XCTAssertEqual(VolumeNaming.existingVolumeNumbers(base: dir.appendingPathComponent("m").path), [1, 2])
    }
}
