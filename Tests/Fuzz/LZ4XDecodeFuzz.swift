import Archive

/// libFuzzer target: the LZ4X decoder on arbitrary blocks, whole and resumed,
/// with and without a prefix dictionary.
///
/// Input layout: byte 0 picks the prefix length (0 or 1...255 bytes taken from
/// the input), bytes 1-3 the decoded size (u24 LE, so the output buffer is
/// never larger than 16 MiB), byte 4 the resume step; the rest is the block.
/// Each call decodes into a buffer allocated at exactly the claimed size, so
/// the address sanitizer sees any byte read or written outside it.
@_cdecl("LLVMFuzzerTestOneInput")
public func lz4xDecodeFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 5 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let prefixLength = min(Int(input[0]), size - 5)
    let decodedSize = Int(input[1]) | Int(input[2]) << 8 | Int(input[3]) << 16
    let step = max(1, Int(input[4]) << 4)
    // The prefix is the tail of the input (arbitrary bytes) and the block is in front of it.
    let block = UnsafeRawBufferPointer(rebasing: input[5..<(size - prefixLength)])
    let prefix = UnsafeRawBufferPointer(rebasing: input[(size - prefixLength)...])

    // Exactly sized copies, so no slack around them hides an overrun.
    let src = UnsafeMutableRawBufferPointer.allocate(byteCount: block.count, alignment: 1)
    defer { src.deallocate() }
    if block.count > 0 { src.copyMemory(from: block) }
    let total = prefixLength + decodedSize
    let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 1)
    defer { dst.deallocate() }

    // Whole-block decode.
    if prefixLength > 0 { dst.copyMemory(from: prefix) }
    let whole = (try? LZ4XDecoder.decode(UnsafeRawBufferPointer(src), into: dst, prefixLength: prefixLength)) != nil
    let wholeBytes = whole ? Array(dst) : []

    // Resumed decode in steps must agree with the whole decode, byte for byte.
    if prefixLength > 0 { dst.copyMemory(from: prefix) }
    var progress = LZ4XDecoder.Progress(prefixLength: prefixLength)
    var target = prefixLength
    var resumed = true
    while !progress.finished {
        target = min(target + step, total)
        let before = progress.output
        do {
            try LZ4XDecoder.decode(UnsafeRawBufferPointer(src), into: dst, progress: &progress, until: target)
        } catch {
            resumed = false
            break
        }
        if progress.output < target && !progress.finished { fatalError("decode stopped short of its target") }
        if progress.output == before && !progress.finished && target == total { fatalError("decode made no progress") }
    }
    if resumed != whole { fatalError("whole decode \(whole ? "succeeded" : "failed") but resumed decode did not agree") }
    if whole && Array(dst) != wholeBytes { fatalError("resumed decode produced different bytes") }
    return 0
}
