import XCTest
@testable import Archive

final class DeltaChunkCacheTests: XCTestCase {
    /// Hits do not decode again; the recently used survive eviction; the
    /// cache never holds more than its budget.
    func testLeastRecentlyUsedWithinBudget() throws {
        let cache = DeltaChunkCache(budget: 10_000)
        var decodes: [Int] = []
        func get(_ id: Int) throws -> UInt8 {
            try cache.withChunk(id, decode: { decodes.append(id); return [UInt8](repeating: UInt8(id), count: 1000) }) { $0[999] }
        }
        for id in 0..<10 { XCTAssertEqual(try get(id), UInt8(id)) }
        XCTAssertEqual(decodes, Array(0..<10))
        XCTAssertEqual(try get(0), 0)                 // a hit, and now the newest
        XCTAssertEqual(decodes.count, 10)
        XCTAssertEqual(try get(10), 10)               // over budget: the oldest go, 0 stays
        XCTAssertLessThanOrEqual(cache.storedBytes, 10_000)
        decodes = []
        XCTAssertEqual(try get(0), 0)
        XCTAssertEqual(try get(10), 10)
        XCTAssertEqual(decodes, [])
        XCTAssertEqual(try get(1), 1)
        XCTAssertEqual(decodes, [1], "the least recently used chunk was evicted")
    }
}
