import Archive

/// libFuzzer target: the footer and index parsers, then every accessor the
/// mount and extract call on an index the validator accepted.
///
/// Input layout: byte 0 is a flag set, the rest an index body.
///   bit 0: the body is the inflated index; its checksum and length fields are
///          recomputed first, so mutations get past the checksum to the
///          parser and validator (without it they only test the checksum).
///   bit 1: the body is a compressed index (IndexCodec.decodeCompressed): a
///          zlib stream, or a format-6 envelope and zstd frame.
///   bit 2: the body is u32 n, n bytes of a previous segment's inflated bytes,
///          then a format-6 segment compressed against them (a later segment
///          of a chain, inflated against its prefix and parsed).
/// The last 24 input bytes are also parsed as a footer of a file that size.
@_cdecl("LLVMFuzzerTestOneInput")
public func indexParseFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    if size >= Footer.size {
        _ = try? Footer.decode(UnsafeRawBufferPointer(rebasing: input[(size - Footer.size)...]),
                               fileSize: UInt64(size), volume: "fuzz")
    }
    let flags = input[0]
    var body = Array(input[1...])
    let index: ArchiveIndex
    do {
        if flags & 4 != 0 {
            guard body.count >= 4 else { return 0 }
            let n = Int(body[0]) | Int(body[1]) << 8 | Int(body[2]) << 16 | Int(body[3]) << 24
            guard n <= body.count - 4 else { return 0 }
            let prefix = Array(body[4..<(4 + n)])
            _ = try Array(body[(4 + n)...]).withUnsafeBytes {
                try IndexCodec.decodeCompressedSegment($0, what: "fuzz segment", prefix: prefix)
            }
            return 0
        }
        if flags & 2 != 0 {
            index = try body.withUnsafeBytes { try IndexCodec.decodeCompressed($0, what: "fuzz index") }
        } else {
            if flags & 1 != 0 { FuzzSeal.sealIndex(&body) }
            index = try body.withUnsafeBytes { try IndexCodec.decode($0, what: "fuzz index") }
        }
    } catch {
        return 0
    }
    FuzzSeal.walk(index)
    return 0
}
