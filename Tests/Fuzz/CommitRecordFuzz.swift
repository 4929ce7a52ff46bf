import Archive

/// libFuzzer target: the commit record parser (`CommitRecord.decode`). A
/// writer renames what an accepted record names, so hostile bytes must be
/// refused with an error, never trap, and never name another file than the
/// archive's own; an accepted record must encode back to the same bytes.
///
/// Input layout: byte 0 is a flag set, the rest a record of archive "arc".
///   bit 0: the trailing XXH64 is recomputed first, so mutations reach the
///          parser behind the checksum.
@_cdecl("LLVMFuzzerTestOneInput")
public func commitRecordFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var bytes = Array(input[1...])
    if input[0] & 1 != 0, bytes.count >= 8 {
        let sum = XXHash64.hash(Array(bytes.dropLast(8)))
        for i in 0..<8 { bytes[bytes.count - 8 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
    }
    let base = Array("arc".utf8)
    guard let record = try? CommitRecord.decode(bytes, baseName: base, what: "fuzz") else { return 0 }
    for rename in record.renames {
        guard rename.final.starts(with: base + [UInt8(ascii: ".")]), !rename.final.contains(UInt8(ascii: "/")),
              rename.temporary.starts(with: rename.final) else {
            fatalError("accepted a record that renames \(rename.temporary) to \(rename.final)")
        }
    }
    guard record.encoded() == bytes else { fatalError("an accepted record does not encode back to its bytes") }
    return 0
}
