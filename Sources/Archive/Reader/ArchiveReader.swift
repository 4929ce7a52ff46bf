import Foundation

public struct ReaderOptions: Sendable {
    /// Byte budget of the decoded-frame LRU cache.
    public var cacheBytes: Int = 512 << 20
    /// Decode the next frame in the background when a file is read sequentially.
    public var readAhead: Bool = true
    /// Decodes whole LZ4X frames instead of the CPU decoder (it stands in
    /// for the CPU's behind the codec seam).
    public var frameDecoder: FrameDecoding?
    /// `--decoder`/`--device`: chooses `frameDecoder` once the archive is
    /// open, when it is not set (nil: the CPU decoder, OpenCL never loaded).
    public var decoderRequest: DecoderRequest?
    public init(cacheBytes: Int = 512 << 20, readAhead: Bool = true) {
        self.cacheBytes = cacheBytes
        self.readAhead = readAhead
    }
}

/// Random access to the files of an archive: (file, offset) -> chunk refs by
/// binary search -> frames through the shared frame cache. Thread-safe: the
/// mount calls `read` from many threads at once.
public final class ArchiveReader: @unchecked Sendable {
    public let index: ArchiveIndex
    public let volumes: VolumeSet
    /// What opening had to work around (the index read from its copy, or
    /// rebuilt from parity): for the user to see, with what to do.
    public let notices: [String]
    /// Volumes after the last one the index lists, which no readable index
    /// describes (`lost` says what that means).
    public let leftoverVolumes: [BytePath]

    /// What cannot be read because the newest index is damaged and an older
    /// state of the archive was opened (the versions it lacks): readers say
    /// it and exit non-zero.
    public let lost: String?
    /// What is wrong with the index copy `OUT.idx` (out of date, damaged)
    /// while the index is fine: nothing is lost, `--verify` fails on it.
    public let indexCopyProblem: String?
    /// Where the archive's files are.
    public let files: ArchiveFiles
    /// Why `--decoder auto` stayed on the CPU, when it did: for the user to see.
    public let decoderNote: String?
    let cache: FrameCache
    private let options: ReaderOptions
    private let deltas: DeltaChunkCache
    private let readAheadState = ReadAheadTracker()

    /// Opens the archive one of whose volumes `path` names (written as text:
    /// its UTF-8 bytes).
    public convenience init(path: String, options: ReaderOptions = ReaderOptions()) throws {
        try self.init(path: BytePath(path), options: options)
    }

    public init(path: BytePath, options: ReaderOptions = ReaderOptions()) throws {
        let opened = try ArchiveOpener.open(path: path)
        let (index, volumes) = (opened.index, opened.volumes)
        self.index = index
        self.volumes = volumes
        notices = opened.notices
        leftoverVolumes = opened.leftovers
        lost = opened.lost
        indexCopyProblem = opened.copyProblem
        files = opened.files
        self.options = options
        var loader = FrameLoader(index: index, volumes: volumes)
        var decoder = options.frameDecoder
        var decoderNote: String?
        if decoder == nil, let request = options.decoderRequest {
            (decoder, decoderNote) = try OpenCLReadSetup.decoder(for: request, loader: loader)
        }
        self.decoderNote = decoderNote
        loader.decoders = FrameDecoders(wholeLZ4X: decoder)
        self.cache = FrameCache(loader: loader, budget: options.cacheBytes)
        self.deltas = DeltaChunkCache(budget: max(options.cacheBytes / 16, 1 << 20))
    }

    /// The compressed bytes of every index segment, oldest first, read from
    /// their volumes (or parity) and checked against their locators: what
    /// the index copy holds. Nil when the index was not read from the last
    /// volume (from its copy, which then is that state already).
    public func segmentBytes() throws -> [[UInt8]]? {
        guard let newest = index.newestSegment else { return nil }
        let locators = index.segments.dropFirst().map { $0.previous! } + [newest]
        return try locators.map { try ArchiveOpener.fetchSegment($0, files: files, parity: volumes.parity) }
    }

    /// Reads the index copy whole and compares it with the index (what
    /// `--verify` does; opening only compares sizes). Nil when it matches
    /// or there is none; `indexCopyProblem` when opening found one already.
    public func checkIndexCopy() -> String? {
        if let indexCopyProblem { return indexCopyProblem }
        guard lost == nil, notices.isEmpty else { return nil }   // the copy may be what was read
        if case .problem(let problem) = ArchiveOpener.checkCopy(of: index, files: files, thorough: true) { return problem }
        return nil
    }

    /// Called once for each frame found damaged (frame number, error).
    public var onCorruptFrame: (@Sendable (Int, ArchiveError) -> Void)? {
        get { cache.onFailure }
        set { cache.onFailure = newValue }
    }

