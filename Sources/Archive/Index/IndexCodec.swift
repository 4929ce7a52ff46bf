/// Serializes the index (docs/FORMAT.md, "Index") and parses it back.
/// Parsing never trusts a count or an offset: every record is bounds-checked on
/// read and then the whole structure is validated (IndexValidator).
public enum IndexCodec {
    static let magic: [UInt8] = Array("GPUARCIX".utf8)
    static let headerSize = 64
    static let frameRecordSize = 37, chunkRecordSize = 21, contentRecordSize = 20
    static let inodeRecordSize = 49, entryRecordSize = 16
    /// Format 4 adds the inode's u32 xattr set.
    static let inodeRecordSizeV4 = 53
    static let xattrSetRecordSize = 12, xattrPairRecordSize = 24, sparseRecordSize = 16, extentRecordSize = 16
    /// Format 5's segment sections.
    static let segmentRecordSize = 100, replacedInodeRecordSize = 4 + inodeRecordSizeV4, versionRecordSize = 40

    /// Index format versions this code reads: 1 (tables row by row), 2
    /// (tables column by column, growing columns delta-coded: IndexColumns)
    /// 3 (2 with the chunk table's offsets and stored lengths predicted:
    /// `ChunkPrediction`), 4 (3 with extended attributes and sparse files)
    /// 5 (4 in segments, with versions and the builder's state) and 6 (5
    /// with each segment compressed by zstd against the one before it:
    /// `SegmentCompression`; the inflated bytes are format 5's).
    public static let readableVersions: ClosedRange<UInt32> = 1...6

