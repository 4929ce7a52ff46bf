import Archive
import Glibc

/// Reads file contents, in storage order, cuts them into content-defined
/// chunks and passes each through the similarity stage: a duplicate becomes a
/// reference to the stored chunk, anything else is placed into the
/// pipeline's frame slots, as its own bytes (literal) or as an LZ4X delta
/// against an earlier literal chunk. Records where every stored chunk went.
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
    static let estimateEncoder = LZ4XEncoderOptions(candidates: 1, niceLength: 32, lazy: false)
    /// Delta encoder settings: the frame encoder's, entering every second
    /// position of the base. On 4000 8 KiB deltas (`gpuarc-bench delta`)
    /// that took 16 instead of 25 µs a call for 1% smaller output, and on
    /// Django 2.2-5.2 in tree order the same archive size (-0.02%); every
    /// fourth position was another 1.2% larger.
    static func deltaEncoder(_ frame: LZ4XEncoderOptions) -> LZ4XEncoderOptions {
        var o = frame
        o.prefixStep = 2
        return o
    }
    /// Bytes read from a file at a time.
    static let readSize = 1 << 20

    private let pipeline: FramePipeline
    /// Content samples of the literal chunks in the frame being filled.
    private var sketch = FrameSketch()
    private var slot: FramePipeline.Slot?
    private(set) var chunks: [ChunkRecord] = []
    private(set) var bytesRead: UInt64 = 0
    var onProgress: ((UInt64) -> Void)?
    let stage: SimilarityStage
    private let sources = ChunkSources()
    private var chunker: StreamingChunker
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ContentPacker.readSize, alignment: 64)

    /// Chunks are at most one frame long, so that a chunk never straddles frames.
    /// `coder` encodes the deltas; `sampleCoder` (a fast one) measures the
    /// filter's lossless reference.
    init(pipeline: FramePipeline, chunkSize: Int, similarity: SimilarityStageOptions, coder: DeltaCoder,
         sampleCoder: DeltaCoder) {
        self.pipeline = pipeline
        let average = min(chunkSize, pipeline.frameSize)
        chunker = StreamingChunker(chunker: ContentDefinedChunker(
            averageSize: average, maximumSize: min(average * 8, pipeline.frameSize)))
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

    deinit { readBuffer.deallocate() }

    /// Stores `expectedSize` bytes of the file at `path`, a file of SRC number
    /// `version`. A file that shrank or grew since the scan is stored as far
    /// as it was read, with a warning.
    func pack(path: String, expectedSize: UInt64, version: Int, warn: (String) -> Void) throws -> Packed? {
        let fd: Int32
        do {
            fd = try SourceFile.open(path)
        } catch {
            warn("cannot read \(path): \(error); not archived")
            return nil
        }
        defer { close(fd) }
        stage.beginVersion(version)
        sources.beginFile(path)
        var packed = Packed()
        var remaining = expectedSize
        var read: UInt64 = 0
        let store = { [unowned self] (chunk: UnsafeRawBufferPointer) in
            packed.refs.append(self.store(chunk, at: packed.size))
            packed.size += UInt64(chunk.count)
        }
        while remaining > 0 {
            if let error = pipeline.error { throw error }
            let want = Int(min(UInt64(Self.readSize), remaining))
            let n: Int
            do {
                n = try Posix.preadFully(fd, readBuffer.baseAddress!, want, read)
            } catch {
                warn("reading \(path) failed after \(read) bytes (\(error)); not archived")
                chunker.finish { _ in }
                return nil
            }
            chunker.append(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), emit: store)
            read += UInt64(n)
            remaining -= UInt64(n)
            bytesRead += UInt64(n)
            onProgress?(bytesRead)
            if n < want {
                warn("\(path) shrank while being archived: stored its first \(read) of \(expectedSize) bytes")
                break
            }
        }
        chunker.finish(emit: store)
        var probe: UInt8 = 0
        if remaining == 0, pread(fd, &probe, 1, off_t(expectedSize)) == 1 {
            warn("\(path) grew while being archived: stored its first \(expectedSize) bytes")
        }
        return packed
    }

    /// Decides how one chunk (at `offset` in its file) is stored; its chunk id.
    private func store(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) -> UInt32 {
        switch stage.process(chunk) {
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
