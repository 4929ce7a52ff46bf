import Archive
import ArchiveWriter
import Glibc

/// Stores file contents, in storage order: cuts them into content-defined
/// chunks (or takes them, cut and analyzed, from a `ChunkPreparer`), passes
/// each through the similarity stage, and places what it decides into the
/// pipeline's frame slots: a duplicate becomes a reference to the stored
/// chunk; anything else goes into the frame being filled, as its own bytes
/// (literal) or as a delta against an earlier literal chunk. The chunk
/// table records where every stored chunk came from and went.
///
/// Every file is read through `SourceFiles` and checked, once read, to still
/// be the version it was when opened (`capture`): a file that changed is
/// read again, afresh, and a file whose content is stored is always stored
/// as one version of it.
final class ContentPacker {
    /// A file's content as stored: its chunk references (in order), its
    /// size, its data extents if it has holes, and the identity it had.
    struct Captured {
        var refs: [UInt32] = []
        var size: UInt64 = 0
        var extents: [DataExtent]?
        var identity: FileIdentity
        /// Set when the file was not the version the scan saw (it changed
        /// since, or while it was read): the attributes of the version stored.
        var fresh: EntryMetadata?
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
    /// Delta encoder settings: the top level's search whatever the frames'
    /// level (a delta is kept only if it is small, so its encoder decides
    /// what deltas are worth, and there are few of them), entering every
    /// second position of the base, on small tables. On 4000 8 KiB deltas
    /// (`gpuarc-bench delta`) entering every second position took 16
    /// instead of 25 µs a call for 1% smaller output, and on Django 2.2-5.2
    /// in tree order the same archive size (-0.02%); every fourth position
    /// was another 1.2% larger.
    static let deltaEncoder: LZ4XEncoderOptions = {
        var o = LZ4XLevel.options(LZ4XLevel.top)
        o.prefixStep = 2
        o.hashLog = chunkHashLog
        o.shortHashLog = chunkHashLog
        return o
    }()

    private let pipeline: FramePipeline
    /// `bytesRead` when the frame being filled was opened: the frame stands
    /// for what was read since (`FramePipeline.Slot.sourceBytes`).
    private var readAtFrameStart: UInt64 = 0
    /// Content samples of the literal chunks in the frame being filled.
    private let sketch = FrameSketch()
    private var slot: FramePipeline.Slot?
    /// Every stored chunk: digest, source, placement.
    let table: ChunkTable
    private(set) var bytesRead: UInt64 = 0 { didSet { readBudget.sourceBytes = Int(clamping: bytesRead) } }
    /// Limits what an append decodes of its archive for delta bases.
    private let readBudget: ArchiveReadBudget
    var onProgress: ((UInt64) -> Void)?
    let stage: SimilarityStage
    /// How files are cut into chunks (a `ChunkPreparer` must cut the same way).
    let chunker: ContentDefinedChunker
    private let files: SourceFiles
    /// Small files dedup read whole, stored from there while still as scanned.
    private let held: HeldContents?
    private var source: SourceChunks
    /// Read the attributes of a file stored afresh (`--no-xattrs`: false).
    private let readXattrs: Bool

    /// Chunks are at most this many times the average size.
    static let maximumChunkFactor = 8

    /// Chunks are at most one frame long, so that a chunk never straddles frames.
    /// `coder` encodes the deltas; `sampleCoder` (a fast one) measures the
    /// filter's lossless reference.
    /// An append passes the chunk table that continues the archive's and
    /// the archive, whose chunks are read back from it.
    init(pipeline: FramePipeline, files: SourceFiles, held: HeldContents? = nil, chunkSize: Int, similarity: SimilarityStageOptions,
         coder: DeltaCoder, sampleCoder: DeltaCoder, readXattrs: Bool = true, table: ChunkTable = ChunkTable(),
         archive: ArchiveReader? = nil) {
        self.pipeline = pipeline
        self.table = table
        self.files = files
        self.held = held
        self.readXattrs = readXattrs
        let average = min(chunkSize, pipeline.frameSize)
        chunker = ContentDefinedChunker(averageSize: average, maximumSize: min(average * Self.maximumChunkFactor, pipeline.frameSize))
        source = SourceChunks(chunker: chunker)
        let stored = StoredChunks(table: table, files: files, archive: archive)
        readBudget = stored.budget
        stage = SimilarityStage(options: similarity, coder: coder, estimator: sampleCoder, table: table, chunks: stored)
    }

