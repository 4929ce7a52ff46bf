import Archive

/// What a build keeps in its index segment so that a later append can find
/// what is already stored without reading it: the chunk digests and tier-1
/// super-features of the chunks the segment adds, and the files cache of
/// the versions it adds. Readers never parse it; the index's checksum
/// covers it like every other byte (docs/FORMAT.md, "Builder state").
///
/// Tiers 2 and 3 are not kept: an append recomputes them from the bytes of
/// the chunks still inside their windows, so what is kept per chunk stays
/// bounded however many versions come (docs/SIMILARITY.md).
struct BuilderState: Equatable {
    static let magic: [UInt8] = Array("GPUARCB1".utf8)
    /// `filedUnder` of a chunk that has no similarity entries.
    static let notFiled = UInt32.max

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
        /// Tier-1 super-features, folded to 32 bits (`SuperFeatures.fold`).
        var tier1: [UInt32]
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
        for k in 0..<3 { for c in chunks { w.u32(c.tier1.count == 3 ? c.tier1[k] : 0) } }
        for c in chunks { w.u8(c.tier1.count == 3 ? 1 : 0) }
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
            let n = try r.count(of: 8 + 4 + 4 + 12 + 1, section: "chunk state")
            var digests: [UInt64] = [], versions: [UInt32] = [], filed: [UInt32] = []
            var sfs = [[UInt32]](repeating: [], count: 3)
            digests.reserveCapacity(n)
            for _ in 0..<n { digests.append(try r.u64()) }
            var version: UInt32 = 0
            for _ in 0..<n { version = version &+ (try r.u32()); versions.append(version) }
            for _ in 0..<n { filed.append(try r.u32()) }
            for k in 0..<3 { for _ in 0..<n { sfs[k].append(try r.u32()) } }
            for i in 0..<n {
                let has = try r.u8()
                chunks.append(Chunk(digest: digests[i], version: versions[i], filedUnder: filed[i],
                                    tier1: has == 1 ? [sfs[0][i], sfs[1][i], sfs[2][i]] : []))
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
