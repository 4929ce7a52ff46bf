import XCTest
@testable import Archive

/// A small valid index, built by hand, that each test then damages in one way.
func sampleIndex() -> ArchiveIndex {
    var index = ArchiveIndex()
    index.archiveID = [UInt8](repeating: 0xAB, count: 16)
    index.volumeSizes = [10_000]
    index.frames = [FrameRecord(volume: 0, offset: 32, storedSize: 100, decodedSize: 100, codec: .raw, payloadHash: 1, decodedHash: 1)]
    index.chunks = [.literal(frame: 0, offset: 0, length: 60), .literal(frame: 0, offset: 60, length: 40),
                    ChunkRecord(kind: .delta, frame: 0, offset: 60, storedLength: 40, length: 80, base: 0)]
    index.contents = [ContentRecord(size: 100, firstRef: 0, refCount: 2), ContentRecord(size: 80, firstRef: 2, refCount: 1)]
    index.chunkRefs = [0, 1, 2]
    let names = ["a.txt", "dir", "link", "z"]
    var strings: [UInt8] = []
    var offsets: [UInt64] = []
    for n in names { offsets.append(UInt64(strings.count)); strings += Array(n.utf8) }
    let target = UInt64(strings.count); strings += Array("a.txt".utf8)
    index.strings = strings
    // inode 0 root: a.txt(1), dir(2), link(3); dir holds z (hard link to 1)
    index.inodes = [
        Inode(kind: .directory, mode: 0o040755, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 0, nlink: 3, size: 0, data: 0, count: 3),
        Inode(kind: .regular, mode: 0o100644, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 5, nlink: 2, size: 100, data: 0, count: 0),
        Inode(kind: .directory, mode: 0o040755, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 0, nlink: 2, size: 0, data: 3, count: 1),
        Inode(kind: .symlink, mode: 0o120777, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 0, nlink: 1, size: 5, data: target, count: 5),
    ]
    index.entries = [
        DirEntry(nameOffset: offsets[0], nameLength: 5, inode: 1),
        DirEntry(nameOffset: offsets[1], nameLength: 3, inode: 2),
        DirEntry(nameOffset: offsets[2], nameLength: 4, inode: 3),
        DirEntry(nameOffset: offsets[3], nameLength: 1, inode: 1),
    ]
    return index
}

final class IndexTests: XCTestCase {
    private func roundTrip(_ index: ArchiveIndex) throws -> ArchiveIndex {
        let bytes = try IndexCodec.encodeCompressed(index)
        return try bytes.withUnsafeBytes { try IndexCodec.decodeCompressed($0, what: "test index") }
    }