    deinit { source.release() }

    /// Stores file `node` (of SRC number `version`), reading it on this
    /// thread. `expecting`: the identity it must have (the scan's), or nil
    /// to take it as it is now. A file not at that identity, or that changes
    /// while read, is read once more as it is then; the result is a content
    /// read whole from one version of the file, or why there is none.
    /// `previousVersion`, in an append: the file's previous version, whose
    /// chunk at the same offset is a chunk's base when the similarity index
    /// finds none.
    func capture(_ node: Int, expecting: FileIdentity?, version: Int,
                 previousVersion: PreviousVersion? = nil) throws -> Result<Captured, CaptureProblem> {
        stage.beginVersion(version)
        if let expecting, let bytes = held?.take(node, ifStill: files.isAsScanned) {
            if let error = pipeline.error { throw error }
            table.beginFile(ChunkTable.SourceFile(node: node, identity: expecting, extents: nil))
            var captured = Captured(identity: expecting)
            source.cut(bytes: bytes) { chunk, offset in
                captured.refs.append(store(chunk, at: offset, analysis: nil, previousVersion: previousVersion))
            }
            captured.size = UInt64(bytes.count)
            bytesRead += UInt64(bytes.count)
            onProgress?(bytesRead)
            return .success(captured)
        }
        var expected = expecting
        for attempt in 1...2 {
            let opened: OpenSource
            do {
                opened = try files.open(node, expecting: expected)
            } catch let problem where problem.kind == .changed && attempt == 1 {
                expected = nil
                continue
            } catch {
                return .failure(error)
            }
            let fresh: EntryMetadata?
            do {
                fresh = expected == nil ? try freshMetadata(opened) : nil
            } catch let problem as CaptureProblem {
                return .failure(problem)
            }
            let extents = opened.dataExtents()
            table.beginFile(ChunkTable.SourceFile(node: node, identity: opened.identity, extents: extents))
            var captured = Captured(extents: extents, identity: opened.identity, fresh: fresh)
            let pipeline = self.pipeline
            let failure = try source.cut(
                opened, extents: extents,
                checkStop: { if let error = pipeline.error { throw error } },
                progress: { [unowned self] n in
                    bytesRead += UInt64(n)
                    onProgress?(bytesRead)
                },
                emit: { [unowned self] chunk, offset in
                    captured.refs.append(store(chunk, at: offset, analysis: nil, previousVersion: previousVersion))
                    captured.size += UInt64(chunk.count)
                })
            if let failure { return .failure(CaptureProblem(kind: .gone, description: failure)) }
            files.didRead(node, .store)
            if opened.unchanged() {
                captured.size = UInt64(opened.st.st_size)
                return .success(captured)
            }
            expected = nil
        }
        return .failure(CaptureProblem(kind: .gone, description: "it changed while being read, twice"))
    }

