import Archive
import CZstd

/// libFuzzer target: the zstd decoder (`ZstdDecoder`, libzstd behind the
/// codec seam) on arbitrary frames and delta chunks.
///
/// Input layout: byte 0 holds flags (bit 0: a delta chunk, a magicless frame
/// decoded against a prefix; bit 1: first start a partial decode and abandon
/// it after one step, and for a frame then fail a delta against a prefix, so
/// the decoder's reused contexts come back dirty),
/// bytes 1-3 the decoded size (u24 LE, so no buffer is larger than 16 MiB
/// plus the prefix), byte 4 the resume step, bytes 5-6 the prefix length of
/// a delta (u16 LE, taken from the tail of the input; ignored for frames);
/// the rest is the payload. Every decode writes into a buffer allocated at
/// exactly its size, so the address sanitizer sees any byte outside it.
///
/// Checked (fatalError otherwise):
/// - frames: the whole decode and a partial decode advanced in growing steps
///   agree (both fail, or both succeed with the same bytes); a step never
///   stops short of its target unless the decode finished, never goes back,
///   and finished means the whole output;
/// - deltas: the prefix is never written, whether the decode succeeds or not;
///   with an empty prefix a delta decodes exactly as the same frame with the
///   magic in front decodes as a frame (or, where libzstd's one-pass and
///   block-by-block decodes differ, as libzstd decodes it block by block);
/// - both: a success is what libzstd itself (a separate context and output
///   buffer, one pass or block by block) makes of the payload: one frame
///   spanning the whole payload, exactly the expected number of bytes, the
///   same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func zstdDecodeFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 7 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let delta = input[0] & 1 != 0
    let abandonFirst = input[0] & 2 != 0
    let decodedSize = Int(input[1]) | Int(input[2]) << 8 | Int(input[3]) << 16
    let step = max(1, Int(input[4]) << 8)
    let prefixLength = delta ? min(Int(input[5]) | Int(input[6]) << 8, size - 7) : 0
    let payload = UnsafeRawBufferPointer(rebasing: input[7..<(size - prefixLength)])
    let prefix = UnsafeRawBufferPointer(rebasing: input[(size - prefixLength)...])

    // Exactly sized copies, so no slack around them hides an overrun.
    let src = UnsafeMutableRawBufferPointer.allocate(byteCount: payload.count, alignment: 1)
    defer { src.deallocate() }
    if payload.count > 0 { src.copyMemory(from: payload) }
    let source = UnsafeRawBufferPointer(src)

    if delta {
        checkDelta(source, prefix: prefix, decodedSize: decodedSize, abandonFirst: abandonFirst)
    } else {
        checkFrame(source, decodedSize: decodedSize, step: step, abandonFirst: abandonFirst)
    }
    return 0
}

private func checkFrame(_ payload: UnsafeRawBufferPointer, decodedSize: Int, step: Int, abandonFirst: Bool) {
    let decoder = ZstdDecoder.shared
    let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: decodedSize, alignment: 1)
    defer { dst.deallocate() }

    if abandonFirst {
        // A partial decode of this frame abandoned after one step, then a
        // delta against a prefix that stops before its first compressed
        // block (what leaves libzstd's "cold prefix" flag set in a context
        // through its reset): the decodes below take contexts these gave back.
        do {
            let partial = decoder.partial(outputCount: decodedSize)
            _ = try? partial.advance(payload, into: dst, until: min(step, decodedSize))
        }
        stoppedDelta()
    }

    // Whole decode.
    let wholeBytes = wholeFrame(payload, into: dst)

    // Partial decode in growing steps: must agree with the whole decode.
    let partial = decoder.partial(outputCount: decodedSize)
    var target = 0
    var resumed = true
    while !partial.finished {
        // The next target lies beyond what is decoded already, so a decode of
        // a large output from a small payload takes few steps.
        target = min(decodedSize, max(target, partial.available) + step)
        let before = partial.available
        do {
            try partial.advance(payload, into: dst, until: target)
        } catch {
            resumed = false
            break
        }
        if partial.available < before { fatalError("partial decode went back from \(before) to \(partial.available) bytes") }
        if partial.available > decodedSize { fatalError("partial decode reports \(partial.available) of \(decodedSize) bytes") }
        if partial.available < target && !partial.finished {
            fatalError("partial decode stopped at \(partial.available) bytes, short of its target \(target)")
        }
        if partial.finished && partial.available != decodedSize {
            fatalError("partial decode finished with \(partial.available) of \(decodedSize) bytes")
        }
        if partial.available == before && !partial.finished && target == decodedSize {
            fatalError("partial decode made no progress towards the end")
        }
    }
    if resumed != (wholeBytes != nil) {
        fatalError("whole decode \(wholeBytes != nil ? "succeeded" : "failed") but the partial decode \(resumed ? "succeeded" : "failed")")
    }
    if let wholeBytes {
        if Array(dst) != wholeBytes { fatalError("partial decode produced different bytes from the whole decode") }
        checkAgainstLibzstd(payload, prefix: nil, decoded: wholeBytes)
    }
}