    /// The uncompressed index: header + sections, in format `version`
    /// (the current one unless a test asks for an older one). In format 5
    /// it is one segment: the rows after `segment.prior` (all of them for
    /// a build; what an append adds, for an append).
    public static func encode(_ index: ArchiveIndex, version: UInt32 = ArchiveIndex.currentVersion,
                              segment: IndexSegment = IndexSegment()) -> [UInt8] {
        precondition(readableVersions.contains(version), "cannot write index format \(version)")
        precondition(version >= 4 || (index.xattrSets.isEmpty && index.sparse.isEmpty),
                     "index format \(version) cannot hold extended attributes or sparse files")
        precondition(version >= 5 || (index.versions.isEmpty && segment == IndexSegment()),
                     "index format \(version) has neither versions nor segments")
        precondition((segment.number == 1) == (segment.previous == nil), "only the first segment has none before it")
        let p = segment.prior
        var w = ByteWriter()
        // Room for every row at once: grown by doubling, the rows of a
        // 100,000-file index (8 MB) held up to twice that at the build's peak.
        let rows: [(count: Int, bytes: Int)] = [
            (index.volumeSizes.count, 8), (index.frames.count - p.frames, 37), (index.chunks.count - p.chunks, 21),
            (index.contents.count - p.contents, 20), (index.chunkRefs.count - p.chunkRefs, 4),
            (index.inodes.count - p.inodes + segment.replacedInodes.count, 64), (index.entries.count - p.entries, 16),
            (index.strings.count - p.strings, 1), (index.xattrSets.count - p.xattrSets, 12),
            (index.xattrPairs.count - p.xattrPairs, 24), (index.sparse.count - p.sparse, 16),
            (index.extents.count - p.extents, 16), (index.versions.count - p.versions, 48),
            (segment.builderState.count, 1),
        ]
        w.bytes.reserveCapacity(rows.reduce(256) { $0 + $1.count * $1.bytes })
        w.u32(UInt32(index.volumeSizes.count))
        for v in index.volumeSizes { w.u64(v) }
        w.u32(UInt32(index.frames.count - p.frames))
        for f in index.frames[p.frames...] {
            w.u32(f.volume); w.u64(f.offset); w.u32(f.storedSize); w.u32(f.decodedSize)
            w.u8(f.codec.rawValue); w.u64(f.payloadHash); w.u64(f.decodedHash)
        }
        w.u32(UInt32(index.chunks.count - p.chunks))
        var prediction = ChunkPrediction()
        for c in index.chunks[p.chunks...] {
            var (offset, stored) = (c.offset, c.storedLength)
            if version >= 3 { (offset, stored) = prediction.residuals(of: c) }
            w.u8(c.kind.rawValue); w.u32(c.frame); w.u32(offset); w.u32(stored); w.u32(c.length); w.u32(c.base)
        }
        w.u32(UInt32(index.contents.count - p.contents))
        for c in index.contents[p.contents...] { w.u64(c.size); w.u64(c.firstRef); w.u32(c.refCount) }
        w.u64(UInt64(index.chunkRefs.count - p.chunkRefs))
        for r in index.chunkRefs[p.chunkRefs...] { w.u32(r) }
        w.u32(UInt32(index.inodes.count - p.inodes))
        for n in index.inodes[p.inodes...] { writeInode(n, version: version, into: &w) }
        w.u64(UInt64(index.entries.count - p.entries))
        for e in index.entries[p.entries...] { w.u64(e.nameOffset); w.u32(e.nameLength); w.u32(e.inode) }
        w.u64(UInt64(index.strings.count - p.strings))
        w.raw(Array(index.strings[p.strings...]))
        if version >= 4 {
            w.u32(UInt32(index.xattrSets.count - p.xattrSets))
            for x in index.xattrSets[p.xattrSets...] { w.u64(x.firstPair); w.u32(x.pairCount) }
            w.u64(UInt64(index.xattrPairs.count - p.xattrPairs))
            for x in index.xattrPairs[p.xattrPairs...] { w.u64(x.nameOffset); w.u32(x.nameLength); w.u64(x.valueOffset); w.u32(x.valueLength) }
            w.u32(UInt32(index.sparse.count - p.sparse))
            for r in index.sparse[p.sparse...] { w.u32(r.content); w.u64(r.firstExtent); w.u32(r.extentCount) }
            w.u64(UInt64(index.extents.count - p.extents))
            for e in index.extents[p.extents...] { w.u64(e.offset); w.u64(e.length) }
        }
        if version >= 5 {
            w.u32(1)
            w.u32(UInt32(segment.number))
            let previous = segment.previous ?? SegmentLocator(volume: 0, offset: 0, size: 0, hash: 0)
            w.u32(previous.volume); w.u64(previous.offset); w.u64(previous.size); w.u64(previous.hash)
            w.u32(UInt32(p.frames)); w.u32(UInt32(p.chunks)); w.u32(UInt32(p.contents)); w.u64(UInt64(p.chunkRefs))
            w.u32(UInt32(p.inodes)); w.u64(UInt64(p.entries)); w.u64(UInt64(p.strings)); w.u32(UInt32(p.xattrSets))
            w.u64(UInt64(p.xattrPairs)); w.u32(UInt32(p.sparse)); w.u64(UInt64(p.extents)); w.u32(UInt32(p.versions))
            w.u32(UInt32(segment.replacedInodes.count))
            for id in segment.replacedInodes {
                w.u32(UInt32(id))
                writeInode(index.inodes[id], version: version, into: &w)
            }
            w.u32(UInt32(index.versions.count - p.versions))
            for v in index.versions[p.versions...] {
                w.u64(v.nameOffset); w.u32(v.nameLength); w.i64(v.added); w.u32(v.inode); w.u64(v.files); w.u64(v.bytes)
            }
            w.u64(UInt64(segment.builderState.count))
            w.raw(segment.builderState)
        }

        var body = w.bytes
        if version >= 2 {
            // Cannot fail: these are the rows just written.
            body = try! body.withUnsafeBytes { try IndexColumns.columns(fromRows: $0, version: version, what: "new index") }
        }
        var header = ByteWriter()
        header.raw(magic)
        header.u32(version)
        header.u32(0)                       // flags
        header.raw(index.archiveID)
        header.u64(0)                       // checksum, filled in below
        header.u64(UInt64(body.count))
        // Format 4: the parity volumes the build writes (so a repair can make
        // them again when all of them are lost); then reserved, zero.
        header.u32(version >= 4 ? UInt32(index.parityCount) : 0)
        header.raw([UInt8](repeating: 0, count: 12))
        var all = header.bytes
        all.reserveCapacity(all.count + body.count)
        all += body
        let checksum = all.withUnsafeBytes { XXHash64.hash($0) }
        withUnsafeBytes(of: checksum.littleEndian) { all.replaceSubrange(checksumOffset..<(checksumOffset + 8), with: $0) }
        return all
    }

    private static func writeInode(_ n: Inode, version: UInt32, into w: inout ByteWriter) {
        w.u8(n.kind.rawValue); w.u32(n.mode); w.u32(n.uid); w.u32(n.gid)
        w.i64(n.mtimeSec); w.u32(n.mtimeNsec); w.u32(n.nlink); w.u64(n.size); w.u64(n.data); w.u32(n.count)
        if version >= 4 { w.u32(n.xattrs) }
    }

    static let checksumOffset = 32

