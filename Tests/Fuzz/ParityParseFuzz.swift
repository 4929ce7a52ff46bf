import Archive

/// libFuzzer target: the parity volume header and manifest parser
/// (`ParityLayout.decode`), which reads hostile bytes from a file that may be
/// damaged: it must refuse them with an error, never trap or allocate what
/// the bytes claim without the bytes being there.
///
/// Input layout: byte 0 is a flag set, the rest a parity volume's head.
///   bit 0: the header check and manifest checksum are recomputed first, so
///          mutations reach the bounds checks behind them.
/// An accepted layout is walked: every block of every volume is asked for.
@_cdecl("LLVMFuzzerTestOneInput")
public func parityParseFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var bytes = Array(input[1...])
    if input[0] & 1 != 0 { seal(&bytes) }
    guard let (layout, _) = try? ParityLayout.decode(BytePath("fuzz.p01"), read: { offset, count in
        guard offset < UInt64(bytes.count) else { return [] }
        return Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + count)])
    }) else { return 0 }
    for volume in 0..<layout.dataCount {
        for block in 0..<layout.stripeCount { _ = layout.bytes(inVolume: volume, block: block) }
    }
    _ = layout.encodedHead(number: 1)
    return 0
}

/// Recomputes the header check and the manifest checksum of a parity head.
private func seal(_ bytes: inout [UInt8]) {
    guard bytes.count >= ParityLayout.headerSize else { return }
    let check = bytes.withUnsafeBytes { UInt32(truncatingIfNeeded: XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<60]))) }
    for i in 0..<4 { bytes[60 + i] = UInt8(truncatingIfNeeded: check >> (8 * UInt32(i))) }
    let manifestSize = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[48 + $1]) << (8 * UInt64($1)) }
    let end = ParityLayout.headerSize + Int(min(manifestSize, UInt64(bytes.count)))
    guard manifestSize >= 8, end <= bytes.count else { return }
    let sum = bytes.withUnsafeBytes { XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[ParityLayout.headerSize..<(end - 8)])) }
    for i in 0..<8 { bytes[end - 8 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(i))) }
}
