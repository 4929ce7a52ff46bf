import Archive

/// What a build keeps in its index segment so that a later append can find
/// what is already stored without reading it: the chunk digests and
/// super-features of the chunks the segment adds, and the files cache of
/// the versions it adds. Readers never parse it; the index's zlib check
/// covers it like every other byte (docs/FORMAT.md, "Builder state").
///
/// All three tiers are kept per chunk (13 values of 32 bits); an append
/// loads tier 1 for every version and tiers 2 and 3 only for the chunks of
/// the last `--tier2-window` and `--tier3-window` versions, so the
/// similarity index it holds stays bounded however many versions come
/// (docs/SIMILARITY.md).
struct BuilderState: Equatable {
    static let magic: [UInt8] = Array("GPUARCB1".utf8)
    /// `filedUnder` of a chunk that has no similarity entries.
    static let notFiled = UInt32.max
    /// Super-features per chunk, all tiers.
    static let featureCount = SuperFeatures.groupSizes.reduce(0) { $0 + ChunkFeatures.count / $1 }

    /// Per chunk the segment adds, in chunk-table order.
    struct Chunk: Equatable {
        /// The first 8 bytes of the chunk's SHA-256: enough to find a
        /// candidate; a duplicate is only taken after comparing bytes.
        var digest: UInt64
        /// The version whose build stored it (0-based over the archive).
        var version: UInt32
        /// The chunk id its super-features are filed under (a delta chunk's
        /// are filed under its base), or `notFiled`.
        var filedUnder: UInt32
        /// Super-features as `SuperFeatures` holds them (32-bit values):
        /// tier 1 (3), tier 2 (4), tier 3 (6); empty when it has none.
        var features: [UInt32]
    }

    /// Per regular file of the versions the segment adds: what the files
    /// cache compares beyond path, size and mtime (which the index holds).
    struct FileStamp: Equatable {
        var inode: UInt32
        var ctimeSec: Int64
        var ctimeNsec: UInt32
        var ino: UInt64
    }

    var chunks: [Chunk] = []
    var files: [FileStamp] = []

    /// Column by column, growing columns as differences from the row before
    /// (the index's zlib stream then squeezes them to little).
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.u32(UInt32(chunks.count))
        for c in chunks { w.u64(c.digest) }
        var previous: UInt32 = 0
        for c in chunks { w.u32(c.version &- previous); previous = c.version }
        for c in chunks { w.u32(c.filedUnder) }
        for k in 0..<Self.featureCount { for c in chunks { w.u32(c.features.count == Self.featureCount ? c.features[k] : 0) } }
        for c in chunks { w.u8(c.features.count == Self.featureCount ? 1 : 0) }
        w.u32(UInt32(files.count))
        var inode: UInt32 = 0, ctime: Int64 = 0, ino: UInt64 = 0
        for f in files { w.u32(f.inode &- inode); inode = f.inode }
        for f in files { w.i64(f.ctimeSec &- ctime); ctime = f.ctimeSec }
        for f in files { w.u32(f.ctimeNsec) }
        for f in files { w.u64(f.ino &- ino); ino = f.ino }
        return w.bytes
    }

    /// Parses what `encoded` wrote; `what` names it in errors. An empty
    /// state (a segment written without one) parses as empty.
    init(decoding bytes: [UInt8], what: String) throws {
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, what: what)
            guard try r.raw(8) == Self.magic else { throw ArchiveError(.format, "\(what) is not a gpuarc builder state") }
            let n = try r.count(of: 8 + 4 + 4 + 4 * Self.featureCount + 1, section: "chunk state")
            var digests: [UInt64] = [], versions: [UInt32] = [], filed: [UInt32] = []
            var sfs = [[UInt32]](repeating: [], count: Self.featureCount)
            digests.reserveCapacity(n)
            for _ in 0..<n { digests.append(try r.u64()) }
            var version: UInt32 = 0
            for _ in 0..<n { version = version &+ (try r.u32()); versions.append(version) }
            for _ in 0..<n { filed.append(try r.u32()) }
            for k in 0..<Self.featureCount { for _ in 0..<n { sfs[k].append(try r.u32()) } }
            for i in 0..<n {
                let flags = try r.u8()
                guard flags <= 1 else { throw ArchiveError(.format, "\(what) is damaged: chunk \(i) has flags \(flags)") }
                chunks.append(Chunk(digest: digests[i], version: versions[i], filedUnder: filed[i],
                                    features: flags == 1 ? sfs.map { $0[i] } : []))
            }
            let m = try r.count(of: 4 + 8 + 4 + 8, section: "files cache")
            var inodes: [UInt32] = [], ctimes: [Int64] = [], nsecs: [UInt32] = []
            var inode: UInt32 = 0, ctime: Int64 = 0, ino: UInt64 = 0
            for _ in 0..<m { inode = inode &+ (try r.u32()); inodes.append(inode) }
            for _ in 0..<m { ctime = ctime &+ (try r.i64()); ctimes.append(ctime) }
            for _ in 0..<m { nsecs.append(try r.u32()) }
            for i in 0..<m {
                ino = ino &+ (try r.u64())
                files.append(FileStamp(inode: inodes[i], ctimeSec: ctimes[i], ctimeNsec: nsecs[i], ino: ino))
            }
            guard r.remaining == 0 else { throw ArchiveError(.format, "\(what) is damaged: \(r.remaining) bytes after its end") }
        }
    }

    init(chunks: [Chunk] = [], files: [FileStamp] = []) {
        self.chunks = chunks
        self.files = files
    }
}

/// Makes the builder state of a build's segment from what it stored: its
/// chunks (from `table.first` on) and a stamp per regular-file inode of the
/// versions it added.
enum BuilderStateRecorder {
    static func state(table: ChunkTable, tree: ScannedTree, stored: StoredTree, inodeOfNode: [Int: Int]) -> BuilderState {
        var state = BuilderState()
        state.chunks.reserveCapacity(table.digests.count)
        for k in table.digests.indices {
            let filing = table.filing[k]
            state.chunks.append(BuilderState.Chunk(digest: table.digests[k].words.0, version: table.versions[k],
                                                   filedUnder: filing.under, features: filing.features?.stored ?? []))
        }
        var stamps: [UInt32: BuilderState.FileStamp] = [:]
        // A file stored as it was later than the scan gets no stamp: the
        // next append reads it again rather than trust a stamp of another version.
        for (node, inode) in inodeOfNode where tree.nodes[node].kind == .regular && stored.fresh[node] == nil {
            let identity = tree.nodes[node].identity
            stamps[UInt32(inode)] = BuilderState.FileStamp(inode: UInt32(inode), ctimeSec: identity.ctimeSec,
                                                           ctimeNsec: UInt32(truncatingIfNeeded: identity.ctimeNsec), ino: identity.ino)
        }
        state.files = stamps.keys.sorted().map { stamps[$0]! }
        return state
    }
}
