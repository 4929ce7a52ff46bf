import Glibc
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
        XCTAssertEqual(VolumeNaming.existingVolumeNumbers(base: BytePath(dir.appendingPathComponent("m").path)), [1, 2])
    }

    /// Path arithmetic on bytes, including bytes that are not UTF-8.
    func testBytePathComponents() {
        let latin1 = BytePath(Array("/b/caf".utf8) + [0xE9] + Array("/OUT".utf8))
        XCTAssertEqual(latin1.lastComponent, Array("OUT".utf8))
        XCTAssertEqual(latin1.parent.bytes, Array("/b/caf".utf8) + [0xE9])
        XCTAssertEqual(BytePath("x/y/").lastComponent, Array("y".utf8))
        XCTAssertEqual(BytePath("/").lastComponent, [])
        XCTAssertEqual(BytePath("m").parent, ".")
        XCTAssertEqual(BytePath("/m").parent, "/")
        XCTAssertEqual(BytePath("a//b").parent, "a")
        XCTAssertEqual(BytePath("a").appending([0xFF]).bytes, [0x61, 0x2F, 0xFF])
        XCTAssertEqual(VolumeNaming.path(base: BytePath([0xE9]), number: 2).bytes, [0xE9] + Array(".002".utf8))
        XCTAssertEqual(VolumeNaming.path(base: "x", number: 1234), "x.1234")
        XCTAssertEqual(VolumeNaming.base(of: BytePath([0xE9] + Array(".017".utf8))).bytes, [0xE9])
        XCTAssertEqual(VolumeNaming.number(of: Array("m.0001".utf8), prefix: Array("m.".utf8)), nil, "not how volume 1 is named")
        latin1.withCString { XCTAssertEqual(strlen($0), latin1.bytes.count) }
    }

    /// Names print unambiguously: invalid UTF-8, control characters and
    /// backslashes are escaped in octal as `ls -b` does; valid text stays.
    func testEscapedNames() {
        XCTAssertEqual(Escaped.text(Array("caf".utf8) + [0xE9]), "caf\\351")
        XCTAssertEqual(Escaped.text(Array("café".utf8)), "café")
        XCTAssertEqual(Escaped.text(Array("a\nb".utf8)), "a\\012b")
        XCTAssertEqual(Escaped.text(Array("back\\slash".utf8)), "back\\\\slash")
        XCTAssertEqual(Escaped.text([0xEF, 0xBF, 0xBD]), "\u{FFFD}", "a real U+FFFD is printed as itself")
        XCTAssertNotEqual(Escaped.text([0xFF]), Escaped.text([0xEF, 0xBF, 0xBD]), "a bad byte never prints like U+FFFD")
        XCTAssertEqual(Escaped.text([0xC0, 0x80]), "\\300\\200", "overlong encodings are not text")
        XCTAssertEqual(Escaped.text([0xED, 0xA0, 0x80]), "\\355\\240\\200", "surrogates are not text")
        XCTAssertEqual(Escaped.text(Array("\u{202E}x".utf8)), "\\342\\200\\256x", "a bidi override is shown, not obeyed")
    }
}
