import XCTest
@testable import Builder

/// The assembler's string table as a set: each distinct byte string once,
/// strings already in the table (an earlier segment's) found where they are.
final class StringInternerTests: XCTestCase {
    func testEachStringIsStoredOnce() {
        var strings: [UInt8] = []
        var interner = StringInterner()
        var offsets: [[UInt8]: UInt64] = [:]
        // Enough to grow the table several times; names that differ in one
        // byte, in length only, or not at all; the empty string; non-UTF-8.
        var names: [[UInt8]] = [[], [0], [0, 0], [0xE9], Array("caf".utf8) + [0xE9]]
        for k in 0..<3000 { names.append(Array("file-\(k % 1000).txt".utf8)) }
        for k in 0..<300 { names.append([UInt8](repeating: UInt8(k % 7), count: k)) }
        for name in names {
            let offset = interner.intern(name, in: &strings)
            if let earlier = offsets[name] { XCTAssertEqual(offset, earlier) } else { offsets[name] = offset }
            XCTAssertEqual(Array(strings[Int(offset)..<(Int(offset) + name.count)]), name)
        }
        XCTAssertEqual(strings.count, offsets.keys.reduce(0) { $0 + $1.count })
    }

    func testRememberedStringsAreReused() {
        var strings = Array("alphabetaalpha".utf8)
        var interner = StringInterner(expected: 4)
        interner.remember(offset: 0, length: 5, in: strings)   // "alpha"
        interner.remember(offset: 5, length: 4, in: strings)   // "beta"
        interner.remember(offset: 9, length: 5, in: strings)   // "alpha" again: the first stays
        XCTAssertEqual(interner.intern(Array("alpha".utf8), in: &strings), 0)
        XCTAssertEqual(interner.intern(Array("beta".utf8), in: &strings), 5)
        XCTAssertEqual(strings.count, 14)
        XCTAssertEqual(interner.intern(Array("gamma".utf8), in: &strings), 14)
        XCTAssertEqual(strings.count, 19)
    }
}
