/// A format-5 or -6 index is a chain of segments: a build writes the first, each
/// append one more at the end of its new last volume, pointing back to the
/// one before. Reading follows the pointers from the newest to the first,
/// then joins the segments oldest first into one index and validates that
/// whole, exactly as a single index is validated. Older formats are a
/// chain of one.
package enum IndexChain {
    /// Most segments a chain may have: far more appends than anyone makes,
    /// few enough that a hostile chain cannot keep a reader busy.
    static let maxSegments = 1 << 16

    /// The newest segment `newest` (compressed, read from `what`) and the
    /// ones it points back to, fetched by `fetch` (which reads a segment's
    /// compressed bytes where its locator says), joined and validated.
    package static func read(newest: UnsafeRawBufferPointer, what: String,
                     fetch: (SegmentLocator) throws -> [UInt8]) throws -> ArchiveIndex {
        if SegmentCompression.isEnveloped(newest) {
            return try merge(readEnveloped(newest: Array(newest), what: what, fetch: fetch), what: what)
        }
        var chain = [try IndexCodec.decodeCompressedSegment(newest, what: what).decoded]
        while let previous = chain.last!.segment.previous {
            let number = chain.last!.segment.number - 1
            guard chain.count < maxSegments else {
                throw ArchiveError(.format, "\(what) is invalid: its index has more than \(maxSegments) segments")
            }
            let place = "index segment \(number) (volume \(UInt64(previous.volume) + 1), offset \(previous.offset))"
            let bytes = try fetchChecked(previous, place: place, fetch: fetch)
            let part = try bytes.withUnsafeBytes { try IndexCodec.decodeCompressedSegment($0, what: place).decoded }
            guard part.segment.number == number else {
                throw ArchiveError(.format, "\(place) is invalid: it says it is segment \(part.segment.number)")
            }
            chain.append(part)
        }
        return try merge(chain.reversed(), what: what)
    }

    /// Format 6: the envelopes name each segment's predecessor in clear, so
    /// the chain is fetched newest to oldest first, then inflated oldest
    /// first, each segment against the inflated bytes of the one before.
    private static func readEnveloped(newest: [UInt8], what: String,
                                      fetch: (SegmentLocator) throws -> [UInt8]) throws -> [DecodedSegment] {
        var stored: [(bytes: [UInt8], place: String)] = [(newest, what)]
        while let previous = try stored.last!.bytes.withUnsafeBytes({ try SegmentCompression.previous(of: $0, what: stored.last!.place) }) {
            guard stored.count < maxSegments else {
                throw ArchiveError(.format, "\(what) is invalid: its index has more than \(maxSegments) segments")
            }
            let place = "the index segment in volume \(UInt64(previous.volume) + 1) at offset \(previous.offset)"
            let bytes = try fetchChecked(previous, place: place, fetch: fetch)
            guard bytes.withUnsafeBytes({ SegmentCompression.isEnveloped($0) }) else {
                throw ArchiveError(.format, "\(place) is invalid: it is not a format 6 segment, as the segment after it is")
            }
            stored.append((bytes, place))
        }
        var segments: [DecodedSegment] = []
        var prefix: [UInt8] = []
        for (number, segment) in zip(1..., stored.reversed()) {
            let (part, inflated) = try segment.bytes.withUnsafeBytes {
                try IndexCodec.decodeCompressedSegment($0, what: segment.place, prefix: prefix)
            }
            guard part.segment.number == number else {
                throw ArchiveError(.format, "\(segment.place) is invalid: it says it is segment \(part.segment.number), and is number \(number) of its chain")
            }
            segments.append(part)
            prefix = inflated
        }
        return segments
    }

    /// An older segment's bytes, checked against its locator.
    private static func fetchChecked(_ locator: SegmentLocator, place: String,
                                     fetch: (SegmentLocator) throws -> [UInt8]) throws -> [UInt8] {
        guard locator.size <= UInt64(Int32.max) else {
            throw ArchiveError(.format, "\(place) is invalid: its locator claims \(locator.size) bytes")
        }
        let bytes = try fetch(locator)
        guard bytes.count == Int(locator.size), XXHash64.hash(bytes) == locator.hash else {
            throw ArchiveError(.format, "\(place) is damaged: its bytes do not match the checksum the segment after it holds")
        }
        return bytes
    }

    /// The inflated bytes of the newest of `segments` (compressed, oldest
    /// first, as `ArchiveReader.segmentBytes` gives them): what an append's
    /// format-6 segment is compressed against.
    package static func inflatedNewest(_ segments: [[UInt8]], what: String) throws -> [UInt8] {
        var prefix: [UInt8] = []
        for bytes in segments {
            prefix = try bytes.withUnsafeBytes { try IndexCodec.decodeCompressedSegment($0, what: what, prefix: prefix).inflated }
        }
        return prefix
    }

    /// Joins segments given oldest first (the first must be segment 1) and
    /// validates the result.
    static func merge<S: Sequence>(_ segments: S, what: String) throws -> ArchiveIndex where S.Element == DecodedSegment {
        var merged: ArchiveIndex?
        var infos: [IndexSegment] = []
        for part in segments {
            // Taken out while rows are added: a second reference would make
            // every join copy all the tables joined so far.
            guard var index = merged.take() else {
                guard part.segment.number == 1 else {
                    throw ArchiveError(.format, "\(what) is segment \(part.segment.number) of an index, not a whole index")
                }
                var first = part.tables
                for (id, inode) in part.replacements {
                    guard id < first.inodes.count else { throw ArchiveError(.format, "\(what) is invalid: it replaces inode \(id), which does not exist") }
                    first.inodes[id] = inode
                }
                merged = first
                infos.append(part.segment)
                continue
            }
            try join(part, onto: &index, what: what)
            merged = index
            infos.append(part.segment)
        }
        guard var index = merged else { throw ArchiveError(.format, "\(what) holds no index") }
        index.segments = infos
        try IndexValidator(what: what).validate(&index)
        return index
    }

    /// Appends one segment's rows to the index of the segments before it.
    private static func join(_ part: DecodedSegment, onto index: inout ArchiveIndex, what: String) throws {
        let s = part.segment
        let t = part.tables
        func fail(_ message: String) -> ArchiveError {
            ArchiveError(.format, "\(what) is invalid: segment \(s.number) \(message)")
        }
        guard t.archiveID == index.archiveID else { throw fail("belongs to another archive") }
        guard s.prior == TableCounts(of: index) else { throw fail("does not start where the segment before it ends") }
        guard t.formatVersion == index.formatVersion else { throw fail("has another format than the segment before it") }
        // The volumes before stay as they were; the one that was last now
        // ends after the previous segment and its footer.
        let before = index.volumeSizes
        guard let previous = s.previous, Int(previous.volume) == before.count - 1, previous.offset == before.last,
              t.volumeSizes.count >= before.count, Array(t.volumeSizes.prefix(before.count - 1)) == Array(before.dropLast()),
              t.volumeSizes[before.count - 1] == previous.offset &+ previous.size &+ UInt64(Footer.size) else {
            throw fail("does not continue the volumes of the segment before it")
        }
        index.volumeSizes = t.volumeSizes
        index.parityCount = t.parityCount
        index.frames += t.frames
        index.chunks += t.chunks
        index.contents += t.contents
        index.chunkRefs += t.chunkRefs
        index.inodes += t.inodes
        index.entries += t.entries
        index.strings += t.strings
        index.xattrSets += t.xattrSets
        index.xattrPairs += t.xattrPairs
        index.sparse += t.sparse
        index.extents += t.extents
        index.versions += t.versions
        for (id, inode) in part.replacements {
            guard id < s.prior.inodes else { throw fail("replaces inode \(id), which is not before it") }
            index.inodes[id] = inode
        }
    }
}
