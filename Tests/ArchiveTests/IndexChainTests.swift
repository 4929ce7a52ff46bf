import XCTest
@testable import Archive

/// Segment chains (formats 5 and 6): an append's segment holds only the rows
/// it adds and points back to the segment before; reading joins them into
/// the index one build of everything would have, and refuses chains that do
/// not fit together. Format 6 compresses each segment against the one before.
final class IndexChainTests: XCTestCase {
    /// A versioned archive of one version, "v1", holding a.txt (100 bytes, one frame).
    func firstVersion() -> ArchiveIndex {
        var index = ArchiveIndex()
        index.archiveID = [UInt8](repeating: 0x5A, count: 16)
        index.volumeSizes = [1_000]
        index.frames = [FrameRecord(volume: 0, offset: 32, storedSize: 100, decodedSize: 100, codec: .raw, payloadHash: 1, decodedHash: 2)]
        index.chunks = [.literal(frame: 0, offset: 0, length: 100)]
        index.contents = [ContentRecord(size: 100, firstRef: 0, refCount: 1)]
        index.chunkRefs = [0]
        index.strings = Array("v1a.txt".utf8)
        index.inodes = [
            Inode(kind: .directory, mode: 0o040755, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 0, nlink: 3, size: 0, data: 0, count: 1),
            Inode(kind: .directory, mode: 0o040755, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 0, nlink: 2, size: 0, data: 1, count: 1),
            Inode(kind: .regular, mode: 0o100644, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 0, nlink: 1, size: 100, data: 0, count: 0),
        ]
        index.entries = [DirEntry(nameOffset: 0, nameLength: 2, inode: 1), DirEntry(nameOffset: 2, nameLength: 5, inode: 2)]
        index.versions = [VersionRecord(nameOffset: 0, nameLength: 2, added: 1_700_000_000, inode: 1, files: 1, bytes: 100)]
        return index
    }

    /// `first` with "v2" appended: a new volume and frame, a.txt again
    /// (sharing v1's content and string) and b.txt (a delta against v1's
    /// chunk); the root gains an entry, so it is replaced.
    func appended(to first: ArchiveIndex, previous: SegmentLocator) -> ArchiveIndex {
        var index = first
        index.volumeSizes = [previous.offset + previous.size + UInt64(Footer.size), 500]
        index.frames.append(FrameRecord(volume: 1, offset: 32, storedSize: 20, decodedSize: 20, codec: .raw, payloadHash: 3, decodedHash: 4))
        index.chunks.append(ChunkRecord(kind: .delta, frame: 1, offset: 0, storedLength: 20, length: 90, base: 0))
        index.contents.append(ContentRecord(size: 90, firstRef: 1, refCount: 1))
        index.chunkRefs.append(1)
        let v2 = UInt64(index.strings.count)
        index.strings += Array("v2b.txt".utf8)
        let rootEntries = UInt64(index.entries.count)
        index.entries += [DirEntry(nameOffset: 0, nameLength: 2, inode: 1), DirEntry(nameOffset: v2, nameLength: 2, inode: 3),
                          DirEntry(nameOffset: 2, nameLength: 5, inode: 4), DirEntry(nameOffset: v2 + 2, nameLength: 5, inode: 5)]
        index.inodes[0].data = rootEntries
        index.inodes[0].count = 2
        index.inodes[0].nlink = 4
        index.inodes += [
            Inode(kind: .directory, mode: 0o040755, uid: 0, gid: 0, mtimeSec: 2, mtimeNsec: 0, nlink: 2, size: 0, data: rootEntries + 2, count: 2),
            Inode(kind: .regular, mode: 0o100644, uid: 0, gid: 0, mtimeSec: 1, mtimeNsec: 0, nlink: 1, size: 100, data: 0, count: 0),
            Inode(kind: .regular, mode: 0o100600, uid: 0, gid: 0, mtimeSec: 2, mtimeNsec: 0, nlink: 1, size: 90, data: 1, count: 0),
        ]
        index.versions.append(VersionRecord(nameOffset: v2, nameLength: 2, added: 1_700_086_400, inode: 3, files: 2, bytes: 190))
        return index
    }

