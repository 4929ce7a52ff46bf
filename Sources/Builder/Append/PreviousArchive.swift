import Archive
import Glibc

/// The archive an append adds to (`gpuarc-build --append ARCHIVE.001 SRC...`),
/// opened as a reader opens it and checked to take appends: format 5, with
/// versions at its root, nothing damaged or missing. What earlier builds
/// kept in their index segments is loaded here, so the append can find
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
    /// By chunk id; chunks of a segment written without builder state have
    /// digest 0 and no super-features (they are never deduplicated against).
    let chunks: [BuilderState.Chunk]
    /// Files cache stamps by inode.
    let stamps: [UInt32: BuilderState.FileStamp]
    /// Chunk ids by the first 8 bytes of their SHA-256 (candidates only: a
    /// duplicate is taken after comparing bytes).
    let chunksByDigest: [UInt64: [UInt32]]
    /// Volumes an interrupted append left after the last complete index
    /// (the append writes over them).
    var leftovers: [BytePath] { reader.leftoverVolumes }

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
        guard index.formatVersion == ArchiveIndex.currentVersion else {
            throw ArchiveError(.usage, "cannot append to \(path): it is in index format \(index.formatVersion), and appends need format \(ArchiveIndex.currentVersion). Build a new versioned archive from its sources (gpuarc-build --name NAME SRC OUT), or extract it and build again")
        }
        guard !index.versions.isEmpty else {
            throw ArchiveError(.usage, "cannot append to \(path): it was built from one SRC at its root, so a new version has no top-level directory of its own. Start a versioned archive with gpuarc-build --name NAME SRC OUT (or several SRCs), then append to that")
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

        var chunks: [BuilderState.Chunk] = []
        chunks.reserveCapacity(index.chunks.count)
        var stamps: [UInt32: BuilderState.FileStamp] = [:]
        for segment in index.segments {
            let state = try BuilderState(decoding: segment.builderState, what: "the builder state of index segment \(segment.number) of \(path)")
            // A segment's chunks start at its prior count; one without state
            // (or with a state that does not fit) leaves its chunks unknown.
            let first = segment.prior.chunks
            let end = index.segments.first(where: { $0.number == segment.number + 1 })?.prior.chunks ?? index.chunks.count
            while chunks.count < first { chunks.append(BuilderState.Chunk.unknown) }
            if state.chunks.count == end - first && chunks.count == first {
                chunks += state.chunks
            }
            for stamp in state.files { stamps[stamp.inode] = stamp }
        }
        while chunks.count < index.chunks.count { chunks.append(BuilderState.Chunk.unknown) }
        var byDigest: [UInt64: [UInt32]] = [:]
        byDigest.reserveCapacity(chunks.count)
        for (id, chunk) in chunks.enumerated() where chunk.digest != 0 {
            byDigest[chunk.digest, default: []].append(UInt32(id))
        }
        self.chunks = chunks
        self.stamps = stamps
        chunksByDigest = byDigest
    }

    /// The version names already in the archive.
    var versionNames: Set<[UInt8]> { Set(index.versions.map { index.nameBytes(of: $0) }) }

    /// The newest version's top-level directory inode.
    var newestVersionInode: Int { Int(index.versions.last!.inode) }
}

extension BuilderState.Chunk {
    /// A chunk nothing is known of (its segment kept no builder state).
    static let unknown = BuilderState.Chunk(digest: 0, version: 0, filedUnder: BuilderState.notFiled, features: [])
}
