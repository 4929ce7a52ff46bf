import Archive
import Glibc

/// Gives the similarity stage the bytes of a chunk stored earlier (to
/// confirm a duplicate byte for byte, or as a delta base) without keeping
/// chunks in memory.
protocol ChunkReading: AnyObject {
    /// The bytes of stored chunk `id`, or nil when they cannot be had.
    func bytes(of id: UInt32) -> [UInt8]?
}

/// Reads stored chunks back from their source files, where the chunk table
/// says they came from: 16 bytes per chunk instead of the chunk. A file is
/// opened through `SourceFiles`, relative to its directory, and must still
/// have the identity it had when its chunks were read, so a file changed
/// since gives no bytes (and the stage stores the new chunk as it is); the
/// stage checks a base's bytes against its digest on top of that.
final class StoredChunks: ChunkReading {
    private let table: ChunkTable
    private let files: SourceFiles
    /// Files kept open, by number in the chunk table, with when each was
    /// last used: bases come back to the same older files again and again
    /// (one file's chunks are bases for its next version's), and opening a
    /// file costs more than reading 8 KiB from it.
    private var open: [UInt32: (file: OpenSource, used: Int)] = [:]
    private var clock = 0
    let openLimit: Int

    /// 64, or an eighth of the descriptors this process may open if fewer
    /// (a build under `ulimit -n 64` must still open every file it stores).
    static var defaultOpenLimit: Int {
        var l = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0 else { return 8 }
        return max(1, min(64, (Int(clamping: l.rlim_cur) - 32) / 8))
    }

    /// An append reads the archive's own chunks (ids below `table.first`)
    /// back from the archive, checked as every read of it is, within `budget`.
    private let archive: ArchiveReader?
    let budget = ArchiveReadBudget()

    init(table: ChunkTable, files: SourceFiles, archive: ArchiveReader? = nil, openLimit: Int = StoredChunks.defaultOpenLimit) {
        self.table = table
        self.files = files
        self.archive = archive
        self.openLimit = max(1, openLimit)
    }

    func bytes(of id: UInt32) -> [UInt8]? {
        if Int(id) < table.first {
            guard let archive else { return nil }
            let cost = archive.chunkReadCost(Int(id))
            guard budget.allows(cost) else { return nil }
            budget.decoded += cost
            // A frame that does not read back gives no bytes: the new chunk is stored as it is.
            return try? archive.chunkBytes(Int(id))
        }
        guard Int(id) - table.first < table.sources.count else { return nil }
        let source = table.sources[Int(id) - table.first]
        clock += 1
        let opened: OpenSource
        if let entry = open[source.file] {
            opened = entry.file
        } else {
            if open.count >= openLimit, let oldest = open.min(by: { $0.value.used < $1.value.used }) {
                open[oldest.key] = nil
            }
            let file = table.files[Int(source.file)]
            guard let file = try? files.open(file.node, expecting: file.identity) else { return nil }
            opened = file
        }
        open[source.file] = (opened, clock)
        let extents = table.files[Int(source.file)].extents
        var bytes = [UInt8](repeating: 0, count: Int(source.length))
        let complete = bytes.withUnsafeMutableBytes { out -> Bool in
            read(opened.fd, stored: source.offset, count: Int(source.length), extents: extents, into: out.baseAddress!)
        }
        files.didRead(table.files[Int(source.file)].node, .chunk)
        guard complete, opened.unchanged() else {
            open[source.file] = nil
            return nil
        }
        return bytes
    }

    /// Reads `count` stored bytes from `stored` on: the same offsets in a
    /// file without holes, else mapped through its data extents.
    private func read(_ fd: Int32, stored: UInt64, count: Int, extents: [DataExtent]?, into out: UnsafeMutableRawPointer) -> Bool {
        guard let extents else {
            return (try? Posix.preadFully(fd, out, count, stored)) == count
        }
        var skipped: UInt64 = 0, done = 0
        for e in extents where done < count {
            let end = skipped + e.length
            if stored + UInt64(done) < end {
                let within = stored + UInt64(done) - skipped
                let n = Int(min(UInt64(count - done), e.length - within))
                guard (try? Posix.preadFully(fd, out + done, n, e.offset + within)) == n else { return false }
                done += n
            }
            skipped = end
        }
        return done == count
    }
}

/// How much of the archive an append decodes to reach delta bases. A base
/// in an old frame costs the decoding of that frame up to it (16 MiB frames:
/// milliseconds for a delta that saves a few KiB), so the archive is decoded
/// for bases up to `factor` times the bytes the append reads from its
/// sources, plus one frame's worth: an append of a few changed files does
/// not decode the archive for them (those chunks are stored literally),
/// while one that reads a new version whole uses every base it finds.
/// Measured: on a 313 MiB tree with 1% of its files changed, deltas against
/// bases all over the archive took the append from 0.13 to 0.4 s.
final class ArchiveReadBudget {
    static let factor = 8
    static let allowance = 16 << 20
    /// Source bytes read so far, and archive bytes decoded for bases.
    var sourceBytes = 0
    var decoded = 0

    func allows(_ cost: Int) -> Bool {
        cost == 0 || decoded + cost <= Self.allowance + Self.factor * sourceBytes
    }
}
