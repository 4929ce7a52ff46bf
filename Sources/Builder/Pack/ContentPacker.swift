import Archive
import Glibc

/// Reads file contents, in storage order, cuts them into content-defined
/// chunks (or takes them, cut and analyzed, from a `ChunkPreparer`) and
/// passes each through the similarity stage: a duplicate becomes a reference
/// to the stored chunk, anything else is placed into the pipeline's frame
/// slots, as its own bytes (literal) or as an LZ4X delta against an earlier
/// literal chunk. Records where every stored chunk went.
final class ContentPacker {
    struct Packed {
        var refs: [UInt32] = []
        var size: UInt64 = 0
    }

    /// A base stored less than this far back in the frame being filled is
    /// left to the frame compressor, which finds it on its own (its hash
    /// tables hold positions from about this far back reliably).
    static let frameCompressorReach = 4 << 20
    /// Encoder settings for the filter's lossless samples: one candidate, no
    /// lazy matching, twice as fast as the frame encoder; the filter averages
    /// them, so it needs no top-K search.
    static let estimateEncoder = LZ4XEncoderOptions(candidates: 1, niceLength: 32, lazy: false,
                                                    hashLog: chunkHashLog, shortHashLog: chunkHashLog)
    /// Hash tables of the per-chunk encoders (delta and estimate): 2^12
    /// buckets, 144 KiB at K = 8, which stay in the L2 cache, where the
    /// frame encoder's 4.25 MiB ones missed it on every probe while the
    /// compression workers streamed through theirs. An input is a chunk and
    /// its base (tens of KiB), so the small tables find the same matches: on
    /// Django 2.2-5.2 in tree order the pack phase went from 3.3-3.8 to
    /// 2.6-2.8 s with the same archive size (+0.02%); 2^11 and 2^10 were no
    /// faster.
    static let chunkHashLog = 12
    /// Delta encoder settings: the frame encoder's, entering every second
    /// position of the base, on small tables. On 4000 8 KiB deltas
    /// (`gpuarc-bench delta`) entering every second position took 16
    /// instead of 25 µs a call for 1% smaller output, and on Django 2.2-5.2
    /// in tree order the same archive size (-0.02%); every fourth position
    /// was another 1.2% larger.
    static func deltaEncoder(_ frame: LZ4XEncoderOptions) -> LZ4XEncoderOptions {
        var o = frame
        o.prefixStep = 2
        o.hashLog = chunkHashLog
        o.shortHashLog = chunkHashLog
        return o
    }

    private let pipeline: FramePipeline
    /// Content samples of the literal chunks in the frame being filled.
    private var sketch = FrameSketch()
    private var slot: FramePipeline.Slot?
    private(set) var chunks: [ChunkRecord] = []
    private(set) var bytesRead: UInt64 = 0
    var onProgress: ((UInt64) -> Void)?
    let stage: SimilarityStage
    /// How files are cut into chunks (a `ChunkPreparer` must cut the same way).
    let chunker: ContentDefinedChunker
    private let sources = ChunkSources()
    private var source: SourceChunks

    /// Chunks are at most one frame long, so that a chunk never straddles frames.
    /// `coder` encodes the deltas; `sampleCoder` (a fast one) measures the
    /// filter's lossless reference.
    init(pipeline: FramePipeline, chunkSize: Int, similarity: SimilarityStageOptions, coder: DeltaCoder,
         sampleCoder: DeltaCoder) {
        self.pipeline = pipeline
        let average = min(chunkSize, pipeline.frameSize)
        chunker = ContentDefinedChunker(averageSize: average, maximumSize: min(average * 8, pipeline.frameSize))
        source = SourceChunks(chunker: chunker)
        let sources = self.sources
        stage = SimilarityStage(options: similarity, coder: coder, estimator: sampleCoder) { sources.read($0) }
        stage.frameReachesBase = { [unowned self] id in
            let base = chunks[Int(id)]
            guard let slot, Int(base.frame) == slot.number else { return false }
            return slot.used - Int(base.offset) < Self.frameCompressorReach
        }
        stage.frameSketchHits = { [unowned self] samples in
            // The sketch describes the frame being filled; a chunk that no
            // longer fits will open a new, empty one (close enough: an estimate).
            guard let slot, sketch.frame == slot.number else { return 0 }
            return sketch.hits(samples, before: slot.used, reach: Self.frameCompressorReach)
        }
    }