/// A magicless frame of 16 bytes (single segment) cut after one empty raw
/// block, decoded against an 8-byte prefix: it fails as truncated.
private func stoppedDelta() {
    let stored: [UInt8] = [0x20, 0x10, 0x00, 0x00, 0x00]
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 + 16, alignment: 1)
    defer { out.deallocate() }
    out.initializeMemory(as: UInt8.self, repeating: 0x61)
    let refused = stored.withUnsafeBytes { (try? ZstdDecoder.shared.decodeDelta($0, into: out, prefixLength: 8)) == nil }
    if !refused { fatalError("a truncated delta decoded") }
}

/// The decoded bytes, or nil when the decode throws.
private func wholeFrame(_ payload: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) -> [UInt8]? {
    do {
        try ZstdDecoder.shared.decode(payload, into: dst)
        return Array(dst)
    } catch {
        return nil
    }
}

private func checkDelta(_ stored: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer, decodedSize: Int, abandonFirst: Bool) {
    let decoder = ZstdDecoder.shared
    let prefixLength = prefix.count
    let total = prefixLength + decodedSize
    let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 1)
    defer { dst.deallocate() }
    if prefixLength > 0 { dst.copyMemory(from: prefix) }

    if abandonFirst {
        // A frame decode stopped after one step, its context back in the pool
        // with a frame half decoded when the delta takes it.
        let partial = decoder.partial(outputCount: total)
        var magic = [UInt8](repeating: 0, count: 4 + stored.count)
        magic[0] = 0x28; magic[1] = 0xB5; magic[2] = 0x2F; magic[3] = 0xFD
        for i in 0..<stored.count { magic[4 + i] = stored[i] }
        magic.withUnsafeBytes { framed in
            _ = try? partial.advance(framed, into: dst, until: 1)
        }
        if prefixLength > 0 { dst.copyMemory(from: prefix) }
    }

    var failure = ""
    do { try decoder.decodeDelta(stored, into: dst, prefixLength: prefixLength) } catch { failure = "\(error)" }
    let ok = failure.isEmpty
    if prefixLength > 0 && !UnsafeRawBufferPointer(rebasing: dst[..<prefixLength]).elementsEqual(prefix) {
        fatalError("delta decode (\(ok ? "succeeded" : "failed")) wrote into its \(prefixLength)-byte prefix")
    }
    let decoded: [UInt8]? = ok ? Array(dst[prefixLength...]) : nil
    if let decoded { checkAgainstLibzstd(stored, prefix: prefix, decoded: decoded) }

    if prefixLength == 0 {
        // A magicless frame with the magic in front is a standard frame.
        var framed = [UInt8](repeating: 0, count: 4 + stored.count)
        framed[0] = 0x28; framed[1] = 0xB5; framed[2] = 0x2F; framed[3] = 0xFD
        for i in 0..<stored.count { framed[4 + i] = stored[i] }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: decodedSize, alignment: 1)
        defer { out.deallocate() }
        let asFrame = framed.withUnsafeBytes { wholeFrame($0, into: out) }
        // libzstd decodes a standard frame that lies whole in its input in one
        // pass (ZSTD_decompressStream's single-pass shortcut, which finds the
        // frame's end by its magic) and a magicless one block by block, and
        // the two do not accept quite the same frames (an empty frame with an
        // RLE block of length 0: only the one-pass decode takes it). Where the
        // two decodes disagree, the delta must agree with libzstd's
        // block-by-block decode of the framed bytes.
        if asFrame != decoded {
            let streamed = framed.withUnsafeBytes { libzstd($0, prefix: nil, magicless: false, decodedSize: decodedSize, streaming: true) }
            if streamed != decoded {
                fatalError("delta without prefix \(ok ? "decoded" : "failed (\(failure))") but the same frame with its magic \(asFrame != nil ? "decoded" : "failed") differently, and libzstd's block-by-block decode of it \(streamed != nil ? "succeeded" : "failed")")
            }
        }
    }
}

