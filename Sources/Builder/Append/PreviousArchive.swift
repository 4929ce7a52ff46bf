import Archive
import Glibc

/// A file's previous version as stored: its chunks, and where each starts.
struct PreviousVersion {
    let chunks: [UInt32]
    let starts: [UInt64]

    /// The chunk whose bytes hold `offset` (the last one past the end).
    func chunk(at offset: UInt64) -> UInt32 {
        var lo = 0, hi = starts.count
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if starts[mid] <= offset { lo = mid } else { hi = mid }
        }
        return chunks[lo]
    }
}

/// The archive an append adds to (`gpuarc-build --append ARCHIVE.001 SRC...`),
/// opened as a reader opens it and checked to take appends: format 5 or 6
/// (an append writes the archive's format), with versions at its root,
/// nothing damaged or missing. What earlier builds kept in their index
/// segments is loaded here, so the append can find
/// what is already stored without reading it: every stored chunk's digest
/// and super-features (`BuilderState.Chunk`, by chunk id) and the files
/// cache stamps (by inode).
final class PreviousArchive {
    let reader: ArchiveReader
    var index: ArchiveIndex { reader.index }
    let path: BytePath
    /// The row counts the append's segment starts after.
    let counts: TableCounts
    /// The size of every volume file (the last with its index and footer):
    /// where the append's volumes continue.
    let volumeFileSizes: [UInt64]
    /// Files cache stamps by inode.
    let stamps: [UInt32: BuilderState.FileStamp]

    /// Opens `path` (the archive's first volume) for an append; throws,
    /// saying what to do, when the archive cannot take one.
    init(path: BytePath) throws {
        self.path = path
        var options = ReaderOptions(cacheBytes: 256 << 20)
        options.readAhead = false
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader(path: path, options: options)
        } catch let error as ArchiveError {
            throw ArchiveError(error.kind, "cannot append to \(path): \(error.description)")
        }
        self.reader = reader
        let index = reader.index
        guard ArchiveIndex.appendableVersions.contains(index.formatVersion) else {
            throw ArchiveError(.usage, "cannot append to \(path): it is in index format \(index.formatVersion), and appends need format \(ArchiveIndex.appendableVersions.lowerBound) or later. Build a new versioned archive from its sources (gpuarc-build --name NAME SRC OUT), or extract it and build again")
        }
        guard !index.versions.isEmpty else {
            throw ArchiveError(.usage, "cannot append to \(path): it records no versions (it was built from one SRC at its root, or before gpuarc-build recorded versions), so a new version has no place of its own. Start a versioned archive with gpuarc-build --name NAME SRC OUT (or several SRCs), then append to that")
        }
        if let lost = reader.lost {
            // An append would write over the volumes that hold what is lost.
            throw ArchiveError(.usage, "cannot append to \(path): \(lost)")
        }
        if let notice = reader.notices.first {
            throw ArchiveError(.usage, "cannot append to \(path): it is damaged (\(notice)). Repair it first (gpuarc-repair \(path))")
        }
        if let (volume, problem) = reader.volumes.problems.min(by: { $0.key < $1.key }) {
            throw ArchiveError(.usage, "cannot append to \(path): volume \(reader.volumes.paths[volume]) \(problem.description). Repair it first (gpuarc-repair \(path)) or restore the volume")
        }
        counts = TableCounts(of: index)
        // The last volume ends with its index and footer.
        var sizes = index.volumeSizes
        if let locator = index.newestSegment, !sizes.isEmpty {
            sizes[sizes.count - 1] = locator.offset + locator.size + UInt64(Footer.size)
        }
        volumeFileSizes = sizes

