import CZlib

/// zlib for the index: small, universal, and its own adler32 is a second line
/// of defence behind the index checksum.
enum Zlib {
    /// Level 6: on real indexes level 9 took 6x as long for a 1% smaller result.
    static func compress(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var bound = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(bound))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { inp in
                compress2(out.baseAddress, &bound, inp.baseAddress, uLong(inp.count), level)
            }
        }
        guard status == Z_OK else { throw ArchiveError(.io, "zlib could not compress the index (status \(status))") }
        output.removeSubrange(Int(bound)...)
        return output
    }

    /// zlib's deflate cannot expand more than about 1032:1; a stream claiming
    /// more output per input byte than this cannot be genuine.
    static let maxRatio = 1032

    /// Inflates a whole zlib stream that must produce exactly `size` bytes: the
    /// output is allocated once, at that size (plus one byte that catches a
    /// longer stream), so a hostile stream can make the reader allocate no more
    /// than the caller agreed to. A longer or shorter stream, a truncated one, or
    /// stray bytes after it are errors.
    static func decompress(_ input: UnsafeRawBufferPointer, what: String, size: Int) throws -> [UInt8] {
        // Not zeroed first: inflate writes every byte that is returned.
        var result: (produced: Int, ended: Bool, leftover: Int) = (0, false, 0)
        var failure: Error?
        let output = [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, initialized in
            do {
                result = try inflate(input, into: UnsafeMutableRawBufferPointer(buffer), what: what)
            } catch {
                failure = error
            }
            initialized = failure == nil ? min(result.produced, size + 1) : 0
        }
        if let failure { throw failure }
        let (produced, ended, leftover) = result
        guard ended, produced == size else {
            throw ArchiveError(.format, "\(what) is damaged: it inflates to \(produced > size ? "more than \(size)" : "\(produced)") bytes, not the \(size) its header gives")
        }
        guard leftover == 0 else {
            throw ArchiveError(.format, "\(what) is damaged: \(leftover) stray bytes after the zlib stream")
        }
        precondition(output.count == size)
        return output
    }

    /// The first `count` bytes a stream inflates to (fewer if it ends sooner).
    static func decompressPrefix(_ input: UnsafeRawBufferPointer, what: String, count: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        let (produced, _, _) = try output.withUnsafeMutableBytes { try inflate(input, into: $0, what: what) }
        return Array(output[0..<produced])
    }

    /// Inflates into `out` until it is full or the stream ends; returns the bytes
    /// produced, whether the stream ended, and how many input bytes are left.
    private static func inflate(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer,
                                what: String) throws -> (Int, Bool, Int) {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError(.io, "zlib could not start inflating \(what)")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        let base = out.bindMemory(to: Bytef.self).baseAddress
        var produced = 0
        var status = Z_OK
        while status == Z_OK && produced < out.count {
            // zlib counts in 32 bits: hand it the output in pieces below 4 GiB.
            let room = min(out.count - produced, Int(UInt32.max))
            stream.next_out = base! + produced
            stream.avail_out = uInt(room)
            status = CZlib.inflate(&stream, Z_NO_FLUSH)
            produced += room - Int(stream.avail_out)
        }
        guard status == Z_OK || status == Z_STREAM_END else {
            throw ArchiveError(.format, "\(what) is damaged: zlib stream does not inflate (status \(status)\(stream.msg.map { ", " + String(cString: $0) } ?? ""))")
        }
        return (produced, status == Z_STREAM_END, Int(stream.avail_in))
    }
}
