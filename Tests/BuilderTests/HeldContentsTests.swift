import XCTest
@testable import Builder

/// What `HeldContents` hands out after dedup. The probe threads race to claim
/// a content, so the bytes may be held for a copy rather than for the file
/// stored in its place: they must then serve that file, and only while it is
/// still as scanned.
final class HeldContentsTests: XCTestCase {
    private func digest(_ bytes: [UInt8]) -> ChunkDigest {
        bytes.withUnsafeBytes { ChunkDigest(of: $0) }
    }

    func testBytesHeldForACopyServeTheFileStoredInItsPlace() {
        let held = HeldContents(limit: 1 << 20)
        let shared: [UInt8] = Array("shared".utf8), own: [UInt8] = Array("own".utf8), other: [UInt8] = Array("other".utf8)
        // Node 2 (a copy of 1) claimed the shared content first; node 3 is a
        // copy of 4, both held (4 claimed its bytes before the race was seen).
        XCTAssertTrue(held.claim(digest(shared), size: shared.count))
        XCTAssertFalse(held.claim(digest(shared), size: shared.count), "one claim per content")
        held.hold(2, shared)
        XCTAssertTrue(held.claim(digest(own), size: own.count))
        held.hold(4, own)
        held.hold(3, other)
        held.settle(copies: [2: 1, 3: 4])
        XCTAssertNil(held.take(2, ifStill: { _ in true }), "a copy is never stored")
        XCTAssertNil(held.take(3, ifStill: { _ in true }))
        XCTAssertEqual(held.take(4, ifStill: { _ in true }), own, "its own bytes, not its copy's")
        XCTAssertEqual(held.take(1, ifStill: { $0 == 1 }), shared, "the copy's bytes, checked against node 1")
        XCTAssertEqual(held.filesTaken, 2)
        held.hold(5, shared)
        XCTAssertNil(held.take(5, ifStill: { _ in false }), "not handed out once the file changed")
        XCTAssertNil(held.take(5, ifStill: { _ in true }), "and not kept for a second try")
        XCTAssertEqual(held.filesTaken, 2)
    }

    func testClaimsStopAtTheLimitAndAtTheLargestFile() {
        let held = HeldContents(limit: 10)
        XCTAssertTrue(held.claim(digest([1]), size: 6))
        XCTAssertFalse(held.claim(digest([2]), size: 5), "past the limit")
        XCTAssertTrue(held.claim(digest([3]), size: 4))
        XCTAssertFalse(HeldContents(limit: 1 << 30).claim(digest([4]), size: HeldContents.largestFile + 1))
    }
}