    /// XXH64 of the whole index with its checksum field read as zero.
    static func checksum(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        var copy = Array(bytes)
        return copy.withUnsafeMutableBytes { checksum(inPlace: $0) }
    }

    /// The same, taken on bytes the caller owns: the field is zeroed for the
    /// hash and put back, so an index just inflated is not copied to be
    /// checked. (Bytes too short to hold the field are hashed as they are;
    /// the parser refuses them anyway.)
    static func checksum(inPlace raw: UnsafeMutableRawBufferPointer) -> UInt64 {
        guard raw.count >= checksumOffset + 8 else { return XXHash64.hash(UnsafeRawBufferPointer(raw)) }
        let field = raw.loadUnaligned(fromByteOffset: checksumOffset, as: UInt64.self)
        raw.storeBytes(of: 0, toByteOffset: checksumOffset, as: UInt64.self)
        defer { raw.storeBytes(of: field, toByteOffset: checksumOffset, as: UInt64.self) }
        return XXHash64.hash(UnsafeRawBufferPointer(raw))
    }

    /// Compressed form as stored in the last volume, in format `version`:
    /// from format 6 an enveloped zstd frame against `prefix`, the inflated
    /// bytes of the segment before (`SegmentCompression`; empty for segment
    /// 1); before, one zlib stream (an append to a format-5 archive writes
    /// format 5, so a chain has one format).
    /// zlib level 4 for the tables: on a 313 MiB tree's index (1.8 MB of
    /// tables) 11.9 against 20.3 ms at level 5 for 1.8% more (225 against
    /// 221 KB); on an append's segment (746 KB) 5.4 against 7.4 ms, 2.8% more.
    static let compressionLevel: Int32 = 4

    /// `storedState`: ranges of `segment.builderState` that are random bytes
    /// (its digest and feature columns, as `BuilderState.encoded` reports them), put in
    /// zlib stored blocks: on the same tree 1.35 MB that level 5 shrank by 3%
    /// in 27 ms. The stream is an ordinary zlib stream either way.
    public static func encodeCompressed(_ index: ArchiveIndex, segment: IndexSegment = IndexSegment(),
                                        storedState: [Range<Int>] = [], version: UInt32 = ArchiveIndex.currentVersion,
                                        prefix: [UInt8] = []) throws -> [UInt8] {
        let bytes = encode(index, version: version, segment: segment)
        if version >= 6 { return SegmentCompression.compress(bytes, previous: segment.previous, prefix: prefix) }
        // The builder state is the segment's last section.
        let state = bytes.count - segment.builderState.count
        return try Zlib.compress(bytes, level: compressionLevel, stored: storedState.map { ($0.lowerBound + state)..<($0.upperBound + state) })
    }

    /// Inflates the header alone first: a stream that is not an index is refused
    /// before it is inflated, and an index is inflated into exactly the size its
    /// header gives, once that size is one zlib could have produced from these
    /// bytes, so a small hostile stream cannot make the reader allocate gigabytes.
    public static func decodeCompressed(_ bytes: UnsafeRawBufferPointer, what: String) throws -> ArchiveIndex {
        // A later format-6 segment cannot even be inflated without the one before.
        if SegmentCompression.isEnveloped(bytes), try SegmentCompression.previous(of: bytes, what: what) != nil {
            throw ArchiveError(.format, "\(what) is a later segment of an index (it continues the one before it), not a whole index")
        }
        return try IndexChain.merge([decodeCompressedSegment(bytes, what: what).decoded], what: what)
    }

