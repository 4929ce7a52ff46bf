import CDeflate
import CZlib
import Foundation

/// zlib streams (RFC 1950) for the index: small, universal, and their
/// adler32 is a second line of defence behind the index checksum. Written
/// with zlib (whose level can change inside a stream), read with libdeflate
/// (a whole stream into an exact buffer, much faster than zlib's inflate).
enum Zlib {
    /// One zlib stream of `input` at `level`, except `stored`: ascending,
    /// disjoint ranges of random bytes (digests, hashes), which go in stored
    /// blocks (level 0). Deflate cannot shrink such bytes, only spend time on
    /// them, and inflating a stored block is a copy. The stream is an
    /// ordinary one: any inflate reads it.
    ///
    /// An input of at least `partBytes` a part is deflated in up to `parts`
    /// pieces at once, one thread each, as pigz does: each piece a raw
    /// deflate that sees the 32 KiB before it as its dictionary and ends
    /// on a byte boundary (an empty stored block, Z_SYNC_FLUSH), so the
    /// pieces back to back are one deflate stream, behind one zlib header
    /// and before the adler32 of the whole input. The index is deflated
    /// when every frame is written and the cores are free: on the index of
    /// ten Django releases (8 MB) 78 against 45 ms for 0.1% more bytes.
    static func compress(_ input: [UInt8], level: Int32 = 6, stored: [Range<Int>] = [], parts: Int = 2,
                         partBytes: Int = Zlib.partBytes) throws -> [UInt8] {
        // Every piece a level of its own; a stored block adds 5 bytes per 64 KiB.
        var pieces: [(Range<Int>, Int32)] = []
        var at = 0
        for range in stored where !range.isEmpty {
            precondition(range.lowerBound >= at && range.upperBound <= input.count, "stored ranges ascending, inside the input")
            if range.lowerBound > at { pieces.append((at..<range.lowerBound, level)) }
            pieces.append((range, 0))
            at = range.upperBound
        }
        if at < input.count || pieces.isEmpty { pieces.append((at..<input.count, level)) }

        let count = max(1, min(parts, input.count / partBytes))
        let cuts = (0...count).map { input.count * $0 / count }
        var bodies = [[UInt8]?](repeating: nil, count: count)
        var failure: Error?
        let lock = NSLock()
        input.withUnsafeBufferPointer { whole in
            DispatchQueue.concurrentPerform(iterations: count) { k in
                let part = cuts[k]..<cuts[k + 1]
                // This part's pieces, cut at its ends.
                let own = pieces.map { ($0.0.clamped(to: part), $0.1) }.filter { !$0.0.isEmpty }
                do {
                    let body = try deflateRaw(whole, own.isEmpty ? [(part, level)] : own, level: level,
                                              dictionary: max(0, part.lowerBound - (1 << 15))..<part.lowerBound, last: k == count - 1)
                    lock.lock(); bodies[k] = body; lock.unlock()
                } catch {
                    lock.lock(); failure = failure ?? error; lock.unlock()
                }
            }
        }
        if let failure { throw failure }
        // The zlib header (deflate, 32 KiB window, the level's class, no
        // dictionary; its check bits make it a multiple of 31), the
        // pieces, the adler32 of the input, big-endian.
        let cmf: UInt8 = 0x78
        let flevel: UInt8 = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3
        var flg = flevel << 6
        flg += UInt8(31 - (Int(cmf) * 256 + Int(flg)) % 31) % 31
        var output: [UInt8] = [cmf, flg]
        output.reserveCapacity(2 + bodies.reduce(0) { $0 + $1!.count } + 4)
        for body in bodies { output += body! }
        let check = input.withUnsafeBufferPointer { UInt32(adler32(1, $0.baseAddress, uInt($0.count))) }
        output += [UInt8(check >> 24), UInt8(truncatingIfNeeded: check >> 16), UInt8(truncatingIfNeeded: check >> 8), UInt8(truncatingIfNeeded: check)]
        return output
    }

    /// Inputs shorter than this per part are not split: each part costs a
    /// thread and a few bytes of stream.
    static let partBytes = 1 << 20

