import Glibc
import XCTest
@testable import Builder

/// The thread that reads, chunks and analyzes files ahead of the packer.
final class ChunkPreparerTests: ScratchTestCase {
    private let chunker = ContentDefinedChunker(averageSize: 2048, maximumSize: 16384)
    private let options = SimilarityStageOptions(filterSampleInterval: 3)

    private func analyzer() -> ChunkAnalyzer {
        ChunkAnalyzer(options: options, estimator: LZ4XDeltaCoder(options: ContentPacker.estimateEncoder))
    }

    /// Every file comes back, in order, as pieces whose chunks rebuild it and
    /// carry the analyses an inline analyzer computes for the same chunks;
    /// a file that cannot be read says so on its last piece, and one that is
    /// not the version scanned says it changed.
    func testPiecesRebuildEachFileWithTheInlineAnalyses() throws {
        let dir = temp("prep")
        var rng = SimilarityTestRNG(seed: 5)
        var contents: [(String, [UInt8]?)] = [
            ("big", rng.text(700_000)), ("one", [42]), ("empty", []), ("missing", nil),
            ("exact", rng.text(16384)), ("random", rng.bytes(100_000)), ("changed", nil),
        ]
        let copy = contents[4].1!
        contents.append(("copy", copy))
        for (name, bytes) in contents {
            FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(bytes ?? [1, 2, 3]))
        }
        let source = try ScannedSource(dir)
        unlink(dir + "/missing")
        FileManager.default.createFile(atPath: dir + "/changed", contents: Data([4, 5, 6, 7]))
        let files = contents.map { source.node($0.0) }
        let preparer = ChunkPreparer(files: files, sources: source.files,
                                     identities: Dictionary(uniqueKeysWithValues: files.map { ($0, source.tree.nodes[$0].identity) }),
                                     chunker: chunker, analyzer: analyzer(), pieceBytes: 64 << 10, queuedBytes: 100 << 10)
        var inline = analyzer()
        for ((name, expected), node) in zip(contents, files) {
            var rebuilt: [UInt8] = []
            var pieces = 0
            var outcome: ChunkPreparer.Outcome?
            var analyses: [ChunkAnalysis] = []
            while outcome == nil {
                let piece = try XCTUnwrap(preparer.next(), "\(name): the preparer ended early")
                XCTAssertEqual(piece.node, node)
                XCTAssertEqual(piece.bytes.count, piece.chunks.reduce(0) { $0 + $1.length })
                var start = 0
                for chunk in piece.chunks {
                    XCTAssertEqual(chunk.offset, UInt64(rebuilt.count), "\(name): chunks follow each other")
                    let bytes = Array(piece.bytes[start..<(start + chunk.length)])
                    XCTAssertEqual(chunk.analysis, bytes.withUnsafeBytes { inline.analyzeAhead($0) }, "\(name) at \(chunk.offset)")
                    rebuilt += bytes
                    analyses.append(chunk.analysis)
                    start += chunk.length
                }
                pieces += 1
                outcome = piece.outcome
            }
            switch (name, outcome!) {
            case ("missing", .failed(let reason)):
                XCTAssertTrue(reason.contains("vanished"), reason)
            case ("changed", .changed):
                XCTAssertEqual(rebuilt, [], "a file not at its scanned identity is not read")
            case (_, .consistent):
                XCTAssertEqual(rebuilt, expected, name)
            default:
                XCTFail("\(name): \(outcome!)")
            }
            if name == "copy" {
                XCTAssertTrue(analyses.allSatisfy { $0.resemblance == nil }, "chunks seen before need no resemblance")
            } else if expected != nil && !expected!.isEmpty {
                XCTAssertTrue(analyses.allSatisfy { $0.resemblance != nil }, name)
            }
            if name == "big" { XCTAssertGreaterThanOrEqual(pieces, 10, "700 KB in pieces of about 64 KiB") }
        }
        XCTAssertNil(preparer.next(), "nothing after the last file")
        preparer.stop()
    }

    /// A build that fails stops the preparer while it waits for queue room.
    func testStopEndsAPreparerThatIsWaitingForRoom() throws {
        let dir = temp("stop")
        var rng = SimilarityTestRNG(seed: 6)
        let data = Data(rng.text(50_000))
        for i in 0..<40 { FileManager.default.createFile(atPath: dir + "/f\(i)", contents: data) }
        let source = try ScannedSource(dir)
        let files = (0..<40).map { source.node("f\($0)") }
        let preparer = ChunkPreparer(files: files, sources: source.files,
                                     identities: Dictionary(uniqueKeysWithValues: files.map { ($0, source.tree.nodes[$0].identity) }),
                                     chunker: chunker, analyzer: analyzer(), pieceBytes: 8 << 10, queuedBytes: 16 << 10)
        XCTAssertNotNil(preparer.next())
        let stopped = expectation(description: "stop returns")
        Thread.detachNewThread {
            preparer.stop()
            stopped.fulfill()
        }
        wait(for: [stopped], timeout: 30)
    }
}

final class BlockingQueueTests: XCTestCase {
    /// With a limit, a put waits while the queued items cost too much, and a
    /// closed queue refuses puts (so a waiting producer is released).
    func testPutWaitsForRoomAndCloseReleasesIt() {
        let queue = BlockingQueue<Int>(limit: 10)
        XCTAssertTrue(queue.put(1, cost: 8))
        let second = expectation(description: "second put")
        let done = NSLock()
        nonisolated(unsafe) var putReturned = false
        Thread.detachNewThread {
            XCTAssertTrue(queue.put(2, cost: 8))
            done.lock(); putReturned = true; done.unlock()
            second.fulfill()
        }
        usleep(100_000)
        done.lock(); XCTAssertFalse(putReturned, "8 + 8 exceeds the limit of 10: the put must wait"); done.unlock()
        XCTAssertEqual(queue.take(), 1)
        wait(for: [second], timeout: 30)
        XCTAssertEqual(queue.take(), 2)
        XCTAssertTrue(queue.put(3, cost: 100), "costlier than the limit, but the queue is empty")
        queue.close()
        XCTAssertFalse(queue.put(4, cost: 1))
        XCTAssertEqual(queue.take(), 3)
        XCTAssertNil(queue.take())
    }

    /// A taken item is the taker's alone: the queue keeps no reference to it
    /// (it used to, until it compacted, which held 100+ MB of chunk batches).
    func testTakenItemsAreReleased() {
        final class Payload {}
        let queue = BlockingQueue<Payload>()
        weak var first: Payload?
        do {
            let payload = Payload()
            first = payload
            queue.put(payload)
            queue.put(Payload())
        }
        XCTAssertNotNil(first, "queued items are kept")
        _ = queue.take()
        XCTAssertNil(first, "a taken item is released")
    }
}