        var stamps: [UInt32: BuilderState.FileStamp] = [:]
        for segment in index.segments {
            for stamp in try BuilderState.stamps(decoding: segment.builderState, what: Self.stateName(segment, path)) {
                stamps[stamp.inode] = stamp
            }
        }
        self.stamps = stamps
    }

    private static func stateName(_ segment: IndexSegment, _ path: BytePath) -> String {
        "the builder state of index segment \(segment.number) of \(path)"
    }

    /// By chunk id; chunks of a segment written without builder state are
    /// `Chunk.unknown` (never deduplicated against, no super-features).
    /// Decoded when first needed: an append that stores no chunk never is.
    func chunks() throws -> [BuilderState.Chunk] {
        if let loaded = loadedChunks { return loaded }
        var chunks: [BuilderState.Chunk] = []
        chunks.reserveCapacity(index.chunks.count)
        for (k, segment) in index.segments.enumerated() {
            let state = try BuilderState(decoding: segment.builderState, firstChunk: segment.prior.chunks,
                                         what: Self.stateName(segment, path))
            // A segment's chunks start at its prior count; one without state
            // (or with a state that does not fit) leaves its chunks unknown.
            let first = segment.prior.chunks
            let end = k + 1 < index.segments.count ? index.segments[k + 1].prior.chunks : index.chunks.count
            while chunks.count < first { chunks.append(BuilderState.Chunk.unknown) }
            if state.chunks.count == end - first && chunks.count == first { chunks += state.chunks }
        }
        while chunks.count < index.chunks.count { chunks.append(BuilderState.Chunk.unknown) }
        loadedChunks = chunks
        return chunks
    }

    private var loadedChunks: [BuilderState.Chunk]?

    /// Chunk ids by the first 16 bytes of their SHA-256 (the first of a
    /// digest stored twice: an earlier build stored it before it could know).
    func chunksByDigest() throws -> [DigestPrefix: UInt32] {
        var byDigest: [DigestPrefix: UInt32] = [:]
        let chunks = try chunks()
        byDigest.reserveCapacity(chunks.count)
        for (id, chunk) in chunks.enumerated() where chunk.version != BuilderState.Chunk.unknown.version {
            if byDigest[chunk.digest] == nil { byDigest[chunk.digest] = UInt32(id) }
        }
        return byDigest
    }

    /// The compressed bytes of the archive's index segments, oldest first,
    /// read from their volumes and checked against their locators.
    func segmentBytes() throws -> [[UInt8]] {
        guard let segments = try reader.segmentBytes() else {
            throw ArchiveError(.format, "cannot append to \(path): its index was not read from its last volume")
        }
        return segments
    }

    /// The inflated bytes of the archive's newest segment, which a format-6
    /// append's segment is compressed against; empty for format 5, whose
    /// segments stand alone.
    func newestSegmentPrefix(_ segments: [[UInt8]]) throws -> [UInt8] {
        guard index.formatVersion >= 6 else { return [] }
        return try IndexChain.inflatedNewest(segments, what: "the newest index segment of \(path)")
    }

    /// The stored chunks of the file at `relativePath` in the archive's
    /// newest version, with where each starts in its content: an appended
    /// file's previous version, whose chunks are its chunks' bases of last
    /// resort (`SimilarityStage.process(_:analysis:frame:previousVersion:)`).
    /// Nil when that version has no regular file there.
    func previousVersion(of relativePath: [UInt8]) -> PreviousVersion? {
        guard let newest = index.versions.last,
              let inode = index.resolve(bytes: index.nameBytes(of: newest) + [UInt8(ascii: "/")] + relativePath),
              index.inodes[inode].kind == .regular else { return nil }
        let refs = index.refRange(ofContent: Int(index.inodes[inode].data))
        guard !refs.isEmpty else { return nil }
        return PreviousVersion(chunks: refs.map { index.chunkRefs[$0] }, starts: refs.map { index.refStarts[$0] })
    }

    /// The version names already in the archive.
    var versionNames: Set<[UInt8]> { Set(index.versions.map { index.nameBytes(of: $0) }) }

    /// The newest version's top-level directory inode.
    var newestVersionInode: Int { Int(index.versions.last!.inode) }
}

extension BuilderState.Chunk {
    /// A chunk nothing is known of (its segment kept no builder state).
    static let unknown = BuilderState.Chunk(digest: DigestPrefix(high: 0, low: 0), version: UInt32.max,
                                            filedUnder: BuilderState.notFiled, features: nil)
}