    deinit { source.release() }

    /// Stores `expectedSize` bytes of the file at `path`, a file of SRC number
    /// `version`, reading and analyzing it on this thread. A file that shrank
    /// or grew since the scan is stored as far as it was read, with a warning.
    func pack(path: String, expectedSize: UInt64, version: Int, warn: (String) -> Void) throws -> Packed? {
        stage.beginVersion(version)
        sources.beginFile(path)
        var packed = Packed()
        let pipeline = self.pipeline
        let completed = try source.cut(
            path: path, expectedSize: expectedSize, warn: warn,
            checkStop: { if let error = pipeline.error { throw error } },
            progress: { [unowned self] n in
                bytesRead += UInt64(n)
                onProgress?(bytesRead)
            },
            emit: { [unowned self] chunk, offset in
                packed.refs.append(store(chunk, at: offset, analysis: nil))
                packed.size += UInt64(chunk.count)
            })
        return completed ? packed : nil
    }

    /// The same for the next file of `preparer`, which read and analyzed it
    /// ahead (it must be the file at `path`).
    func pack(prepared preparer: ChunkPreparer, path: String, version: Int, warn: (String) -> Void) throws -> Packed? {
        stage.beginVersion(version)
        sources.beginFile(path)
        var packed = Packed()
        while true {
            if let error = pipeline.error { throw error }
            guard let piece = preparer.next() else {
                throw ArchiveError(.io, "internal error: the chunk preparer stopped before \(path)")
            }
            precondition(piece.path == path, "the chunk preparer must deliver files in packing order")
            piece.bytes.withUnsafeBytes { bytes in
                var start = 0
                for chunk in piece.chunks {
                    let data = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + chunk.length)])
                    packed.refs.append(store(data, at: chunk.offset, analysis: chunk.analysis))
                    packed.size += UInt64(chunk.length)
                    start += chunk.length
                }
            }
            bytesRead += UInt64(piece.bytesRead)
            onProgress?(bytesRead)
            piece.warnings.forEach(warn)
            if let completed = piece.outcome { return completed ? packed : nil }
        }
    }

    /// Decides how one chunk (at `offset` in its file) is stored; its chunk id.
    private func store(_ chunk: UnsafeRawBufferPointer, at offset: UInt64, analysis: ChunkAnalysis?) -> UInt32 {
        let decision = analysis.map { stage.process(chunk, analysis: $0) } ?? stage.process(chunk)
        switch decision {
        case .duplicate(let id):
            return id
        case .literal(let id):
            let (frame, position) = place(chunk)
            sketch.enter(frame: Int(frame))
            sketch.insert(stage.lastSamples, at: Int(position))
            chunks.append(.literal(frame: frame, offset: position, length: UInt32(chunk.count)))
            sources.record(offset: offset, length: chunk.count)
            precondition(chunks.count == Int(id) + 1, "chunk ids must follow storage order")
            return id
        case .delta(let id, let base, _, let encoded):
            let (frame, position) = encoded.withUnsafeBytes { place($0) }
            chunks.append(ChunkRecord(kind: .delta, frame: frame, offset: position, storedLength: UInt32(encoded.count),
                                      length: UInt32(chunk.count), base: base))
            sources.record(offset: offset, length: chunk.count)
            precondition(chunks.count == Int(id) + 1, "chunk ids must follow storage order")
            return id
        }
    }

    /// Copies stored bytes into the frame being filled, starting a new frame
    /// when they do not fit; their frame number and offset in it.
    private func place(_ bytes: UnsafeRawBufferPointer) -> (UInt32, UInt32) {
        var current = slot ?? pipeline.takeSlot()
        if current.used + bytes.count > pipeline.frameSize {
            pipeline.submit(current)
            current = pipeline.takeSlot()
        }
        slot = current
        let position = current.used
        if let source = bytes.baseAddress, !bytes.isEmpty {
            current.input.baseAddress!.advanced(by: position).copyMemory(from: source, byteCount: bytes.count)
        }
        current.used += bytes.count
        return (UInt32(current.number), UInt32(position))
    }

    /// Hands the last partly filled frame to the pipeline.
    func flush() {
        if let current = slot, current.used > 0 { pipeline.submit(current) }
        slot = nil
    }
}