    public var cacheStatistics: (hits: Int, misses: Int, bytes: Int) { cache.statistics }
    public var cacheBudget: Int { options.cacheBytes }

    /// Reads up to `count` bytes of regular file `inode` from `offset`; returns
    /// the bytes read (0 at or after end of file).
    public func read(inode: Int, offset: UInt64, count: Int, into buffer: UnsafeMutableRawPointer) throws -> Int {
        let node = index.inodes[inode]
        guard node.kind == .regular else { throw ArchiveError(.usage, "inode \(inode) is not a regular file") }
        return try read(content: Int(node.data), offset: offset, count: count, into: buffer)
    }

    public func read(content: Int, offset: UInt64, count: Int, into buffer: UnsafeMutableRawPointer) throws -> Int {
        let record = index.contents[content]
        guard offset < record.size, count > 0 else { return 0 }
        let end = min(record.size, offset + UInt64(count))
        if let extents = index.dataExtents(ofContent: content) {
            try readSparse(content: content, extents: extents, from: offset, to: end, into: buffer)
            return Int(end - offset)
        }
        return try readStored(content: content, offset: offset, end: end, into: buffer)
    }

    /// A content with holes: zeros where there is no data extent, the
    /// stored bytes (which are the extents' bytes back to back) elsewhere.
    private func readSparse(content: Int, extents: ArraySlice<DataExtent>, from offset: UInt64, to end: UInt64,
                            into buffer: UnsafeMutableRawPointer) throws {
        // The first extent that ends after `offset` (binary search).
        var lo = extents.startIndex, hi = extents.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if extents[mid].end <= offset { lo = mid + 1 } else { hi = mid }
        }
        var position = offset
        var k = lo
        while position < end {
            guard k < extents.endIndex, extents[k].offset < end else {
                (buffer + Int(position - offset)).initializeMemory(as: UInt8.self, repeating: 0, count: Int(end - position))
                return
            }
            let e = extents[k]
            if position < e.offset {
                (buffer + Int(position - offset)).initializeMemory(as: UInt8.self, repeating: 0, count: Int(e.offset - position))
                position = e.offset
            }
            let stop = min(end, e.end)
            let stored = index.extentDataStarts[k] + (position - e.offset)
            _ = try readStored(content: content, offset: stored, end: stored + (stop - position), into: buffer + Int(position - offset))
            position = stop
            k += 1
        }
    }

    /// Bytes `offset..<end` of a content's stored bytes (its chunks back to back).
    private func readStored(content: Int, offset: UInt64, end: UInt64, into buffer: UnsafeMutableRawPointer) throws -> Int {
        let refs = index.refRange(ofContent: content)
        var r = firstRef(covering: offset, in: refs)
        var position = offset
        var out = buffer
        var lastFrame = -1
        while position < end {
            let chunkID = Int(index.chunkRefs[r])
            let chunk = index.chunks[chunkID]
            let within = Int(position - index.refStarts[r])
            let n = min(Int(chunk.length) - within, Int(end - position))
            try copy(chunk: chunkID, from: within, count: n, to: out)
            lastFrame = Int(chunk.frame)
            position += UInt64(n)
            out += n
            r += 1
        }
        if options.readAhead, lastFrame >= 0,
           readAheadState.isSequential(content: content, offset: offset, end: end) {
            prefetch(after: lastFrame)
        }
        return Int(end - offset)
    }

    /// The decoded bytes of stored chunk `id` (an append compares a new
    /// chunk with them, or takes them as its delta base).
    public func chunkBytes(_ id: Int) throws -> [UInt8] {
        let length = Int(index.chunks[id].length)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: length)
        try bytes.withUnsafeMutableBytes { try copy(chunk: id, from: 0, count: length, to: $0.baseAddress!) }
        return bytes
    }

    /// Bytes that would have to be decoded to give chunk `id`'s bytes now
    /// (0 when its frames are at hand in the cache): an append weighs a
    /// delta base by it.
    public func chunkReadCost(_ id: Int) -> Int {
        func cost(_ chunk: ChunkRecord) -> Int {
            max(0, Int(chunk.offset) + Int(chunk.storedLength) - cache.available(Int(chunk.frame)))
        }
        var total = 0
        index.forEachInDeltaChain(id) { _, chunk in total += cost(chunk) }
        return total
    }

    /// Index of the chunk ref whose byte range holds `offset` (binary search).
    private func firstRef(covering offset: UInt64, in refs: Range<Int>) -> Int {
        var lo = refs.lowerBound, hi = refs.upperBound
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if index.refStarts[mid] <= offset { lo = mid } else { hi = mid }
        }
        return lo
    }

    private func copy(chunk id: Int, from within: Int, count: Int, to out: UnsafeMutableRawPointer) throws {
        let chunk = index.chunks[id]
        if chunk.kind == .literal {
            let start = Int(chunk.offset) + within
            try cache.withFrame(Int(chunk.frame), upTo: start + count) { frame in
                out.copyMemory(from: frame.baseAddress! + start, byteCount: count)
            }
        } else {
            try deltas.withChunk(id, decode: { try decodeDelta(id) }) { bytes in
                out.copyMemory(from: bytes.baseAddress! + within, byteCount: count)
            }
        }
    }

    /// A delta chunk: its base's bytes are the prefix its stored bytes
    /// decode against, with the decoder of the chunk kind's codec. A base
    /// that is a delta itself (format 6) is decoded the same way first,
    /// through the delta cache (the validator bounds the chain); every frame
    /// comes through the frame cache.
    private func decodeDelta(_ id: Int) throws -> [UInt8] {
        let chunk = index.chunks[id]
        let base = index.chunks[Int(chunk.base)]
        var buffer = [UInt8](repeating: 0, count: Int(base.length) + Int(chunk.length))
        try buffer.withUnsafeMutableBytes { out in
            try copy(chunk: Int(chunk.base), from: 0, count: Int(base.length), to: out.baseAddress!)
            try cache.withFrame(Int(chunk.frame), upTo: Int(chunk.offset) + Int(chunk.storedLength)) { frame in
                let stored = UnsafeRawBufferPointer(rebasing: frame[Int(chunk.offset)..<(Int(chunk.offset) + Int(chunk.storedLength))])
                do {
                    guard let decoder = cache.loader.decoders.decoder(for: chunk.kind) else {
                        throw CodecError("it is not a delta chunk")
                    }
                    try decoder.decodeDelta(stored, into: out, prefixLength: Int(base.length))
                } catch {
                    throw ArchiveError(.corruptFrame, "delta chunk \(id) in frame \(chunk.frame) (volume \(volumes.paths[Int(index.frames[Int(chunk.frame)].volume)])) does not decode against its base: \(error)")
                }
            }
        }
        return Array(buffer[Int(base.length)...])
    }

    /// Restricts read-ahead to `frames` (sorted; nil: any frame): after a
    /// frame, the next of these is read ahead instead of the frame after it.
    /// An extraction of some paths sets the frames it needs, so that no
    /// other frame is decoded (or read from its volume) on its behalf.
    public func limitReadAhead(to frames: [Int]?) {
        readAheadState.setAllowed(frames)
    }

    private func prefetch(after frame: Int) {
        guard let next = readAheadState.frame(after: frame, count: index.frames.count),
              !cache.isComplete(next), readAheadState.beginPrefetch(next) else { return }
        let cache = self.cache, size = Int(index.frames[next].decodedSize), state = readAheadState
        DispatchQueue.global(qos: .utility).async {
            _ = try? cache.withFrame(next, upTo: size) { _ in () }
            state.endPrefetch(next)
        }
    }
}

