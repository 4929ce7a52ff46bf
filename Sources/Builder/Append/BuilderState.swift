import Archive

/// What a build keeps in its index segment so that a later append can find
/// what is already stored without reading it: for each chunk the segment
/// adds, 16 bytes of its digest and its 12 similarity features at 16 bits
/// (from which every tier's super-features are recomputed), and the files
/// cache of the versions it adds. Readers never parse it; the index's zlib
/// check covers it like every other byte (docs/FORMAT.md, "Builder state").
///
/// About 41 bytes per stored chunk after zlib (the digest and features are
/// random), 5 MB per GiB stored at the default 8 KiB chunks. An append
/// loads tier 1 for every version and tiers 2 and 3 only for the chunks of
/// the last `--tier2-window` and `--tier3-window` versions, so the
/// similarity index it holds stays bounded however many versions come
/// (docs/SIMILARITY.md).
struct BuilderState: Equatable {
    static let magic: [UInt8] = Array("GPUARCB2".utf8)
    /// `filedUnder` of a chunk that has no similarity entries.
    static let notFiled = UInt32.max
    /// Bytes per chunk row: digest, version, filing, features, flags.
    static let chunkRowSize = 16 + 4 + 4 + 2 * ChunkFeatures.count + 1

    /// Per chunk the segment adds, in chunk-table order.
    struct Chunk: Equatable {
        /// The first 16 bytes of the chunk's SHA-256 (`ChunkDigest.words.0`
        /// and `.1`): an append takes a new chunk with the same 128 bits as
        /// a duplicate without reading the stored one back (reading it would
        /// decode a whole frame per chunk; two different chunks share them
        /// once in 2^64 pairs, the odds borg and restic take with theirs).
        var digest: DigestPrefix
        /// The version whose build stored it (0-based over the archive).
        var version: UInt32
        /// The chunk id its super-features are filed under (a delta chunk's
        /// are filed under its base), or `notFiled`.
        var filedUnder: UInt32
        /// Its features as `SuperFeatures.kept` (12), or nil when it has none.
        var features: [UInt16]?
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
    /// (the index's zlib stream then squeezes them to little). `first`: the
    /// archive-wide id of the first chunk row (filing is kept relative to it).
    /// `random`: where the digest and feature columns went, bytes zlib cannot
    /// shrink, which the index codec stores as they are (`IndexCodec.encodeCompressed`).
    func encoded(firstChunk first: Int) -> (bytes: [UInt8], random: [Range<Int>]) {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.u32(UInt32(chunks.count))
        var random: [Range<Int>] = []
        var columnStart = w.bytes.count
        for c in chunks { w.u64(c.digest.high) }
        for c in chunks { w.u64(c.digest.low) }
        random.append(columnStart..<w.bytes.count)
        var previous: UInt32 = 0
        for c in chunks { w.u32(c.version &- previous); previous = c.version }
        // 0: not filed; else 1 + how far back the chunk it is filed under is
        // (1 for itself, the common case).
        for (k, c) in chunks.enumerated() {
            w.u32(c.filedUnder == Self.notFiled ? 0 : UInt32(first + k) &- c.filedUnder &+ 1)
        }
        columnStart = w.bytes.count
        for f in 0..<ChunkFeatures.count {
            for c in chunks { w.u16(c.features?[f] ?? 0) }
        }
        random.append(columnStart..<w.bytes.count)
        for c in chunks { w.u8(c.features == nil ? 0 : 1) }
        w.u32(UInt32(files.count))
        var inode: UInt32 = 0, ctime: Int64 = 0, ino: UInt64 = 0
        for f in files { w.u32(f.inode &- inode); inode = f.inode }
        for f in files { w.i64(f.ctimeSec &- ctime); ctime = f.ctimeSec }
        for f in files { w.u32(f.ctimeNsec) }
        for f in files { w.u64(f.ino &- ino); ino = f.ino }
        return (w.bytes, random)
    }

