import CDeflate
import CZlib

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
    static func compress(_ input: [UInt8], level: Int32 = 6, stored: [Range<Int>] = []) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit_(&stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError(.io, "zlib could not start compressing the index")
        }
        defer { deflateEnd(&stream) }
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
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 16 * pieces.count + 5 * ((input.count >> 16) + pieces.count)
        var output = [UInt8](repeating: 0, count: bound)
        var status = Z_OK
        output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { inp in
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
                    stream.next_in = inp.baseAddress.map { UnsafeMutablePointer(mutating: $0 + range.lowerBound) }
                    stream.avail_in = uInt(range.count)
                    let last = k == pieces.count - 1
                    status = deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH)
                    guard last ? status == Z_STREAM_END : status == Z_OK && stream.avail_in == 0 else { return }
                }
            }
        }
        guard status == Z_STREAM_END else { throw ArchiveError(.io, "zlib could not compress the index (status \(status))") }
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
