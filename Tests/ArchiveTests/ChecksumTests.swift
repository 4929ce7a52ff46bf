import XCTest
@testable import Archive

final class ChecksumTests: XCTestCase {
    func testXXHash64KnownVectors() {
        XCTAssertEqual(XXHash64.hash([UInt8]()), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXHash64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXHash64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        // Long enough for the 32-byte stripe loop plus every tail path.
        let text = Array("Nobody inspects the spammish repetition".utf8)
        XCTAssertEqual(XXHash64.hash(text), 0xFBCE_A83C_8A37_8BF1)
    }

    func testXXHash64SeesEveryByte() {
        var bytes = [UInt8](repeating: 7, count: 1000)
        let h = XXHash64.hash(bytes)
        for i in stride(from: 0, to: 1000, by: 37) {
            bytes[i] ^= 1
            XCTAssertNotEqual(XXHash64.hash(bytes), h, "flip at \(i) not detected")
            bytes[i] ^= 1
        }
    }

    func testFNV1aKnownVectors() {
        XCTAssertEqual(FNV1a64.hash([UInt8]()), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FNV1a64.hash(Array("a".utf8)), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(FNV1a64.hash(Array("foobar".utf8)), 0x8594_4171_f739_67e8)
    }

    func testByteSizeParsing() {
        XCTAssertEqual(ByteSize.parse("16M"), 16 << 20)
        XCTAssertEqual(ByteSize.parse("1G"), 1 << 30)
        XCTAssertEqual(ByteSize.parse("512k"), 512 << 10)
        XCTAssertEqual(ByteSize.parse("4096"), 4096)
        XCTAssertNil(ByteSize.parse("12X"))
        XCTAssertNil(ByteSize.parse(""))
        XCTAssertNil(ByteSize.parse("-1"))
        XCTAssertNil(ByteSize.parse("99999999999999999999T"))
    }
}

final class FNVInterleavedTests: XCTestCase {
    /// hash4 equals four separate hashes, whatever the lengths (equal, one
    /// empty, all different, the common part ending anywhere).
    func testHash4MatchesSeparateHashes() {
        var rng = SystemRandomNumberGenerator()
        let lengthSets = [[0, 0, 0, 0], [5, 5, 5, 5], [0, 7, 7, 7], [1, 100, 37, 4096], [4096, 4095, 1, 3000]]
        for lengths in lengthSets {
            let buffers = lengths.map { n in (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }
            let h = buffers[0].withUnsafeBytes { a in buffers[1].withUnsafeBytes { b in
                buffers[2].withUnsafeBytes { c in buffers[3].withUnsafeBytes { d in FNV1a64.hash4(a, b, c, d) } } } }
            XCTAssertEqual([h.0, h.1, h.2, h.3], buffers.map(FNV1a64.hash), "lengths \(lengths)")
        }
    }
}
