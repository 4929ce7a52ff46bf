import XCTest
@testable import Builder

final class ContentOrderTests: XCTestCase {
    /// Versions of one file sit side by side, whatever the directory and
    /// however a SRC was spelled (with or without a trailing slash).
    func testVersionsOfAFileAreAdjacent() {
        let sources = ["/b/v1", "/b/v2/", "/b/v3"]
        let items: [(node: Int, path: String, version: Int)] = [
            (0, "/b/v1/src/main.c", 0), (1, "/b/v1/README", 0), (2, "/b/v1/src/util.c", 0),
            (3, "/b/v2/src/main.c", 1), (4, "/b/v2/README", 1),
            (5, "/b/v3/src/main.c", 2), (6, "/b/v3/src/util.c", 2),
        ]
        let order = ContentOrder.similarity.arrange(items, sources: sources)
        XCTAssertEqual(order, [1, 4, 0, 3, 5, 2, 6])
        XCTAssertEqual(ContentOrder.tree.arrange(items, sources: sources), Array(0...6))
    }

    /// `path`: versions of a file side by side, and each directory's files
    /// stay together (a directory never interleaves with a sibling whose name
    /// extends its own, like "src" and "src.old").
    func testPathOrderKeepsDirectoriesTogether() {
        let sources = ["/b/v1", "/b/v2/"]
        let items: [(node: Int, path: String, version: Int)] = [
            (0, "/b/v1/src/main.c", 0), (1, "/b/v1/src.old/main.c", 0), (2, "/b/v1/src/util.c", 0),
            (3, "/b/v1/README", 0), (4, "/b/v2/src/util.c", 1), (5, "/b/v2/src/main.c", 1),
            (6, "/b/v2/src.old/main.c", 1),
        ]
        let order = ContentOrder.path.arrange(items, sources: sources)
        XCTAssertEqual(order, [3, 1, 6, 0, 5, 2, 4])
        XCTAssertEqual(BuildOptions().order, .path, "path order is the default")
    }
}
