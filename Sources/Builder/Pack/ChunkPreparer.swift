import Foundation

/// Reads, chunks and analyzes (SHA-256, features, filter samples) the files to
/// be packed on a thread of its own, ahead of the packer, which is left with
/// the decisions: lookups, delta encoding and placing bytes in frames.
///
/// With deltas on, the packer thread is what the build waits for: the
/// compression workers have less to do (deltas are small) and idle while it
/// works. None of the analysis depends on a decision, so it can run ahead;
/// the packer gets exactly the chunks and analyses it would have computed
/// itself (the archive is the same byte for byte). Without deltas there is
/// too little to split and the third busy thread only slowed builds down
/// (measured, docs/SIMILARITY.md), so the builder uses it only with deltas.
///
/// Files come out in the order given, as pieces of about `pieceBytes` of
/// chunks (a file's last piece may hold fewer); at most about `queuedBytes`
/// wait at a time.
final class ChunkPreparer: @unchecked Sendable {
    struct Chunk {
        let offset: UInt64
        let length: Int
        let analysis: ChunkAnalysis
    }

    /// Consecutive chunks of one file, their bytes back to back.
    struct Piece {
        let path: String
        var bytes: [UInt8] = []
        var chunks: [Chunk] = []
        var bytesRead = 0
        /// Set on a file's last piece: whether the file was read to its end.
        var outcome: Bool?
        /// What went wrong reading the file (emitted by the packer, in order).
        var warnings: [String] = []
    }

    private let queue: BlockingQueue<Piece>
    private let done = DispatchGroup()
    private let stopLock = NSLock()
    private var stopped = false
    private struct Stopped: Error {}

    init(files: [(path: String, size: UInt64)], chunker: ContentDefinedChunker, analyzer: ChunkAnalyzer,
         pieceBytes: Int = 1 << 20, queuedBytes: Int = 16 << 20) {
        queue = BlockingQueue(limit: queuedBytes)
        done.enter()
        // The analyzer and chunker move to the thread and are used only there.
        nonisolated(unsafe) var analyzer = analyzer
        Thread.detachNewThread { [self] in
            var source = SourceChunks(chunker: chunker)
            defer { source.release(); queue.close(); done.leave() }
            for file in files {
                var piece = Piece(path: file.path)
                var refused = false
                let completed = try? source.cut(
                    path: file.path, expectedSize: file.size, warn: { piece.warnings.append($0) },
                    checkStop: { if refused || isStopped { throw Stopped() } },
                    progress: { piece.bytesRead += $0 },
                    emit: { chunk, offset in
                        piece.chunks.append(Chunk(offset: offset, length: chunk.count, analysis: analyzer.analyzeAhead(chunk)))
                        piece.bytes.append(contentsOf: chunk.assumingMemoryBound(to: UInt8.self))
                        if piece.bytes.count >= pieceBytes && !refused {
                            refused = !queue.put(piece, cost: piece.bytes.count)
                            piece = Piece(path: file.path)
                        }
                    })
                guard let completed, !refused else { return }
                piece.outcome = completed
                guard queue.put(piece, cost: piece.bytes.count) else { return }
            }
        }
    }

    private var isStopped: Bool {
        stopLock.lock(); defer { stopLock.unlock() }
        return stopped
    }

    /// The next piece, in file order; nil after the last file (or a stop).
    func next() -> Piece? { queue.take() }

    /// Stops the thread early (the build failed) and waits for it to end.
    func stop() {
        stopLock.lock()
        stopped = true
        stopLock.unlock()
        queue.close()
        done.wait()
    }
}