/// Remembers where recent reads of each content ended, to spot sequential
/// readers, and which frames are being read ahead (so none is queued twice).
final class ReadAheadTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var lastEnd: [Int: UInt64] = [:]
    private var inFlight: Set<Int> = []
    /// The frames read-ahead may choose from, sorted (nil: any).
    private var allowed: [Int]?

    func setAllowed(_ frames: [Int]?) {
        lock.lock(); defer { lock.unlock() }
        allowed = frames
    }

    /// The frame to read ahead after `frame`: the next one, or the next of
    /// the allowed ones (binary search); nil past the last.
    func frame(after frame: Int, count: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard let allowed else { return frame + 1 < count ? frame + 1 : nil }
        var lo = 0, hi = allowed.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if allowed[mid] <= frame { lo = mid + 1 } else { hi = mid }
        }
        return lo < allowed.count ? allowed[lo] : nil
    }

    func isSequential(content: Int, offset: UInt64, end: UInt64) -> Bool {
        lock.lock(); defer { lock.unlock() }
        let sequential = offset == 0 || lastEnd[content] == offset
        if lastEnd.count > 4096 { lastEnd.removeAll(keepingCapacity: true) }
        lastEnd[content] = end
        return sequential
    }

    func beginPrefetch(_ frame: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard inFlight.count < 2 else { return false }
        return inFlight.insert(frame).inserted
    }

    func endPrefetch(_ frame: Int) {
        lock.lock(); defer { lock.unlock() }
        inFlight.remove(frame)
    }
}
