import Archive

/// libFuzzer target: the footer and index parsers, then every accessor the
/// mount and extract call on an index the validator accepted.
///
/// Input layout: byte 0 is a flag set, the rest an index body.
///   bit 0: the body is the inflated index; its checksum and length fields are
///          recomputed first, so mutations get past the checksum to the
///          parser and validator (without it they only test the checksum).
///   bit 1: the body is zlib-compressed (IndexCodec.decodeCompressed).
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