    /// One compressed segment, parsed but not yet validated (`IndexChain`
    /// merges the segments of a chain, then validates the whole), and its
    /// inflated bytes (the next format-6 segment's prefix). `prefix`: the
    /// previous segment's inflated bytes, for a format-6 segment after the
    /// first.
    package static func decodeCompressedSegment(_ bytes: UnsafeRawBufferPointer, what: String,
                                        prefix: [UInt8] = []) throws -> (decoded: DecodedSegment, inflated: [UInt8]) {
        if SegmentCompression.isEnveloped(bytes) {
            let previous = try SegmentCompression.previous(of: bytes, what: what)
            var body = try prefix.withUnsafeBytes { try SegmentCompression.inflate(bytes, prefix: $0, what: what) }
            let sum = body.withUnsafeMutableBytes { checksum(inPlace: $0) }
            let decoded = try body.withUnsafeBytes { try decodeSegment($0, what: what, checksum: sum) }
            guard decoded.tables.formatVersion >= 6 else {
                throw ArchiveError(.format, "\(what) is damaged: a format \(decoded.tables.formatVersion) index in a format 6 envelope")
            }
            guard decoded.segment.previous == previous else {
                throw ArchiveError(.format, "\(what) is damaged: its envelope and its segment record name different segments before it")
            }
            return (decoded, body)
        }
        let head = try Zlib.decompressPrefix(bytes, what: what, count: headerSize)
        guard head.count == headerSize, Array(head[0..<8]) == magic else {
            throw ArchiveError(.format, "\(what) is not a gpuarc index (bad magic)")
        }
        let bodyLength = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 40, as: UInt64.self).littleEndian }
        guard bodyLength <= UInt64(Zlib.maxRatio) * UInt64(bytes.count) else {
            throw ArchiveError(.format, "\(what) is damaged: its header claims \(bodyLength) bytes, more than \(bytes.count) compressed bytes can hold")
        }
        var body = try Zlib.decompress(bytes, what: what, size: headerSize + Int(bodyLength))
        let sum = body.withUnsafeMutableBytes { checksum(inPlace: $0) }
        let decoded = try body.withUnsafeBytes { try decodeSegment($0, what: what, checksum: sum) }
        guard decoded.tables.formatVersion <= 5 else {
            throw ArchiveError(.format, "\(what) is damaged: a format \(decoded.tables.formatVersion) index stored as zlib, which format 6 never is")
        }
        return (decoded, body)
    }

    /// Parses and validates an uncompressed whole index (format 1 to 6; in
    /// formats 5 and 6 a first segment).
    public static func decode(_ bytes: UnsafeRawBufferPointer, what: String) throws -> ArchiveIndex {
        try IndexChain.merge([decodeSegment(bytes, what: what, checksum: checksum(of: bytes))], what: what)
    }

    /// Parses an uncompressed index or format-5 segment, unvalidated.
    /// `checksum`: the bytes' `checksum(of:)`, which the caller takes (in
    /// place where it owns them).
    static func decodeSegment(_ bytes: UnsafeRawBufferPointer, what: String, checksum computed: UInt64) throws -> DecodedSegment {
        var r = ByteReader(bytes, what: what)
        guard bytes.count >= headerSize, try r.raw(8) == magic else {
            throw ArchiveError(.format, "\(what) is not a gpuarc index (bad magic)")
        }
        let version = try r.u32()
        guard readableVersions.contains(version) else {
            throw ArchiveError(.unsupported, "\(what) has format version \(version); this gpuarc reads versions \(readableVersions.lowerBound) to \(readableVersions.upperBound). Use a newer gpuarc.")
        }
        let flags = try r.u32()
        var index = ArchiveIndex()
        index.archiveID = try r.raw(16)
        let checksum = try r.u64()
        let bodyLength = try r.u64()
        let parityCount = try r.u32()
        let reserved = try r.raw(12)
        guard bodyLength == UInt64(r.remaining), computed == checksum else {
            throw ArchiveError(.format, "\(what) is damaged: its checksum does not match")
        }
        guard flags == 0, reserved.allSatisfy({ $0 == 0 }), version >= 4 || parityCount == 0,
              parityCount < UInt32(ReedSolomon.maxShards) else {
            throw ArchiveError(.unsupported, "\(what) uses features this gpuarc does not know (flags \(flags)); use a newer gpuarc")
        }
        index.parityCount = Int(parityCount)
        index.formatVersion = version
        if version >= 2 {
            // Back to rows, then the one parser below.
            let rows = try IndexColumns.rows(fromColumns: UnsafeRawBufferPointer(rebasing: bytes[headerSize...]),
                                             version: version, what: what)
            return try rows.withUnsafeBytes { try parseSections($0, into: index, version: version, what: what) }
        }
        return try parseSections(UnsafeRawBufferPointer(rebasing: bytes[headerSize...]), into: index, version: version, what: what)
    }

    /// The sections of a body in rows (format 1's layout, with format 4's
    /// and 5's extra field and sections), not yet validated. From format 3
    /// on the chunk table holds residuals.
    private static func parseSections(_ body: UnsafeRawBufferPointer, into header: ArchiveIndex, version: UInt32,
                                      what: String) throws -> DecodedSegment {
        let predicted = version >= 3
        var r = ByteReader(body, what: what)
        var index = header

        let volumeCount = try r.count(of: 8, section: "volume table")
        index.volumeSizes.reserveCapacity(volumeCount)
        for _ in 0..<volumeCount { index.volumeSizes.append(try r.u64()) }

        let frameCount = try r.count(of: frameRecordSize, section: "frame table")
        index.frames.reserveCapacity(frameCount)
        for i in 0..<frameCount {
            let volume = try r.u32(), offset = try r.u64(), stored = try r.u32(), decoded = try r.u32()
            let codecByte = try r.u8()
            guard let codec = FrameCodec(rawValue: codecByte) else {
                throw ArchiveError(.format, "\(what): frame \(i) has unknown codec \(codecByte)")
            }
            index.frames.append(FrameRecord(volume: volume, offset: offset, storedSize: stored, decodedSize: decoded,
                                            codec: codec, payloadHash: try r.u64(), decodedHash: try r.u64()))
        }

        let chunkCount = try r.count(of: chunkRecordSize, section: "chunk table")
        index.chunks.reserveCapacity(chunkCount)
        var prediction = ChunkPrediction()
        for i in 0..<chunkCount {
            let kindByte = try r.u8()
            guard let kind = ChunkKind(rawValue: kindByte) else {
                throw ArchiveError(.format, "\(what): chunk \(i) has unknown kind \(kindByte)")
            }
            var chunk = ChunkRecord(kind: kind, frame: try r.u32(), offset: try r.u32(),
                                    storedLength: try r.u32(), length: try r.u32(), base: try r.u32())
            if predicted { prediction.restore(&chunk) }
            index.chunks.append(chunk)
        }

        let contentCount = try r.count(of: contentRecordSize, section: "content table")
        index.contents.reserveCapacity(contentCount)
        for _ in 0..<contentCount {
            index.contents.append(ContentRecord(size: try r.u64(), firstRef: try r.u64(), refCount: try r.u32()))
        }

        let refCount = try r.count(of: 4, wide: true, section: "chunk reference list")
        index.chunkRefs.reserveCapacity(refCount)
        for _ in 0..<refCount { index.chunkRefs.append(try r.u32()) }

        let inodeCount = try r.count(of: version >= 4 ? inodeRecordSizeV4 : inodeRecordSize, section: "inode table")
        index.inodes.reserveCapacity(inodeCount)
        for i in 0..<inodeCount { index.inodes.append(try readInode(&r, version: version, what: "\(what): inode \(i)")) }

        let entryCount = try r.count(of: entryRecordSize, wide: true, section: "directory entry table")
        index.entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount {
            index.entries.append(DirEntry(nameOffset: try r.u64(), nameLength: try r.u32(), inode: try r.u32()))
        }

        let stringLength = try r.count(of: 1, wide: true, section: "string table")
        index.strings = try r.raw(stringLength)
        if version >= 4 {
            let setCount = try r.count(of: xattrSetRecordSize, section: "xattr set table")
            index.xattrSets.reserveCapacity(setCount)
            for _ in 0..<setCount { index.xattrSets.append(XattrSet(firstPair: try r.u64(), pairCount: try r.u32())) }
            let pairCount = try r.count(of: xattrPairRecordSize, wide: true, section: "xattr pair table")
            index.xattrPairs.reserveCapacity(pairCount)
            for _ in 0..<pairCount {
                index.xattrPairs.append(XattrPair(nameOffset: try r.u64(), nameLength: try r.u32(),
                                                  valueOffset: try r.u64(), valueLength: try r.u32()))
            }
            let sparseCount = try r.count(of: sparseRecordSize, section: "sparse content table")
            index.sparse.reserveCapacity(sparseCount)
            for _ in 0..<sparseCount {
                index.sparse.append(SparseRecord(content: try r.u32(), firstExtent: try r.u64(), extentCount: try r.u32()))
            }
            let extentCount = try r.count(of: extentRecordSize, wide: true, section: "data extent table")
            index.extents.reserveCapacity(extentCount)
            for _ in 0..<extentCount { index.extents.append(DataExtent(offset: try r.u64(), length: try r.u64())) }
        }
        var decoded = DecodedSegment(tables: index, segment: IndexSegment(), replacements: [])
        if version >= 5 { try parseSegmentSections(&r, into: &decoded, what: what) }
        guard r.remaining == 0 else {
            throw ArchiveError(.format, "\(what) is damaged: \(r.remaining) unexpected bytes after its last table")
        }
        return decoded
    }

    private static func readInode(_ r: inout ByteReader, version: UInt32, what: String) throws -> Inode {
        let kindByte = try r.u8()
        guard let kind = InodeKind(rawValue: kindByte) else {
            throw ArchiveError(.format, "\(what) has unknown type \(kindByte)")
        }
        return Inode(kind: kind, mode: try r.u32(), uid: try r.u32(), gid: try r.u32(),
                     mtimeSec: try r.i64(), mtimeNsec: try r.u32(), nlink: try r.u32(),
                     size: try r.u64(), data: try r.u64(), count: try r.u32(),
                     xattrs: version >= 4 ? try r.u32() : 0)
    }

    /// Format 5's segment record, replaced inodes, versions and builder state.
    private static func parseSegmentSections(_ r: inout ByteReader, into decoded: inout DecodedSegment, what: String) throws {
        guard try r.count(of: segmentRecordSize, section: "segment record") == 1 else {
            throw ArchiveError(.format, "\(what) is damaged: it must hold exactly one segment record")
        }
        var segment = IndexSegment()
        segment.number = Int(try r.u32())
        let previous = SegmentLocator(volume: try r.u32(), offset: try r.u64(), size: try r.u64(), hash: try r.u64())
        var p = TableCounts()
        p.frames = Int(try r.u32()); p.chunks = Int(try r.u32()); p.contents = Int(try r.u32())
        p.chunkRefs = try r.count64(); p.inodes = Int(try r.u32()); p.entries = try r.count64()
        p.strings = try r.count64(); p.xattrSets = Int(try r.u32()); p.xattrPairs = try r.count64()
        p.sparse = Int(try r.u32()); p.extents = try r.count64(); p.versions = Int(try r.u32())
        segment.prior = p
        guard segment.number >= 1 else { throw ArchiveError(.format, "\(what) is damaged: segment number 0") }
        if segment.number == 1 {
            guard previous == SegmentLocator(volume: 0, offset: 0, size: 0, hash: 0), p == TableCounts() else {
                throw ArchiveError(.format, "\(what) is damaged: its first segment claims rows before it")
            }
        } else {
            segment.previous = previous
        }
        let replacedCount = try r.count(of: replacedInodeRecordSize, section: "replaced inode table")
        for i in 0..<replacedCount {
            let id = Int(try r.u32())
            decoded.replacements.append((id, try readInode(&r, version: decoded.tables.formatVersion, what: "\(what): replaced inode \(i)")))
        }
        segment.replacedInodes = decoded.replacements.map(\.0)
        let versionCount = try r.count(of: versionRecordSize, section: "version table")
        for _ in 0..<versionCount {
            decoded.tables.versions.append(VersionRecord(nameOffset: try r.u64(), nameLength: try r.u32(), added: try r.i64(),
                                                         inode: try r.u32(), files: try r.u64(), bytes: try r.u64()))
        }
        let stateLength = try r.count(of: 1, wide: true, section: "builder state")
        segment.builderState = try r.raw(stateLength)
        decoded.segment = segment
    }
}