    /// A raw deflate of `pieces` of `input` (consecutive ranges, each at its
    /// level), primed with input[dictionary]; it ends the deflate stream
    /// when `last`, else on a byte boundary for the next piece to follow.
    private static func deflateRaw(_ input: UnsafeBufferPointer<UInt8>, _ pieces: [(Range<Int>, Int32)], level: Int32,
                                   dictionary: Range<Int>, last: Bool) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError(.io, "zlib could not start compressing the index")
        }
        defer { deflateEnd(&stream) }
        if !dictionary.isEmpty {
            guard deflateSetDictionary(&stream, input.baseAddress! + dictionary.lowerBound, uInt(dictionary.count)) == Z_OK else {
                throw ArchiveError(.io, "zlib could not start compressing the index")
            }
        }
        let size = pieces.reduce(0) { $0 + $1.0.count }
        let bound = Int(deflateBound(&stream, uLong(size))) + 16 * pieces.count + 5 * ((size >> 16) + pieces.count) + 16
        var output = [UInt8](repeating: 0, count: bound)
        var status = Z_OK
        output.withUnsafeMutableBufferPointer { out in
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(out.count)
            var current = level
            for (k, (range, pieceLevel)) in pieces.enumerated() {
                if pieceLevel != current {
                    // Ends the block so far at the old level; the next starts at this one.
                    status = deflateParams(&stream, pieceLevel, Z_DEFAULT_STRATEGY)
                    guard status == Z_OK else { return }
                    current = pieceLevel
                }
                stream.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0 + range.lowerBound) }
                stream.avail_in = uInt(range.count)
                let end = k == pieces.count - 1
                status = deflate(&stream, end ? (last ? Z_FINISH : Z_SYNC_FLUSH) : Z_NO_FLUSH)
                guard end && last ? status == Z_STREAM_END : status == Z_OK && stream.avail_in == 0 else { return }
            }
        }
        guard last ? status == Z_STREAM_END : status == Z_OK else {
            throw ArchiveError(.io, "zlib could not compress the index (status \(status))")
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// zlib's deflate cannot expand more than about 1032:1; a stream claiming
    /// more output per input byte than this cannot be genuine.
    static let maxRatio = 1032

    /// Inflates a whole zlib stream that must produce exactly `size` bytes: the
    /// output is allocated once, at that size (plus one byte that catches a
    /// longer stream), so a hostile stream can make the reader allocate no more
    /// than the caller agreed to. A longer or shorter stream, a truncated one, or
    /// stray bytes after it are errors. libdeflate does it (the adler32 checked
    /// as zlib checks it): a whole buffer at once, four times as fast as zlib's
    /// inflate on a real index (1.4 against 5.7 ms for 3.7 MB), which every
    /// open of an archive pays.
    static func decompress(_ input: UnsafeRawBufferPointer, what: String, size: Int) throws -> [UInt8] {
        guard let decompressor = libdeflate_alloc_decompressor() else {
            throw ArchiveError(.io, "cannot allocate a decompressor for \(what)")
        }
        defer { libdeflate_free_decompressor(decompressor) }
        // Not zeroed first: what is returned is what was inflated.
        var status = LIBDEFLATE_SUCCESS
        var (read, produced) = (0, 0)
        let output = [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, initialized in
            status = libdeflate_zlib_decompress_ex(decompressor, input.baseAddress, input.count,
                                                   buffer.baseAddress, size + 1, &read, &produced)
            initialized = status == LIBDEFLATE_SUCCESS ? produced : 0
        }
        switch status {
        case LIBDEFLATE_SUCCESS:
            guard produced == size else {
                throw ArchiveError(.format, "\(what) is damaged: it inflates to \(produced > size ? "more than \(size)" : "\(produced)") bytes, not the \(size) its header gives")
            }
        case LIBDEFLATE_INSUFFICIENT_SPACE:
            throw ArchiveError(.format, "\(what) is damaged: it inflates to more than \(size) bytes, not the \(size) its header gives")
        case LIBDEFLATE_SHORT_OUTPUT:
            throw ArchiveError(.format, "\(what) is damaged: it inflates to fewer bytes than the \(size) its header gives")
        default:
            throw ArchiveError(.format, "\(what) is damaged: zlib stream does not inflate (a bad block, a truncated stream or a wrong adler32)")
        }
        guard read == input.count else {
            throw ArchiveError(.format, "\(what) is damaged: \(input.count - read) stray bytes after the zlib stream")
        }
        return output
    }

    /// The first `count` bytes a stream inflates to (fewer if it ends
    /// sooner): the index header, read before the whole stream is trusted
    /// with an allocation. zlib, which can stop after any number of bytes
    /// (libdeflate inflates whole streams only).
    static func decompressPrefix(_ input: UnsafeRawBufferPointer, what: String, count: Int) throws -> [UInt8] {
        precondition(count <= Int(UInt32.max), "a prefix, not a whole stream")
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError(.io, "zlib could not start inflating \(what)")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: count)
        let status = output.withUnsafeMutableBytes { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
            stream.avail_out = uInt(count)
            return CZlib.inflate(&stream, Z_NO_FLUSH)
        }
        guard status == Z_OK || status == Z_STREAM_END else {
            throw ArchiveError(.format, "\(what) is damaged: zlib stream does not inflate (status \(status)\(stream.msg.map { ", " + String(cString: $0) } ?? ""))")
        }
        return Array(output[0..<(count - Int(stream.avail_out))])
    }
}
