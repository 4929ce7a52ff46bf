import Foundation

/// Reads, chunks and analyzes (SHA-256, features, filter samples) the files to
/// be packed on a thread of its own, ahead of the packer, which is left with
/// the decisions: lookups, delta encoding and placing bytes in frames.
///
/// With deltas on, the packer thread is what the build waits for: the
/// compression workers have less to do (deltas are small) and idle while it
/// works. None of the analysis depends on a decision, so it can run ahead;
/// the packer gets the chunks it would have cut and analyses that lead to
/// the same decisions (the archive is the same byte for byte; a chunk whose
/// digest was seen before comes without features, which the stage computes
/// should it not be a duplicate after all). Without deltas there is
/// too little to split and the third busy thread only slowed builds down
/// (measured, docs/SIMILARITY.md), so the builder uses it only with deltas.
///
/// Files come out in the order given, as pieces of about `pieceBytes` of
/// chunks (a file's last piece may hold fewer); at most about `queuedBytes`
/// wait at a time. Pieces cross between the threads in batches of about
/// `pieceBytes` (or `batchFiles` small files): one hand-over per small file
/// woke the packer tens of thousands of times per build, which cost more
/// than running ahead saved where the packer is not what the build waits for.
final class ChunkPreparer: @unchecked Sendable {
    struct Chunk {
        let offset: UInt64
        let length: Int
        let analysis: ChunkAnalysis
    }

    /// How reading a file ahead ended (set on its last piece).
    enum Outcome {
        /// Read whole, and still the version the scan saw.
        case consistent
        /// Not the version scanned when opened, or changed while read: the
        /// packer reads it afresh (its chunks so far are wasted, not wrong).
        case changed
        /// Cannot be stored (gone, not a regular file, a read error): why.
        case failed(String)
    }

    /// Consecutive chunks of one file, their bytes back to back.
    struct Piece {
        let node: Int
        /// Set on a file's first piece when it opened: where its chunks come from.
        var source: ChunkTable.SourceFile?
        var bytes: [UInt8] = []
        var chunks: [Chunk] = []
        var bytesRead = 0
        var outcome: Outcome?
    }

    private let queue: BlockingQueue<[Piece]>
    /// The batch being handed out (the packer's side).
    private var batch: [Piece] = []
    private var batchNext = 0
    static let batchFiles = 256
    private let done = DispatchGroup()
    private let stopLock = NSLock()
    private var stopped = false
    private struct Stopped: Error {}

    /// Reads `files` (node ids, each expected at its scanned identity)
    /// through `sources`, or takes those still as scanned from `held`.
    init(files: [Int], sources: SourceFiles, held: HeldContents? = nil, identities: [Int: FileIdentity],
         chunker: ContentDefinedChunker, analyzer: ChunkAnalyzer, pieceBytes: Int = 1 << 20, queuedBytes: Int = 16 << 20) {
        queue = BlockingQueue(limit: queuedBytes)
        done.enter()
        // The analyzer and chunker move to the thread and are used only there.
        nonisolated(unsafe) var analyzer = analyzer
        Thread.detachNewThread { [self] in
            var source = SourceChunks(chunker: chunker)
            defer { source.release(); queue.close(); done.leave() }
            var pending: [Piece] = []
            var pendingBytes = 0
            // Queues `piece`, handing the batch over when it is big enough (or `force`); false once stopped.
            func send(_ piece: Piece?, force: Bool = false) -> Bool {
                if let piece {
                    pending.append(piece)
                    pendingBytes += piece.bytes.count
                }
                guard force || pendingBytes >= pieceBytes || pending.count >= Self.batchFiles else { return true }
                defer { pending = []; pendingBytes = 0 }
                return pending.isEmpty || queue.put(pending, cost: pendingBytes)
            }
            var refused = false
            var piece = Piece(node: 0)
            // Adds a chunk to the file's piece, sending pieces as they fill.
            func emit(_ chunk: UnsafeRawBufferPointer, _ offset: UInt64) {
                piece.chunks.append(Chunk(offset: offset, length: chunk.count, analysis: analyzer.analyzeAhead(chunk)))
                piece.bytes.append(contentsOf: chunk.assumingMemoryBound(to: UInt8.self))
                if piece.bytes.count >= pieceBytes && !refused {
                    refused = !send(piece)
                    piece = Piece(node: piece.node)
                }
            }
            for node in files {
                piece = Piece(node: node)
                if let identity = identities[node], let bytes = held?.take(node, ifStill: sources.isAsScanned) {
                    guard !isStopped else { return }
                    piece.source = ChunkTable.SourceFile(node: node, identity: identity, extents: nil)
                    source.cut(bytes: bytes, emit: emit)
                    guard !refused else { return }
                    piece.bytesRead = bytes.count
                    piece.outcome = .consistent
                    guard send(piece) else { return }
                    continue
                }
                let opened: OpenSource
                do {
                    opened = try sources.open(node, expecting: identities[node])
                } catch let problem as CaptureProblem {
                    piece.outcome = problem.kind == .changed ? .changed : .failed(problem.description)
                    guard send(piece) else { return }
                    continue
                } catch {
                    return
                }
                let extents = opened.dataExtents()
                piece.source = ChunkTable.SourceFile(node: node, identity: opened.identity, extents: extents)
                let failure: String?
                do {
                    failure = try source.cut(
                        opened, extents: extents,
                        checkStop: { if refused || isStopped { throw Stopped() } },
                        progress: { piece.bytesRead += $0 },
                        emit: emit)
                } catch {
                    return
                }
                guard !refused else { return }
                sources.didRead(node, .store)
                piece.outcome = failure.map { .failed($0) } ?? (opened.unchanged() ? .consistent : .changed)
                guard send(piece) else { return }
            }
            _ = send(nil, force: true)
        }
    }

    private var isStopped: Bool {
        stopLock.lock(); defer { stopLock.unlock() }
        return stopped
    }

    /// The next piece, in file order; nil after the last file (or a stop).
    func next() -> Piece? {
        if batchNext == batch.count {
            guard let more = queue.take() else { return nil }
            batch = more
            batchNext = 0
        }
        batchNext += 1
        return batch[batchNext - 1]
    }

    /// Stops the thread early (the build failed) and waits for it to end.
    func stop() {
        stopLock.lock()
        stopped = true
        stopLock.unlock()
        queue.close()
        done.wait()
    }
}