    /// Both segments compressed in `format`, the second pointing at the
    /// first (in format 6 compressed against its inflated bytes).
    func chain(format: UInt32 = ArchiveIndex.currentVersion, _ tweak: (inout IndexSegment) -> Void = { _ in })
        throws -> (first: [UInt8], second: [UInt8], whole: ArchiveIndex, locator: SegmentLocator) {
        let first = firstVersion()
        let firstSegment = IndexSegment(builderState: [1, 2, 3])
        let firstBytes = try IndexCodec.encodeCompressed(first, segment: firstSegment, version: format)
        let locator = SegmentLocator(volume: 0, offset: first.volumeSizes[0], size: UInt64(firstBytes.count),
                                     hash: XXHash64.hash(firstBytes))
        let whole = appended(to: first, previous: locator)
        var segment = IndexSegment(number: 2, previous: locator, prior: TableCounts(of: first), replacedInodes: [0],
                                   builderState: [9])
        tweak(&segment)
        let prefix = format >= 6 ? IndexCodec.encode(first, version: format, segment: firstSegment) : []
        return (firstBytes, try IndexCodec.encodeCompressed(whole, segment: segment, version: format, prefix: prefix), whole, locator)
    }

    func read(_ newest: [UInt8], fetch: @escaping (SegmentLocator) throws -> [UInt8]) throws -> ArchiveIndex {
        try newest.withUnsafeBytes { try IndexChain.read(newest: $0, what: "test", fetch: fetch) }
    }

    func testTwoSegmentsReadAsOneIndex() throws {
        for format: UInt32 in [5, 6] {
            let (first, second, whole, locator) = try chain(format: format)
            var asked: [SegmentLocator] = []
            let index = try read(second) { asked.append($0); return first }
            XCTAssertEqual(asked, [locator])
            XCTAssertEqual(index.formatVersion, format)
            XCTAssertEqual(index.inodes, whole.inodes)
            XCTAssertEqual(index.entries, whole.entries)
            XCTAssertEqual(index.chunks, whole.chunks)
            XCTAssertEqual(index.frames, whole.frames)
            XCTAssertEqual(index.contents, whole.contents)
            XCTAssertEqual(index.chunkRefs, whole.chunkRefs)
            XCTAssertEqual(index.strings, whole.strings)
            XCTAssertEqual(index.versions, whole.versions)
            XCTAssertEqual(index.volumeSizes, whole.volumeSizes)
            XCTAssertEqual(index.segments.map(\.number), [1, 2])
            XCTAssertEqual(index.segments.map(\.builderState), [[1, 2, 3], [9]])
            XCTAssertEqual(index.resolve(path: "v2/b.txt"), 5)
            XCTAssertEqual(index.resolve(path: "v1/a.txt"), 2)
            // The second segment holds only what it adds: smaller than the whole index written again.
            XCTAssertLessThan(second.count, try IndexCodec.encodeCompressed(whole, version: format).count)
            // What an append compresses its segment against: the newest segment inflated.
            XCTAssertEqual(try IndexChain.inflatedNewest([first, second], what: "chain"),
                           IndexCodec.encode(whole, version: format, segment: index.segments[1]))
        }
    }

    func testDamagedOrMisplacedSegmentsAreRefused() throws {
        for format: UInt32 in [5, 6] {
            let (first, second, _, _) = try chain(format: format)
            var flipped = first
            flipped[flipped.count / 2] ^= 0x10
            XCTAssertThrowsError(try read(second) { _ in flipped }) {
                XCTAssertTrue("\($0)".contains("index segment") && "\($0)".contains("checksum"), "\($0)")
            }
            // A segment that points to itself is not the segment before it.
            XCTAssertThrowsError(try read(second) { _ in second }) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
            // Alone, the second segment is not a whole index.
            XCTAssertThrowsError(try second.withUnsafeBytes { try IndexCodec.decodeCompressed($0, what: "alone") }) {
                XCTAssertTrue("\($0)".contains("not a whole index"), "\($0)")
            }
        }
    }

