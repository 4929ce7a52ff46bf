import XCTest
@testable import Archive
@testable import Builder

/// The builder state an append reads back: its rows round-trip, and the
/// random columns the encoder reports are exactly the digest and feature
/// bytes (what the index codec puts in zlib stored blocks).
final class BuilderStateTests: XCTestCase {
    private func sample() -> BuilderState {
        var state = BuilderState()
        for k in 0..<300 {
            var features: [UInt16]?
            if k % 3 != 0 { features = (0..<ChunkFeatures.count).map { f in UInt16(truncatingIfNeeded: k &* 7919 &+ f &* 31) } }
            let digest = DigestPrefix(high: UInt64(k) &* 0x9E37_79B9_7F4A_7C15, low: ~UInt64(k))
            let filed: UInt32 = k % 5 == 0 ? BuilderState.notFiled : UInt32(1000 + k)
            state.chunks.append(BuilderState.Chunk(digest: digest, version: UInt32(k / 100), filedUnder: filed, features: features))
        }
        for k in 0..<40 {
            let inode = UInt32(10 + 2 * k), ctime = Int64(1_700_000_000 + k)
            state.files.append(BuilderState.FileStamp(inode: inode, ctimeSec: ctime, ctimeNsec: UInt32(k * 1000), ino: UInt64(5000 + k)))
        }
        return state
    }

    func testRowsRoundTripAndRandomColumnsAreTheDigestsAndFeatures() throws {
        let state = sample()
        let (bytes, random) = state.encoded(firstChunk: 1000)
        XCTAssertEqual(try BuilderState(decoding: bytes, firstChunk: 1000, what: "state"), state)
        XCTAssertEqual(random.count, 2)
        let n = state.chunks.count
        // Digests: all high words, then all low words.
        var digests = ByteWriter()
        for c in state.chunks { digests.u64(c.digest.high) }
        for c in state.chunks { digests.u64(c.digest.low) }
        XCTAssertEqual(Array(bytes[random[0]]), digests.bytes)
        // Features: column by column, zero where a chunk has none.
        var features = ByteWriter()
        for f in 0..<ChunkFeatures.count { for c in state.chunks { features.u16(c.features?[f] ?? 0) } }
        XCTAssertEqual(Array(bytes[random[1]]), features.bytes)
        XCTAssertEqual(random[1].count, 2 * ChunkFeatures.count * n)
        // What lies between them (versions, filing) and after (flags, stamps) is not random.
        XCTAssertLessThan(random[0].upperBound, random[1].lowerBound)
        XCTAssertLessThan(random[1].upperBound, bytes.count)
    }
}