    /// Every table of `a` equals `b`'s.
    private func assertSameTables(_ a: ArchiveIndex, _ b: ArchiveIndex, _ what: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.inodes, b.inodes, what, file: file, line: line)
        XCTAssertEqual(a.entries, b.entries, what, file: file, line: line)
        XCTAssertEqual(a.chunks, b.chunks, what, file: file, line: line)
        XCTAssertEqual(a.frames, b.frames, what, file: file, line: line)
        XCTAssertEqual(a.contents, b.contents, what, file: file, line: line)
        XCTAssertEqual(a.chunkRefs, b.chunkRefs, what, file: file, line: line)
        XCTAssertEqual(a.strings, b.strings, what, file: file, line: line)
        XCTAssertEqual(a.volumeSizes, b.volumeSizes, what, file: file, line: line)
        XCTAssertEqual(a.xattrSets, b.xattrSets, what, file: file, line: line)
        XCTAssertEqual(a.xattrPairs, b.xattrPairs, what, file: file, line: line)
        XCTAssertEqual(a.sparse, b.sparse, what, file: file, line: line)
        XCTAssertEqual(a.extents, b.extents, what, file: file, line: line)
    }

    /// The sample index with what format 4 adds: an attribute set (an ACL
    /// and a user attribute, values with NUL bytes) shared by two inodes,
    /// and a.txt's content made sparse (100 bytes of data in a 1 MiB file).
    private func sampleIndexV4() -> ArchiveIndex {
        var index = sampleIndex()
        func add(_ bytes: [UInt8]) -> (UInt64, UInt32) {
            defer { index.strings += bytes }
            return (UInt64(index.strings.count), UInt32(bytes.count))
        }
        let acl = add(Array("system.posix_acl_access".utf8)), aclValue = add([2, 0, 0, 0, 1, 0, 6, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        let user = add(Array("user.caf".utf8) + [0xE9]), userValue = add([0, 1, 0])
        index.xattrPairs = [XattrPair(nameOffset: acl.0, nameLength: acl.1, valueOffset: aclValue.0, valueLength: aclValue.1),
                            XattrPair(nameOffset: user.0, nameLength: user.1, valueOffset: userValue.0, valueLength: userValue.1)]
        index.xattrSets = [XattrSet(firstPair: 0, pairCount: 2)]
        index.inodes[1].xattrs = 1
        index.inodes[2].xattrs = 1
        index.contents[0].size = 1 << 20
        index.inodes[1].size = 1 << 20
        index.sparse = [SparseRecord(content: 0, firstExtent: 0, extentCount: 2)]
        index.extents = [DataExtent(offset: 4096, length: 60), DataExtent(offset: 65536, length: 40)]
        return index
    }

    /// Format 4 carries attributes and holes through a round trip, and the
    /// accessors find them: attributes by name, extents by content.
    func testFormatFourRoundTripsAttributesAndHoles() throws {
        let back = try roundTrip(sampleIndexV4())
        assertSameTables(back, sampleIndexV4(), "format 4")
        XCTAssertEqual(back.xattrs(of: 1).map(\.name), [Array("system.posix_acl_access".utf8), Array("user.caf".utf8) + [0xE9]])
        XCTAssertEqual(back.xattrs(of: 3).count, 0)
        let value = Array("user.caf".utf8) + [0xE9]
        XCTAssertEqual(value.withUnsafeBytes { back.withXattr(of: 2, name: $0) { $0.map(Array.init) } }, [0, 1, 0])
        XCTAssertNil(Array("user.cafe".utf8).withUnsafeBytes { back.withXattr(of: 2, name: $0) { $0.map(Array.init) } })
        XCTAssertEqual(back.dataExtents(ofContent: 0).map(Array.init), sampleIndexV4().extents)
        XCTAssertNil(back.dataExtents(ofContent: 1))
        XCTAssertEqual(back.dataBytes(ofContent: 0), 100)
        XCTAssertEqual(back.extentDataStarts, [0, 60])
    }

    /// Hostile format-4 tables are refused with a message, never trusted.
    func testHostileAttributesAndExtentsAreRefused() throws {
        func refused(_ change: (inout ArchiveIndex) -> Void, _ expect: String, line: UInt = #line) {
            var index = sampleIndexV4()
            change(&index)
            let bytes = IndexCodec.encode(index)
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try IndexCodec.decode($0, what: "i") }, line: line) { error in
                XCTAssertTrue("\(error)".contains(expect), "\(error)", line: line)
            }
        }
        refused({ $0.inodes[3].xattrs = 2 }, "xattr set 1, which does not exist")
        refused({ $0.xattrSets[0].pairCount = 3 }, "outside the pair table")
        refused({ $0.xattrPairs.swapAt(0, 1) }, "not strictly sorted")
        refused({ $0.xattrPairs[1] = $0.xattrPairs[0] }, "not strictly sorted")
        refused({ $0.xattrPairs[0].valueOffset = UInt64.max - 3 }, "outside the string table")
        refused({ $0.xattrPairs[0].nameLength = 0 }, "empty")
        refused({ $0.xattrSets.append(XattrSet(firstPair: 0, pairCount: 1)) }, "shared with another set")
        refused({ $0.extents[1].offset = 4100 }, "overlapping")
        refused({ $0.extents[1].length = 1 << 21 }, "out-of-range")
        refused({ $0.extents[1].offset = UInt64.max }, "out-of-range")
        refused({ $0.extents[0].length = 59 }, "chunks add up")
        refused({ $0.sparse[0].content = 5 }, "does not exist")
        refused({ $0.sparse.append(SparseRecord(content: 0, firstExtent: 2, extentCount: 0)) }, "out of order")
        refused({ $0.extents.append(DataExtent(offset: 1, length: 1)) }, "no sparse content owns")
    }

    func testRoundTripAndLookups() throws {
        let back = try roundTrip(sampleIndex())
        assertSameTables(back, sampleIndex(), "round trip")
        XCTAssertEqual(back.lookup(directory: 0, name: "dir"), 2)
        XCTAssertEqual(back.lookup(directory: 0, name: "a.txt"), 1)
        XCTAssertNil(back.lookup(directory: 0, name: "b"))
        XCTAssertNil(back.lookup(directory: 0, name: "a.tx"))
        XCTAssertEqual(back.resolve(path: "dir/z"), 1)
        XCTAssertEqual(back.parents[2], 0)
        XCTAssertEqual(back.refStarts, [0, 60, 0])
        XCTAssertEqual(back.symlinkTarget(of: 3), Array("a.txt".utf8))
    }

    /// Fuzzing regression: a name starting with a combining mark fused with the
    /// '/' before it into one Character, and the path did not resolve.
    func testPathsResolveByBytes() throws {
        var index = sampleIndex()
        let name = Array("\u{301}z".utf8)
        index.entries[3].nameOffset = UInt64(index.strings.count)
        index.entries[3].nameLength = UInt32(name.count)
        index.strings += name
        let back = try roundTrip(index)
        XCTAssertEqual(back.resolve(path: "dir/\u{301}z"), 1)
        XCTAssertEqual(back.resolve(path: "/dir//\u{301}z/"), 1)
        XCTAssertNil(back.resolve(path: "dir/z"))
    }

    func testDamagedBytesAreRefused() throws {
        let body = IndexCodec.encode(sampleIndex())
        for i in stride(from: 0, to: body.count, by: 3) {
            var bad = body
            bad[i] ^= 0x10
            XCTAssertThrowsError(try bad.withUnsafeBytes { try IndexCodec.decode($0, what: "i") }, "flip at \(i)")
        }
        for n in [0, 10, 63, 64, body.count - 1] {
            XCTAssertThrowsError(try Array(body[0..<n]).withUnsafeBytes { try IndexCodec.decode($0, what: "i") }, "truncated to \(n)")
        }
    }

    /// Each mutation makes the index hostile in one way; all must be refused
    /// with a message, none may crash.
    func testHostileIndexesAreRefused() {
        let mutations: [(String, (inout ArchiveIndex) -> Void)] = [
            ("name with slash", { $0.strings[0] = UInt8(ascii: "/") }),
            ("name '..'", { $0.entries[3].nameLength = 1; $0.strings[$0.strings.count - 5] = 0x2E
                           $0.entries[3].nameOffset = UInt64($0.strings.count - 5); $0.strings.insert(0x2E, at: $0.strings.count - 4); $0.entries[3].nameLength = 2
                           $0.inodes[3].data += 1 }),
            ("empty name", { $0.entries[2].nameLength = 0 }),
            ("NUL in name", { $0.strings[1] = 0 }),
            ("unsorted entries", { $0.entries.swapAt(0, 1) }),
            ("directory cycle", { $0.entries[3].inode = 0 }),
            ("directory linked twice", { $0.entries[3].inode = 2 }),
            ("entry to missing inode", { $0.entries[0].inode = 99 }),
            ("dir entries out of range", { $0.inodes[2].count = 50 }),
            ("content out of range", { $0.inodes[1].data = 7 }),
            ("size disagrees", { $0.inodes[1].size = 99 }),
            ("chunk ref out of range", { $0.chunkRefs[0] = 1000 }),
            ("content refs out of range", { $0.contents[0].refCount = 1000 }),
            ("chunk past frame end", { $0.chunks[1].storedLength = 41; $0.chunks[1].length = 41 }),
            ("chunk in missing frame", { $0.chunks[0].frame = 5 }),
            ("delta base out of range", { $0.chunks[2].base = 77 }),
            ("frame outside volume", { $0.frames[0].offset = 9_990 }),
            ("frame in missing volume", { $0.frames[0].volume = 3 }),
            ("huge frame", { $0.frames[0].decodedSize = UInt32.max; $0.frames[0].storedSize = UInt32.max }),
            ("raw size mismatch", { $0.frames[0].storedSize = 99 }),
            ("wrong link count", { $0.inodes[1].nlink = 1 }),
            ("mode/type mismatch", { $0.inodes[1].mode = 0o040644 }),
            ("symlink target out of range", { $0.inodes[3].count = 500; $0.inodes[3].size = 500 }),
            ("root not a directory", { $0.inodes[0].kind = .regular; $0.inodes[0].mode = 0o100644 }),
            ("no volumes", { $0.volumeSizes = [] }),
            // Fuzzing regressions: offsets near UInt64.max made range checks overflow and trap.
            ("symlink target offset overflows", { $0.inodes[3].data = UInt64.max - 2 }),
            ("directory entries offset overflows", { $0.inodes[2].data = UInt64.max }),
            ("name offset overflows", { $0.entries[2].nameOffset = UInt64.max - 1 }),
            ("frame in volume 2^32-1", { $0.frames[0].volume = UInt32.max }),
            // Two contents sharing a reference would get one refStarts entry between them.
            ("contents share chunk references", { $0.contents[1] = ContentRecord(size: 40, firstRef: 1, refCount: 1) }),
            ("unreachable inode", { $0.inodes.append(Inode(kind: .fifo, mode: 0o010644, uid: 0, gid: 0, mtimeSec: 0, mtimeNsec: 0, nlink: 0, size: 0, data: 0, count: 0)) }),
        ]
        for (label, mutate) in mutations {
            var index = sampleIndex()
            mutate(&index)
            let bytes = IndexCodec.encode(index)
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try IndexCodec.decode($0, what: "i") }, label) { error in
                XCTAssertTrue("\(error)".contains("invalid") || "\(error)".contains("damaged"), "\(label): \(error)")
            }
        }
    }

    /// The compressed index is inflated into exactly the size its header gives,
    /// after checking that size against what zlib can produce from the bytes:
    /// a stream of zeros is refused after 64 bytes, a header claiming a terabyte
    /// before any allocation, and a stream longer or shorter than its claim.
    func testCompressedIndexIsNoAllocationBomb() throws {
        func decode(_ body: [UInt8]) throws -> ArchiveIndex {
            try Zlib.compress(body).withUnsafeBytes { try IndexCodec.decodeCompressed($0, what: "i") }
        }
        XCTAssertThrowsError(try decode([UInt8](repeating: 0, count: 8 << 20))) { XCTAssertTrue("\($0)".contains("bad magic"), "\($0)") }
        // zlib is formats 1 to 5's (format 6's zstd bound: IndexChainTests).
        var body = IndexCodec.encode(sampleIndex(), version: 5)
        for (claim, message) in [(UInt64(1) << 40, "claims"), (UInt64(body.count - 65), "more than"), (UInt64(body.count - 63), "inflates to")] {
            body.replaceSubrange(40..<48, with: withUnsafeBytes(of: claim.littleEndian) { Array($0) })
            XCTAssertThrowsError(try decode(body), "\(claim)") { XCTAssertTrue("\($0)".contains(message), "\(claim): \($0)") }
        }
        XCTAssertNoThrow(try decode(IndexCodec.encode(sampleIndex(), version: 5)))
    }

    func testCountsLargerThanTheDataAreRefusedBeforeAllocating() throws {
        var body = IndexCodec.encode(sampleIndex())
        // Claim 2^32-1 volumes; the header checksum is recomputed so only the count check can refuse it.
        body.replaceSubrange(64..<68, with: [0xFF, 0xFF, 0xFF, 0xFF])
        let checksum = body.withUnsafeBytes { IndexCodec.checksum(of: $0) }
        withUnsafeBytes(of: checksum.littleEndian) { body.replaceSubrange(32..<40, with: $0) }
        XCTAssertThrowsError(try body.withUnsafeBytes { try IndexCodec.decode($0, what: "i") }) { error in
            XCTAssertTrue("\(error)".contains("claims"), "\(error)")
        }
    }

    /// Archives written with formats 1 (tables row by row), 2 (columns),
    /// 3 (chunk prediction) and 4 (xattrs, sparse files) still open, to the
    /// same index as format 5 gives; format 6 is refused with a message
    /// naming the versions read.
    func testOlderFormatsStillRead() throws {
        let encoded = (1...6).map { IndexCodec.encode(sampleIndex(), version: UInt32($0)) }
        XCTAssertEqual(encoded.map { $0[8] }, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(Set(encoded).count, 6)
        XCTAssertEqual(IndexCodec.encode(sampleIndex()), encoded[5], "format 6 is the one written")
        let b = try encoded[5].withUnsafeBytes { try IndexCodec.decode($0, what: "v6") }
        XCTAssertFalse(b.chunks.isEmpty)
        XCTAssertEqual(b.formatVersion, 6)
        XCTAssertEqual(b.segments.map(\.number), [1])
        for (i, bytes) in encoded.enumerated().dropLast() {
            let a = try bytes.withUnsafeBytes { try IndexCodec.decode($0, what: "v\(i + 1)") }
            XCTAssertEqual(a.formatVersion, UInt32(i + 1))
            assertSameTables(a, b, "format \(i + 1)")
        }
        // Formats 5 and 6 inflate to the same bytes after the version and checksum.
        XCTAssertEqual(Array(encoded[4][40...]), Array(encoded[5][40...]))
        var v7 = encoded[5]
        v7[8] = 7
        XCTAssertThrowsError(try v7.withUnsafeBytes { try IndexCodec.decode($0, what: "v7") }) {
            XCTAssertTrue("\($0)".contains("version 7") && "\($0)".contains("1 to 6"), "\($0)")
        }
    }

    /// Format 6 lets a delta's base be an earlier delta, to a depth of
    /// `maxDeltaDepth`; formats before it refuse any delta base that is not
    /// literal. A base that is not an earlier chunk (a loop) is refused.
    func testDeltaChainsAreEarlierAndBounded() throws {
        /// `sampleIndex` with its 80-byte delta content now `n` deltas deep (each on the one before).
        func chained(_ n: Int, base: (Int) -> UInt32 = { UInt32($0 - 1) }) -> ArchiveIndex {
            var index = sampleIndex()
            for k in 1..<n {
                index.chunks.append(ChunkRecord(kind: .delta, frame: 0, offset: 60, storedLength: 40, length: 80, base: base(2 + k)))
            }
            index.chunkRefs[2] = UInt32(index.chunks.count - 1)
            return index
        }
        func decode(_ index: ArchiveIndex, version: UInt32) throws -> ArchiveIndex {
            try IndexCodec.encode(index, version: version).withUnsafeBytes { try IndexCodec.decode($0, what: "chain") }
        }
        let deepest = try decode(chained(ArchiveIndex.maxDeltaDepth), version: 6)
        XCTAssertEqual(deepest.deltaDepth(of: deepest.chunks.count - 1), ArchiveIndex.maxDeltaDepth)
        XCTAssertThrowsError(try decode(chained(ArchiveIndex.maxDeltaDepth + 1), version: 6)) {
            XCTAssertTrue("\($0)".contains("at most \(ArchiveIndex.maxDeltaDepth) deltas"), "\($0)")
        }
        XCTAssertThrowsError(try decode(chained(2), version: 5)) {
            XCTAssertTrue("\($0)".contains("itself a delta"), "\($0)")
        }
        // A base after the chunk, or the chunk itself: the chain would not end.
        for loop in [{ (k: Int) in UInt32(k) }, { (k: Int) in UInt32(k + 1) }] {
            XCTAssertThrowsError(try decode(chained(3, base: loop), version: 6)) {
                XCTAssertTrue("\($0)".contains("not an earlier chunk"), "\($0)")
            }
        }
    }

    /// Format 3's prediction round-trips any chunk table, including offsets
    /// and lengths that wrap around 2^32 and frames that come back.
    func testChunkPredictionRoundTripsAnyTable() {
        var rng = SystemRandomNumberGenerator()
        let chunks = (0..<500).map { i -> ChunkRecord in
            let wild = i % 7 == 0
            return ChunkRecord(kind: i % 3 == 0 ? .delta : .literal, frame: UInt32(i / 40 % 3),
                               offset: wild ? UInt32.random(in: 0...UInt32.max, using: &rng) : UInt32(i * 100),
                               storedLength: wild ? UInt32.max : UInt32(50 + i % 9),
                               length: UInt32.random(in: 0...UInt32.max, using: &rng), base: UInt32(i))
        }
        var encoder = ChunkPrediction(), decoder = ChunkPrediction()
        for chunk in chunks {
            let (offset, stored) = encoder.residuals(of: chunk)
            var record = chunk
            record.offset = offset
            record.storedLength = stored
            decoder.restore(&record)
            XCTAssertEqual(record, chunk)
        }
    }

    /// Chunks packed one after another leave residuals of zero, which is what
    /// makes format 3's chunk table compress: well under format 2's.
    func testFormatThreeShrinksThePackedChunkTable() throws {
        var index = sampleIndex()
        var offset: UInt32 = 0
        for i in 0..<20_000 {
            let length = UInt32(2048 + (i * 7919) % 14_000)
            if offset + length > 16 << 20 { offset = 0 }
            index.chunks.append(.literal(frame: UInt32(i / 2000), offset: offset, length: length))
            offset += length
        }
        let v2 = try Zlib.compress(IndexCodec.encode(index, version: 2)).count
        let v3 = try Zlib.compress(IndexCodec.encode(index, version: 3)).count
        XCTAssertLessThan(v3 * 3, v2 * 2, "format 3: \(v3) bytes, format 2: \(v2)")
    }

    /// Rows -> columns -> rows is the identity on bodies of random records
    /// (every field width, deltas wrapping around), and a body whose counts
    /// claim more than follows is refused in both directions.
    func testColumnTransformRoundTrips() throws {
        var rng = SystemRandomNumberGenerator()
        for version: UInt32 in [2, 3, 4] {
          for _ in 0..<20 {
            var w = ByteWriter()
            for section in IndexColumns.sections(version: version) {
                let count = Int.random(in: 0...40, using: &rng)
                if section.countWidth == 8 { w.u64(UInt64(count)) } else { w.u32(UInt32(count)) }
                w.raw((0..<(count * section.recordSize)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            let rows = w.bytes
            let columns = try rows.withUnsafeBytes { try IndexColumns.columns(fromRows: $0, version: version, what: "t") }
            XCTAssertEqual(columns.count, rows.count)
            XCTAssertEqual(try columns.withUnsafeBytes { try IndexColumns.rows(fromColumns: $0, version: version, what: "t") }, rows)
            for cut in [1, 5, rows.count / 2] where cut < rows.count {
                let short = Array(rows.dropLast(cut))
                XCTAssertThrowsError(try short.withUnsafeBytes { try IndexColumns.rows(fromColumns: $0, version: version, what: "t") })
                XCTAssertThrowsError(try short.withUnsafeBytes { try IndexColumns.columns(fromRows: $0, version: version, what: "t") })
            }
          }
        }
    }

    /// The point of format 2: growing columns become runs of small deltas.
    func testFormatTwoCompressesBetter() throws {
        var index = sampleIndex()
        for i in 0..<20_000 {
            index.chunkRefs.append(UInt32(3 + i))
            index.chunks.append(.literal(frame: UInt32(i / 2000), offset: UInt32((i % 2000) * 8000), length: 8000))
            index.inodes.append(Inode(kind: .regular, mode: 0o100644, uid: 1000, gid: 1000, mtimeSec: 1_700_000_000 + Int64(i),
                                      mtimeNsec: UInt32(i * 7919 % 1_000_000_000), nlink: 1, size: UInt64(i * 37),
                                      data: UInt64(i), count: 0))
        }
        let v1 = try Zlib.compress(IndexCodec.encode(index, version: 1)).count
        let v2 = try Zlib.compress(IndexCodec.encode(index, version: 2)).count
        XCTAssertLessThan(v2 * 2, v1, "format 2: \(v2) bytes, format 1: \(v1)")
    }
}

/// The index's zlib stream with random columns in stored blocks
/// (`Zlib.compress(_:level:stored:)`): an ordinary stream, any inflate
/// gives back the input, and the stored ranges cost what they hold.
final class ZlibStoredRangeTests: XCTestCase {
    private func random(_ n: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    private func inflate(_ stream: [UInt8], size: Int) throws -> [UInt8] {
        try stream.withUnsafeBytes { try Zlib.decompress($0, what: "test stream", size: size) }
    }

    func testStoredRangesRoundTripAnywhere() throws {
        let text = Array(String(repeating: "the same columns again and again ", count: 4000).utf8)
        let noise = random(200_000, seed: 7)
        let input = text + noise + text + random(70_000, seed: 9) + text
        let a = text.count, b = a + noise.count, c = b + text.count, d = c + 70_000
        for stored in [[], [a..<b], [a..<b, c..<d], [0..<a], [d..<input.count], [0..<input.count], [a..<a, b..<b]] {
            let compressed = try Zlib.compress(input, level: 4, stored: stored)
            XCTAssertEqual(try inflate(compressed, size: input.count), input, "stored \(stored)")
        }
        XCTAssertEqual(try inflate(try Zlib.compress([], level: 4, stored: []), size: 0), [])
    }

    /// Deflated in parts on threads of their own, the stream is still one
    /// ordinary zlib stream: both inflaters (libdeflate for whole indexes,
    /// zlib for the header prefix) give the input back, whatever the parts
    /// and wherever the stored ranges fall against the cuts.
    func testPartsDeflatedAtOnceAreOneStream() throws {
        let text = Array(String(repeating: "the same columns again and again ", count: 4000).utf8)
        let input = text + random(200_000, seed: 11) + text + random(70_000, seed: 12) + text
        let a = text.count, b = a + 200_000, c = b + text.count, d = c + 70_000
        for parts in [1, 2, 3, 7] {
            for stored in [[], [a..<b], [a..<b, c..<d], [0..<input.count], [d..<input.count]] {
                let compressed = try Zlib.compress(input, level: 4, stored: stored, parts: parts, partBytes: 1000)
                XCTAssertEqual(try inflate(compressed, size: input.count), input, "\(parts) parts, stored \(stored)")
                let prefix = try compressed.withUnsafeBytes { try Zlib.decompressPrefix($0, what: "test stream", count: 300_000) }
                XCTAssertEqual(prefix, Array(input.prefix(300_000)), "zlib's inflate, \(parts) parts")
            }
        }
        // One part to a thread costs a few bytes of stream, not the ratio.
        let one = try Zlib.compress(input, level: 4, parts: 1)
        let two = try Zlib.compress(input, level: 4, parts: 2, partBytes: 1000)
        XCTAssertLessThan(two.count, one.count + one.count / 100 + 64)
        XCTAssertEqual(try inflate(try Zlib.compress([], level: 4, parts: 4, partBytes: 1), size: 0), [])
    }

    func testStoredRangesAreNotCompressed() throws {
        let text = Array(String(repeating: "abcdefgh", count: 50_000).utf8)
        // Text in a stored range is kept as it is: the stream holds all of it.
        let kept = try Zlib.compress(text, level: 4, stored: [0..<text.count])
        XCTAssertGreaterThanOrEqual(kept.count, text.count)
        XCTAssertLessThan(kept.count, text.count + 5 * (text.count / 65_535 + 2) + 16)
        // Outside them, compressed as before.
        let packed = try Zlib.compress(text, level: 4, stored: [0..<1000])
        XCTAssertLessThan(packed.count, 3000)
        XCTAssertEqual(try inflate(packed, size: text.count), text)
    }

    /// The index as the builder writes it (builder state's random columns
    /// stored) reads back, and the random bytes cost no more than as is.
    func testIndexWithStoredBuilderStateReadsBack() throws {
        var index = sampleIndex()
        index.formatVersion = ArchiveIndex.currentVersion
        let state = Array("GPUARCB2".utf8) + random(100_000, seed: 3)
        let segment = IndexSegment(builderState: state)
        let plain = try IndexCodec.encodeCompressed(index, segment: segment)
        let stored = try IndexCodec.encodeCompressed(index, segment: segment, storedState: [8..<state.count])
        for bytes in [plain, stored] {
            let read = try bytes.withUnsafeBytes { try IndexCodec.decodeCompressedSegment($0, what: "index") }
            XCTAssertEqual(read.decoded.segment.builderState, state)
        }
        // Format 5 put them in zlib stored blocks; format 6's zstd needs no telling.
        let zlib = try IndexCodec.encodeCompressed(index, segment: segment, storedState: [8..<state.count], version: 5)
        XCTAssertEqual(try zlib.withUnsafeBytes { try IndexCodec.decodeCompressedSegment($0, what: "index") }.decoded.segment.builderState, state)
        XCTAssertLessThan(zlib.count, state.count + 1000)
        XCTAssertLessThan(stored.count, state.count + 1000)
    }
}
