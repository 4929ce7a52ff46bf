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

    /// Inflates a whole zlib stream. The output grows as needed (zlib cannot
    /// expand more than ~1032:1, so a hostile stream cannot ask for unbounded memory
    /// beyond that) and trailing garbage or a truncated stream is an error.
    static func decompress(_ input: UnsafeRawBufferPointer, what: String) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ArchiveError(.io, "zlib could not start inflating \(what)")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(4096, input.count * 4))
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        while true {
            if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
            let status: Int32 = output.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress! + produced
                stream.avail_out = uInt(out.count - produced)
                let status = inflate(&stream, Z_NO_FLUSH)
                produced = out.count - Int(stream.avail_out)
                return status
            }
            if status == Z_STREAM_END { break }
            if status == Z_OK || (status == Z_BUF_ERROR && stream.avail_out == 0) { continue }
            throw ArchiveError(.format, "\(what) is damaged: zlib stream does not inflate (status \(status)\(stream.msg.map { ", " + String(cString: $0) } ?? ""))")
        }
        guard stream.avail_in == 0 else {
            throw ArchiveError(.format, "\(what) is damaged: \(stream.avail_in) stray bytes after the zlib stream")
        }
        output.removeSubrange(produced...)
        return output
    }
}