    /// Parses what `encoded` wrote; `what` names it in errors. An empty
    /// state (a segment written without one) parses as empty.
    init(decoding bytes: [UInt8], firstChunk first: Int, what: String) throws {
        guard !bytes.isEmpty else { return }
        (chunks, files) = try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, what: what)
            let n = try Self.readHeader(&r)
            let chunks = try Self.readChunks(&r, count: n, first: first)
            return (chunks, try Self.readFiles(&r))
        }
    }

    /// Only the file stamps of an encoded state (the files cache needs
    /// them before anything is read; the chunk rows, only if a chunk is).
    static func stamps(decoding bytes: [UInt8], what: String) throws -> [FileStamp] {
        guard !bytes.isEmpty else { return [] }
        return try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, what: what)
            try r.skip(try readHeader(&r) * chunkRowSize)
            return try readFiles(&r)
        }
    }

    /// The magic; the number of chunk rows (checked to be there).
    private static func readHeader(_ r: inout ByteReader) throws -> Int {
        guard try r.raw(8) == magic else { throw ArchiveError(.format, "\(r.what) is not a gpuarc builder state") }
        return try r.count(of: chunkRowSize, section: "chunk state")
    }

    private static func readChunks(_ r: inout ByteReader, count n: Int, first: Int) throws -> [Chunk] {
        var highs: [UInt64] = []
        var chunks: [Chunk] = []
        highs.reserveCapacity(n)
        for _ in 0..<n { highs.append(try r.u64()) }
        chunks.reserveCapacity(n)
        for k in 0..<n {
            chunks.append(Chunk(digest: DigestPrefix(high: highs[k], low: try r.u64()), version: 0, filedUnder: notFiled, features: nil))
        }
        var version: UInt32 = 0
        for k in 0..<n { version = version &+ (try r.u32()); chunks[k].version = version }
        for k in 0..<n {
            let back = try r.u32()
            guard back <= UInt32(first + k) + 1 else {
                throw ArchiveError(.format, "\(r.what) is damaged: chunk \(first + k) is filed under a chunk before the first")
            }
            if back != 0 { chunks[k].filedUnder = UInt32(first + k) + 1 - back }
        }
        var features = [[UInt16]](repeating: [], count: n)
        for _ in 0..<ChunkFeatures.count { for k in 0..<n { features[k].append(try r.u16()) } }
        for k in 0..<n {
            let flags = try r.u8()
            guard flags <= 1 else { throw ArchiveError(.format, "\(r.what) is damaged: chunk \(first + k) has flags \(flags)") }
            if flags == 1 { chunks[k].features = features[k] }
        }
        return chunks
    }

    private static func readFiles(_ r: inout ByteReader) throws -> [FileStamp] {
        let m = try r.count(of: 4 + 8 + 4 + 8, section: "files cache")
        var stamps = [FileStamp](repeating: FileStamp(inode: 0, ctimeSec: 0, ctimeNsec: 0, ino: 0), count: m)
        var inode: UInt32 = 0, ctime: Int64 = 0, ino: UInt64 = 0
        for k in 0..<m { inode = inode &+ (try r.u32()); stamps[k].inode = inode }
        for k in 0..<m { ctime = ctime &+ (try r.i64()); stamps[k].ctimeSec = ctime }
        for k in 0..<m { stamps[k].ctimeNsec = try r.u32() }
        for k in 0..<m { ino = ino &+ (try r.u64()); stamps[k].ino = ino }
        guard r.remaining == 0 else { throw ArchiveError(.format, "\(r.what) is damaged: \(r.remaining) bytes after its end") }
        return stamps
    }

    init(chunks: [Chunk] = [], files: [FileStamp] = []) {
        self.chunks = chunks
        self.files = files
    }
}

/// Makes the builder state of a build's segment from what it stored: its
/// chunks (from `table.first` on) and a stamp per regular-file inode of the
/// newest version it added.
enum BuilderStateRecorder {
    static func state(table: ChunkTable, tree: ScannedTree, stored: StoredTree, inodeOfNode: [Int]) -> BuilderState {
        var state = BuilderState()
        state.chunks.reserveCapacity(table.digests.count)
        for k in table.digests.indices {
            state.chunks.append(BuilderState.Chunk(digest: DigestPrefix(table.digests[k]),
                                                   version: table.versions[k], filedUnder: table.filedUnder[k],
                                                   features: table.keptFeatures(k)))
        }
        // Stamps of the newest version only: the files cache compares with
        // it alone (ten versions at once would otherwise keep ten times as
        // many). A file stored as it was later than the scan gets none: the
        // next append reads it again rather than trust a stamp of another version.
        var stamps: [BuilderState.FileStamp] = []
        var stack = tree.versionRoots.last.map { [$0] } ?? []
        while let dir = stack.popLast() {
            for kid in tree.nodes[dir].children {
                if tree.nodes[kid].kind == .directory { stack.append(kid); continue }
                let node = stored.leader(of: kid, in: tree)
                guard tree.nodes[node].kind == .regular, stored.fresh[node] == nil, inodeOfNode[node] >= 0 else { continue }
                let identity = tree.nodes[node].identity
                stamps.append(BuilderState.FileStamp(inode: UInt32(inodeOfNode[node]), ctimeSec: identity.ctimeSec,
                                                     ctimeNsec: UInt32(truncatingIfNeeded: identity.ctimeNsec), ino: identity.ino))
            }
        }
        // By inode, once each (the names of a hard-link group share one).
        stamps.sort { $0.inode < $1.inode }
        state.files = stamps.indices.compactMap { k in k > 0 && stamps[k - 1].inode == stamps[k].inode ? nil : stamps[k] }
        return state
    }
}

/// The first 16 bytes of a chunk's SHA-256, as a builder state keeps them.
struct DigestPrefix: Hashable {
    var high: UInt64
    var low: UInt64
    init(high: UInt64, low: UInt64) { self.high = high; self.low = low }
    init(_ digest: ChunkDigest) { self.init(high: digest.words.0, low: digest.words.1) }
}
