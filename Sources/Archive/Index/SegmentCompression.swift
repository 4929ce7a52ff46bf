import CZstd

/// How an index segment's inflated bytes are stored (docs/FORMAT.md,
/// "Index"). Formats 1 to 5: one zlib stream (`IndexCodec`). Format 6: a
/// 40-byte envelope, then one zstd frame compressed with the previous
/// segment's inflated bytes as reference prefix (`zstd --patch-from`'s way;
/// segment 1 has none). An append's segment repeats most of the one before
/// it (the same names, modes, owners and tree shape for a new version of
/// the same tree), so against it it shrinks 3-4x where zlib, alone, found
/// nothing to share: ten Django patch releases appended one at a time, 90 KB
/// a segment in format 5 against 24 KB.
///
/// The envelope names the previous segment in clear because a reader needs
/// it before it can inflate anything: it walks the chain from the newest
/// segment back to the first by these locators, then inflates them oldest
/// first, each against the one before. The segment record inside repeats the
/// locator, and the reader requires the two to agree.
public enum SegmentCompression {
    public static let magic: [UInt8] = Array("GPUIXZS1".utf8)
    public static let envelopeSize = 40
    /// zstd level of a segment. On ten Django patch releases' one-shot index
    /// (7.8 MB inflated): level 3 600 KB in 20 ms, 6 576 KB in 40 ms, 9 564 KB
    /// in 60 ms; zlib level 4 gave 686 KB. The index is written at the end
    /// of a build, with nothing left to overlap it, so the cheap level.
    static let level = 3

    /// Whether `bytes` start with a format-6 envelope. A zlib stream never
    /// does: its first byte names compression method 8, where `G` (0x47)
    /// names 7.
    public static func isEnveloped(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= magic.count && bytes.prefix(magic.count).elementsEqual(magic)
    }

    /// The envelope of a segment whose predecessor lies at `previous` (nil:
    /// segment 1, all zeros): magic, locator, and a check over both, so a
    /// damaged envelope is reported where it lies rather than followed.
    static func envelope(previous: SegmentLocator?) -> [UInt8] {
        var w = ByteWriter()
        w.raw(magic)
        w.u32(previous?.volume ?? 0)
        w.u64(previous?.offset ?? 0)
        w.u64(previous?.size ?? 0)
        w.u64(previous?.hash ?? 0)
        w.u32(UInt32(truncatingIfNeeded: XXHash64.hash(w.bytes)))
        return w.bytes
    }

    /// The previous segment's locator in an envelope; nil for segment 1
    /// (a locator of all zeros: no segment is empty).
    public static func previous(of bytes: UnsafeRawBufferPointer, what: String) throws -> SegmentLocator? {
        guard isEnveloped(bytes), bytes.count > envelopeSize else {
            throw ArchiveError(.format, "\(what) is not a format 6 index segment (bad envelope)")
        }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[magic.count..<envelopeSize]), what: what)
        let locator = SegmentLocator(volume: try r.u32(), offset: try r.u64(), size: try r.u64(), hash: try r.u64())
        let check = try r.u32()
        guard check == UInt32(truncatingIfNeeded: XXHash64.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<(envelopeSize - 4)]))) else {
            throw ArchiveError(.format, "\(what) is damaged: its segment envelope fails its check")
        }
        if locator.size == 0 {
            guard locator == SegmentLocator(volume: 0, offset: 0, size: 0, hash: 0) else {
                throw ArchiveError(.format, "\(what) is damaged: its envelope names an empty previous segment")
            }
            return nil
        }
        return locator
    }

    /// Envelope and zstd frame of `inflated`, against `prefix` (the previous
    /// segment's inflated bytes; empty for segment 1).
    public static func compress(_ inflated: [UInt8], previous: SegmentLocator?, prefix: [UInt8]) -> [UInt8] {
        precondition((previous == nil) == prefix.isEmpty, "a segment is compressed against the one before it, if any")
        guard let c = ZSTD_createCCtx() else { fatalError("out of memory creating a zstd encoder") }
        defer { ZSTD_freeCCtx(c) }
        var out = envelope(previous: previous)
        out += [UInt8](repeating: 0, count: ZSTD_compressBound(inflated.count))
        // Matches reach back over the whole previous segment.
        let n = prefix.withUnsafeBytes { p -> Int in
            precondition(ZstdFrameSettings.apply(to: c, level: level, inputCount: inflated.count, prefix: p, magicless: false),
                         "zstd refused the settings of an index segment")
            return inflated.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    ZSTD_compress2(c, dst.baseAddress! + envelopeSize, dst.count - envelopeSize, src.baseAddress, src.count)
                }
            }
        }
        precondition(ZSTD_isError(n) == 0, "zstd could not compress an index segment: \(ZstdDecoder.errorName(n))")
        out.removeLast(out.count - envelopeSize - n)
        return out
    }

    /// Inflates an enveloped segment against `prefix` (the previous
    /// segment's inflated bytes, empty for segment 1). The frame must state
    /// its size, which must be one these bytes and that prefix could hold
    /// (so a small hostile segment cannot make the reader allocate
    /// gigabytes), and decode to exactly that.
    static func inflate(_ bytes: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer, what: String) throws -> [UInt8] {
        let frame = UnsafeRawBufferPointer(rebasing: bytes[envelopeSize...])
        var header = ZSTD_frameHeader()
        let r = ZSTD_getFrameHeader_advanced(&header, frame.baseAddress, frame.count, ZSTD_f_zstd1)
        guard ZSTD_isError(r) == 0, r == 0, header.frameType == ZSTD_frame,
              header.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN else {
            throw ArchiveError(.format, "\(what) is damaged: its zstd frame has no valid header")
        }
        // Well past what zstd makes of an index: 1032x the compressed bytes
        // (zlib's most) plus twice the prefix (a segment that repeats the
        // one before it compresses to almost nothing against it).
        let limit = min(UInt64(Int32.max), 1032 * UInt64(frame.count) + 2 * UInt64(prefix.count) + (64 << 10))
        guard header.frameContentSize >= UInt64(IndexCodec.headerSize), header.frameContentSize <= limit else {
            throw ArchiveError(.format, "\(what) is damaged: it claims \(header.frameContentSize) inflated bytes, not what \(frame.count) compressed bytes hold")
        }
        var inflated = [UInt8](repeating: 0, count: Int(header.frameContentSize))
        do {
            let partial = ZstdPartial(decoder: ZstdDecoder.shared, magicless: false, prefix: prefix)
            try inflated.withUnsafeMutableBytes { out in
                try partial.advance(frame, into: out, until: out.count)
                guard partial.finished else { throw CodecError("zstd frame ends before its size") }
            }
        } catch let error as CodecError {
            throw ArchiveError(.format, "\(what) is damaged: \(error.description)")
        }
        return inflated
    }
}