/// A successful decode must be what libzstd itself makes of the payload, in
/// a context of its own with separate buffers: one frame spanning the whole
/// payload, exactly the expected number of bytes, the same bytes. libzstd has
/// two decoders that do not accept quite the same frames (the one-pass one
/// refuses an empty frame of many empty blocks that the block-by-block one
/// takes, and the other way round for an RLE block of length 0), so either
/// may confirm it.
private func checkAgainstLibzstd(_ payload: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer?, decoded: [UInt8]) {
    let magicless = prefix != nil
    if libzstd(payload, prefix: prefix, magicless: magicless, decodedSize: decoded.count, streaming: false) == decoded { return }
    if libzstd(payload, prefix: prefix, magicless: magicless, decodedSize: decoded.count, streaming: true) == decoded { return }
    fatalError("accepted a payload of \(decoded.count) decoded bytes that libzstd does not decode to the same bytes")
}

/// libzstd's decode of one frame (magicless against `prefix`, or standard):
/// the decoded bytes if the frame spans the payload and decodes to exactly
/// `decodedSize` bytes, else nil. One pass (`ZSTD_decompressDCtx`) or block by
/// block (`ZSTD_decompressStream` fed the header alone first, so it cannot
/// take its one-pass shortcut).
private func libzstd(_ payload: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer?, magicless: Bool,
                     decodedSize: Int, streaming: Bool) -> [UInt8]? {
    guard let context = ZSTD_createDCtx() else { fatalError("out of memory") }
    defer { ZSTD_freeDCtx(context) }
    if magicless {
        let r = ZSTD_DCtx_setParameter(context, ZSTD_d_experimentalParam1, Int32(ZSTD_f_zstd1_magicless.rawValue))
        if ZSTD_isError(r) != 0 { fatalError("libzstd refused the magicless format") }
    }
    // The prefix in a buffer of its own, so nothing relies on it lying before the output.
    let base = UnsafeMutableRawBufferPointer.allocate(byteCount: max(prefix?.count ?? 0, 1), alignment: 1)
    defer { base.deallocate() }
    if let prefix, !prefix.isEmpty {
        base.copyMemory(from: prefix)
        let r = ZSTD_DCtx_refPrefix(context, base.baseAddress, prefix.count)
        if ZSTD_isError(r) != 0 { fatalError("libzstd refused a prefix") }
    }
    guard let source = payload.baseAddress, !payload.isEmpty else { return nil }
    // One byte more than expected, so a frame that decodes to more shows.
    let capacity = decodedSize + 1
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    defer { out.deallocate() }
    if !streaming {
        // (It decodes every frame in the payload: one that does not span it decodes to more.)
        let n = ZSTD_decompressDCtx(context, out.baseAddress, capacity, source, payload.count)
        guard ZSTD_isError(n) == 0, n == decodedSize else { return nil }
        return Array(out[..<n])
    }
    var first = 1
    if !magicless {
        first = ZSTD_frameHeaderSize(source, payload.count)
        guard ZSTD_isError(first) == 0, first <= payload.count else { return nil }
    }
    var output = ZSTD_outBuffer(dst: out.baseAddress, size: capacity, pos: 0)
    var input = ZSTD_inBuffer(src: source, size: first, pos: 0)
    var r = ZSTD_decompressStream(context, &output, &input)
    guard ZSTD_isError(r) == 0 else { return nil }
    input.size = payload.count
    while r != 0 {
        let before = (input.pos, output.pos)
        r = ZSTD_decompressStream(context, &output, &input)
        guard ZSTD_isError(r) == 0 else { return nil }
        if r != 0 && before == (input.pos, output.pos) { return nil }
    }
    guard input.pos == payload.count, output.pos == decodedSize else { return nil }
    return Array(out[..<decodedSize])
}
