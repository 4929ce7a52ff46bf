import XCTest
@testable import Builder

final class ContentOrderTests: XCTestCase {
    /// Items keyed by their path (what `VariantDirectories.orderKey` gives
    /// where no directory is a variant parent).
    private func relative(_ items: [(Int, String, Int)]) -> [ContentOrder.Item] {
        items.map { item(node: $0.0, key: Array($0.1.utf8), version: $0.2) }
    }

    private func item(node: Int, key: [UInt8], version: Int) -> ContentOrder.Item {
        let name = key.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? key
        return ContentOrder.Item(node: node, key: key, name: name, version: version)
    }

    /// Names are bytes: a Latin-1 name and its UTF-8 look-alike are two
    /// files, ordered by their bytes, never merged into one key.
    func testNamesThatAreNotUTF8KeepTheirOwnPlace() {
        let items = [
            item(node: 0, key: Array("d".utf8) + [0xFF] + Array("/a".utf8), version: 0),
            item(node: 1, key: Array("d\u{FFFD}/a".utf8), version: 0),
            item(node: 2, key: Array("d".utf8) + [0xFF] + Array("/a".utf8), version: 1),
        ]
        XCTAssertEqual(ContentOrder.path.arrange(items), [1, 0, 2])
    }

    /// Versions of one file sit side by side, whatever the directory and
    /// however a SRC was spelled (with or without a trailing slash).
    func testVersionsOfAFileAreAdjacent() {
        let items = relative([
            (0, "src/main.c", 0), (1, "README", 0), (2, "src/util.c", 0),
            (3, "src/main.c", 1), (4, "README", 1),
            (5, "src/main.c", 2), (6, "src/util.c", 2),
        ])
        let order = ContentOrder.similarity.arrange(items)
        XCTAssertEqual(order, [1, 4, 0, 3, 5, 2, 6])
        XCTAssertEqual(ContentOrder.tree.arrange(items), Array(0...6))
    }

    /// `path`: versions of a file side by side, and each directory's files
    /// stay together (a directory never interleaves with a sibling whose name
    /// extends its own, like "src" and "src.old").
    func testPathOrderKeepsDirectoriesTogether() {
        let items = relative([
            (0, "src/main.c", 0), (1, "src.old/main.c", 0), (2, "src/util.c", 0),
            (3, "README", 0), (4, "src/util.c", 1), (5, "src/main.c", 1),
            (6, "src.old/main.c", 1),
        ])
        let order = ContentOrder.path.arrange(items)
        XCTAssertEqual(order, [3, 1, 6, 0, 5, 2, 4])
        XCTAssertEqual(BuildOptions().order, .path, "path order is the default")
    }
}