    /// Format 6's envelope: what the reader follows before it can inflate
    /// anything, so every way it can lie is caught.
    func testFormat6EnvelopesThatLieAreRefused() throws {
        let (first, second, _, locator) = try chain(format: 6)
        // The envelope names a segment before it that the record inside does not.
        var other = locator
        other.offset += 1
        var relocated = second
        relocated.replaceSubrange(0..<SegmentCompression.envelopeSize, with: SegmentCompression.envelope(previous: other))
        XCTAssertThrowsError(try read(relocated) { _ in first }) {
            XCTAssertTrue("\($0)".contains("envelope and its segment record name different segments"), "\($0)")
        }
        // A damaged envelope is reported where it lies, not followed.
        var flipped = second
        flipped[20] ^= 1
        XCTAssertThrowsError(try read(flipped) { _ in XCTFail("followed a damaged envelope"); return first }) {
            XCTAssertTrue("\($0)".contains("test is damaged: its segment envelope fails its check"), "\($0)")
        }
        // Inflated against another segment than the one it was compressed
        // against (a first segment of the same size and checksum cannot be
        // had, so the prefix is swapped underneath): never silently another index.
        let wrongPrefix = IndexCodec.encode(firstVersion(), version: 6, segment: IndexSegment(builderState: [7, 7, 7]))
        XCTAssertThrowsError(try second.withUnsafeBytes {
            try IndexCodec.decodeCompressedSegment($0, what: "swapped", prefix: wrongPrefix)
        }) { XCTAssertTrue("\($0)".contains("damaged"), "\($0)") }
        // A format-6 segment after a zlib one: a chain has one format.
        let zlibFirst = try IndexCodec.encodeCompressed(firstVersion(), segment: IndexSegment(builderState: [1, 2, 3]), version: 5)
        let zlibLocator = SegmentLocator(volume: 0, offset: 1_000, size: UInt64(zlibFirst.count), hash: XXHash64.hash(zlibFirst))
        var mixed = second
        mixed.replaceSubrange(0..<SegmentCompression.envelopeSize, with: SegmentCompression.envelope(previous: zlibLocator))
        XCTAssertThrowsError(try read(mixed) { _ in zlibFirst }) { XCTAssertTrue("\($0)".contains("not a format 6 segment"), "\($0)") }
        // A frame that claims more inflated bytes than it and its prefix could hold.
        var body = IndexCodec.encode(firstVersion(), version: 6)
        body += [UInt8](repeating: 0, count: 4 << 20)   // zeros compress ~1000x and more
        let huge = SegmentCompression.compress(body, previous: nil, prefix: [])
        XCTAssertThrowsError(try huge.withUnsafeBytes { try IndexCodec.decodeCompressed($0, what: "huge") }) {
            XCTAssertTrue("\($0)".contains("inflated bytes"), "\($0)")
        }
        // A zlib stream that inflates to a format-6 index: format 6 is never zlib.
        let zlib6 = try Zlib.compress(IndexCodec.encode(firstVersion(), version: 6))
        XCTAssertThrowsError(try zlib6.withUnsafeBytes { try IndexCodec.decodeCompressed($0, what: "zlib6") }) {
            XCTAssertTrue("\($0)".contains("format 6 never is"), "\($0)")
        }
    }

    func testSegmentsThatDoNotFitTogetherAreRefused() throws {
        let cases: [(String, (inout IndexSegment) -> Void)] = [
            ("does not start where", { $0.prior.chunks -= 1 }),
            ("does not start where", { $0.prior.versions = 0 }),
            ("replaces inode 3, which is not before it", { $0.replacedInodes = [0, 3] }),
        ]
        for (message, tweak) in cases {
            for format: UInt32 in [5, 6] {
                let (first, second, _, _) = try chain(format: format, tweak)
                XCTAssertThrowsError(try read(second) { _ in first }, message) {
                    XCTAssertTrue("\($0)".contains(message), "format \(format), \(message): \($0)")
                }
            }
        }
        // Volumes: the one that was last must end right after the first segment and its footer.
        let first = firstVersion()
        let firstBytes = try IndexCodec.encodeCompressed(first)
        let locator = SegmentLocator(volume: 0, offset: 1_000, size: UInt64(firstBytes.count), hash: XXHash64.hash(firstBytes))
        var whole = appended(to: first, previous: locator)
        whole.volumeSizes[0] += 1
        let second = try IndexCodec.encodeCompressed(whole, segment: IndexSegment(number: 2, previous: locator, prior: TableCounts(of: first),
                                                                                 replacedInodes: [0]),
                                                     prefix: IndexCodec.encode(first))
        XCTAssertThrowsError(try read(second) { _ in firstBytes }) {
            XCTAssertTrue("\($0)".contains("does not continue the volumes"), "\($0)")
        }
    }

    /// A version must be a directory of its own at the top of the tree.
    func testVersionsAreValidated() throws {
        var index = firstVersion()
        index.versions[0].inode = 2
        XCTAssertThrowsError(try IndexCodec.encode(index).withUnsafeBytes { try IndexCodec.decode($0, what: "v") }) {
            XCTAssertTrue("\($0)".contains("version 0"), "\($0)")
        }
        index = firstVersion()
        index.versions.append(index.versions[0])
        XCTAssertThrowsError(try IndexCodec.encode(index).withUnsafeBytes { try IndexCodec.decode($0, what: "v") })
    }
}