    /// The same for the next file of `preparer`, which opened, read and
    /// analyzed it ahead (it must be file `node`, expected at the scan's
    /// identity); a file it found changed is read again here, afresh.
    func capture(prepared preparer: ChunkPreparer, _ node: Int, version: Int,
                 previousVersion: PreviousVersion? = nil) throws -> Result<Captured, CaptureProblem> {
        stage.beginVersion(version)
        var captured: Captured?
        while true {
            if let error = pipeline.error { throw error }
            guard let piece = preparer.next() else {
                throw ArchiveError(.io, "internal error: the chunk preparer stopped before \(files.displayPath(node))")
            }
            precondition(piece.node == node, "the chunk preparer must deliver files in packing order")
            if let source = piece.source {
                table.beginFile(source)
                captured = Captured(extents: source.extents, identity: source.identity)
            }
            piece.bytes.withUnsafeBytes { bytes in
                var start = 0
                for chunk in piece.chunks {
                    let data = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + chunk.length)])
                    captured!.refs.append(store(data, at: chunk.offset, analysis: chunk.analysis, previousVersion: previousVersion))
                    captured!.size += UInt64(chunk.length)
                    start += chunk.length
                }
            }
            bytesRead += UInt64(piece.bytesRead)
            onProgress?(bytesRead)
            switch piece.outcome {
            case nil: continue
            case .consistent?:
                captured!.size = captured!.identity.size
                return .success(captured!)
            case .changed?: return try capture(node, expecting: nil, version: version, previousVersion: previousVersion)
            case .failed(let reason)?: return .failure(CaptureProblem(kind: .gone, description: reason))
            }
        }
    }

    /// The attributes of a file stored as it is now rather than as scanned.
    private func freshMetadata(_ opened: OpenSource) throws -> EntryMetadata {
        var metadata = EntryMetadata(opened.st, kind: .regular)
        if readXattrs {
            do {
                metadata.xattrs = try ExtendedAttributes.read(.descriptor(opened.fd))
            } catch {
                throw CaptureProblem(kind: .gone, description: "cannot read its extended attributes (\(error))")
            }
        }
        return metadata
    }

    /// Decides how one chunk (at `offset` in its file's stored bytes) is stored; its chunk id.
    private func store(_ chunk: UnsafeRawBufferPointer, at offset: UInt64, analysis: ChunkAnalysis?,
                       previousVersion: PreviousVersion?) -> UInt32 {
        let frame = slot.map { FrameView(number: $0.number, used: $0.used, sketch: sketch, reach: Self.frameCompressorReach) }
        let old = previousVersion?.chunk(at: offset)
        let decision = analysis.map { stage.process(chunk, analysis: $0, frame: frame, previousVersion: old) }
            ?? stage.process(chunk, frame: frame, previousVersion: old)
        switch decision {
        case .duplicate(let id):
            return id
        case .literal(let id):
            let (frame, position) = place(chunk)
            sketch.enter(frame: Int(frame))
            sketch.insert(stage.lastSamples, at: Int(position))
            table.place(id, .literal(frame: frame, offset: position, length: UInt32(chunk.count)), offset: offset)
            return id
        case .delta(let id, let base, _, let encoded):
            let (frame, position) = encoded.withUnsafeBytes { place($0) }
            table.place(id, ChunkRecord(kind: stage.deltaKind, frame: frame, offset: position, storedLength: UInt32(encoded.count),
                                        length: UInt32(chunk.count), base: base), offset: offset)
            return id
        }
    }

    /// Copies stored bytes into the frame being filled, starting a new frame
    /// when they do not fit; their frame number and offset in it.
    private func place(_ bytes: UnsafeRawBufferPointer) -> (UInt32, UInt32) {
        var current = slot ?? openFrame()
        if current.used + bytes.count > pipeline.frameSize {
            submit(current)
            current = openFrame()
        }
        slot = current
        let position = current.used
        if let source = bytes.baseAddress, !bytes.isEmpty {
            current.buffer.baseAddress!.advanced(by: position).copyMemory(from: source, byteCount: bytes.count)
        }
        current.used += bytes.count
        return (UInt32(current.number), UInt32(position))
    }

    private func openFrame() -> FramePipeline.Slot {
        let slot = pipeline.takeSlot()
        readAtFrameStart = bytesRead
        return slot
    }

    private func submit(_ slot: FramePipeline.Slot) {
        slot.sourceBytes = Int(clamping: bytesRead - readAtFrameStart)
        pipeline.submit(slot)
    }

    /// Hands the last partly filled frame to the pipeline.
    func flush() {
        if let current = slot, current.used > 0 { submit(current) }
        slot = nil
    }
}