/// An index or format-5/6 segment as parsed: its tables (the rows it adds),
/// its segment record, and the inodes it replaces.
package struct DecodedSegment {
    var tables: ArchiveIndex
    var segment: IndexSegment
    var replacements: [(Int, Inode)]
}

/// Format 3's chunk-table prediction. Chunks are stored one after another in
/// their frame, so a chunk's offset is, nearly always, the previous chunk's
/// offset plus its stored length when both are in one frame (0 when a new
/// frame starts), and a literal chunk's stored length is its length. Format 3
/// stores what is left, offset - prediction and stored length - length
/// (modulo 2^32): mostly zeros, where format 2's differences of offsets were
/// chunk lengths (on ten Django releases the compressed index went from 308 to 268 KB).
/// Any residual decodes to some chunk; the validator judges the result.
struct ChunkPrediction {
    private var previous: ChunkRecord?

    private func predictedOffset(frame: UInt32) -> UInt32 {
        guard let p = previous, p.frame == frame else { return 0 }
        return p.offset &+ p.storedLength
    }

    /// The residuals stored for `chunk` (the next one in table order).
    mutating func residuals(of chunk: ChunkRecord) -> (offset: UInt32, storedLength: UInt32) {
        defer { previous = chunk }
        return (chunk.offset &- predictedOffset(frame: chunk.frame), chunk.storedLength &- chunk.length)
    }

    /// Turns the next record read (residuals in offset and storedLength) back into the chunk.
    mutating func restore(_ chunk: inout ChunkRecord) {
        chunk.offset = chunk.offset &+ predictedOffset(frame: chunk.frame)
        chunk.storedLength = chunk.storedLength &+ chunk.length
        previous = chunk
    }
}
