import CZstd
import Foundation

/// zstd behind the codec seam (libzstd). A frame's payload is one standard
/// zstd frame; a delta chunk's stored bytes are one magicless zstd frame
/// decoded with its base chunk as reference prefix. Before a byte is
/// decoded the frame header must state exactly the expected decoded size,
/// name no dictionary, and ask for no window larger than what it decodes
/// (with the prefix): a crafted frame cannot make the decoder allocate or
/// reach past that. Decoding then goes straight into the caller's buffer
/// (`ZSTD_d_stableOutBuffer`: no window buffer of its own), must consume
/// the payload exactly and fill the output exactly.
public final class ZstdDecoder: CodecDecoder, @unchecked Sendable {
    public static let shared = ZstdDecoder()

    /// Decoding contexts kept for reuse: creating one costs more than
    /// decoding an 8 KiB delta. Contexts that decoded against a prefix are
    /// kept apart: libzstd carries one fact through `ZSTD_DCtx_reset`, whether
    /// the last prefix is "cold" (`ddictIsCold`, cleared only when a
    /// compressed block is decoded), and it picks which of libzstd's two
    /// sequence decoders the next compressed block goes through; the two
    /// refuse different malformed frames. So a context that once had a
    /// prefix (a delta that failed or stopped before its first compressed
    /// block) would make a later frame's decode depend on what the context
    /// did before, and a whole and a partial decode of one frame disagree
    /// (found by the zstd_decode fuzz target). Contexts that never had a
    /// prefix never have it set.
    private let lock = NSLock()
    private var idle: [OpaquePointer] = []
    private var idleWithPrefix: [OpaquePointer] = []
    private static let keptContexts = 16

    /// Compressed bytes a partial decode takes per step (about 4 decoded
    /// zstd blocks of 128 KiB on text).
    static let stepInput = 128 << 10

    public var payloadIsDecoded: Bool { false }

    func takeContext(prefixed: Bool) -> OpaquePointer {
        lock.lock()
        if let c = prefixed ? idleWithPrefix.popLast() : idle.popLast() { lock.unlock(); return c }
        lock.unlock()
        guard let c = ZSTD_createDCtx() else { fatalError("out of memory creating a zstd decoder") }
        return c
    }

    func returnContext(_ c: OpaquePointer, prefixed: Bool) {
        lock.lock()
        if prefixed && idleWithPrefix.count < Self.keptContexts { idleWithPrefix.append(c); lock.unlock(); return }
        if !prefixed && idle.count < Self.keptContexts { idle.append(c); lock.unlock(); return }
        lock.unlock()
        ZSTD_freeDCtx(c)
    }

    public func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let partial = ZstdPartial(decoder: self, magicless: false, prefix: nil)
        try partial.advance(payload, into: output, until: output.count)
        guard partial.finished else { throw CodecError("zstd frame ends before its decoded size") }
    }

    public func partial(outputCount: Int) -> PartialDecode {
        ZstdPartial(decoder: self, magicless: false, prefix: nil)
    }

    public func decodeDelta(_ stored: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, prefixLength: Int) throws {
        guard prefixLength >= 0, prefixLength <= output.count else { throw CodecError("prefix longer than the output") }
        let prefix = UnsafeRawBufferPointer(rebasing: output[0..<prefixLength])
        let target = UnsafeMutableRawBufferPointer(rebasing: output[prefixLength...])
        let partial = ZstdPartial(decoder: self, magicless: true, prefix: prefix)
        try partial.advance(stored, into: target, until: target.count)
        guard partial.finished else { throw CodecError("zstd delta ends before its decoded size") }
    }

    /// Checks a frame header against what the index expects (see the type's comment).
    static func checkHeader(_ payload: UnsafeRawBufferPointer, expected: Int, prefixLength: Int, magicless: Bool) throws {
        guard let base = payload.baseAddress, !payload.isEmpty else { throw CodecError("empty zstd frame") }
        var header = ZSTD_frameHeader()
        let format = magicless ? ZSTD_f_zstd1_magicless : ZSTD_f_zstd1
        let r = ZSTD_getFrameHeader_advanced(&header, base, payload.count, format)
        guard ZSTD_isError(r) == 0 else { throw CodecError("not a zstd frame (\(errorName(r)))") }
        guard r == 0 else { throw CodecError("zstd frame header is truncated") }
        guard header.frameType == ZSTD_frame else { throw CodecError("a skippable zstd frame where a frame was expected") }
        guard header.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN else { throw CodecError("zstd frame does not state its decoded size") }
        guard header.frameContentSize == UInt64(expected) else {
            throw CodecError("zstd frame decodes to \(header.frameContentSize) bytes, the index says \(expected)")
        }
        guard header.dictID == 0 else { throw CodecError("zstd frame asks for dictionary \(header.dictID), which gpuarc never uses") }
        let reach = max(UInt64(expected) + UInt64(prefixLength), 1 << 10)
        guard header.windowSize <= reach else {
            throw CodecError("zstd frame asks for a \(header.windowSize)-byte window, larger than the \(reach) bytes it decodes")
        }
    }

    /// The window log that covers `bytes`: what the encoder writes and the
    /// most a reader allows.
    public static func windowLog(covering bytes: Int) -> Int32 {
        var log: Int32 = 10
        while log < 31 && (1 << Int(log)) < bytes { log += 1 }
        return log
    }

    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
}

/// One zstd decode in steps, straight into the output buffer.
final class ZstdPartial: PartialDecode {
    /// Where a zero-length output points.
    nonisolated(unsafe) static let nowhere = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    private let decoder: ZstdDecoder
    private let magicless: Bool
    private let prefix: UnsafeRawBufferPointer?
    private var context: OpaquePointer?
    private var inputPosition = 0
    private(set) var available = 0
    private(set) var finished = false

    init(decoder: ZstdDecoder, magicless: Bool, prefix: UnsafeRawBufferPointer?) {
        self.decoder = decoder
        self.magicless = magicless
        self.prefix = prefix
    }

    deinit { if let context { decoder.returnContext(context, prefixed: prefixed) } }

    /// Decodes against a non-empty prefix (its context comes from, and goes
    /// back to, the decoder's contexts for prefixes).
    private var prefixed: Bool { !(prefix?.isEmpty ?? true) }

    private func start(_ payload: UnsafeRawBufferPointer, outputCount: Int) throws -> OpaquePointer {
        let prefixLength = prefix?.count ?? 0
        try ZstdDecoder.checkHeader(payload, expected: outputCount, prefixLength: prefixLength, magicless: magicless)
        let c = decoder.takeContext(prefixed: prefixed)
        context = c
        ZSTD_DCtx_reset(c, ZSTD_reset_session_and_parameters)
        if prefixed {
            // Forgets where the last prefix ended, so this one is cold, as in
            // a new context, whatever prefix the context had before.
            let r = ZSTD_decompressBegin(c)
            guard ZSTD_isError(r) == 0 else { throw CodecError("zstd decoder refused to start (\(ZstdDecoder.errorName(r)))") }
        }
        try set(c, ZSTD_d_windowLogMax, ZstdDecoder.windowLog(covering: outputCount + prefixLength))
        try set(c, ZSTD_d_experimentalParam2, 1)   // ZSTD_d_stableOutBuffer
        if magicless { try set(c, ZSTD_d_experimentalParam1, Int32(ZSTD_f_zstd1_magicless.rawValue)) }   // ZSTD_d_format
        if let prefix, !prefix.isEmpty {
            let r = ZSTD_DCtx_refPrefix(c, prefix.baseAddress, prefix.count)
            guard ZSTD_isError(r) == 0 else { throw CodecError("zstd prefix refused (\(ZstdDecoder.errorName(r)))") }
        }
        return c
    }

    private func set(_ c: OpaquePointer, _ parameter: ZSTD_dParameter, _ value: Int32) throws {
        let r = ZSTD_DCtx_setParameter(c, parameter, value)
        guard ZSTD_isError(r) == 0 else { throw CodecError("zstd decoder parameter refused (\(ZstdDecoder.errorName(r)))") }
    }

    func advance(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, until target: Int) throws {
        guard !finished else { return }
        let c = try context ?? start(payload, outputCount: output.count)
        // A zero-length output still needs a valid pointer for libzstd (it writes nothing there).
        let outBase = output.baseAddress ?? ZstdPartial.nowhere
        while true {
            let limit = min(payload.count, inputPosition + ZstdDecoder.stepInput)
            var input = ZSTD_inBuffer(src: payload.baseAddress, size: limit, pos: inputPosition)
            var out = ZSTD_outBuffer(dst: outBase, size: output.count, pos: available)
            let r = ZSTD_decompressStream(c, &out, &input)
            guard ZSTD_isError(r) == 0 else {
                throw CodecError("zstd frame does not decode at input offset \(inputPosition) (\(ZstdDecoder.errorName(r)))")
            }
            let progressed = input.pos != inputPosition || out.pos != available
            inputPosition = input.pos
            available = out.pos
            if r == 0 {
                guard inputPosition == payload.count else {
                    throw CodecError("zstd frame ends at offset \(inputPosition) of a \(payload.count)-byte payload")
                }
                guard available == output.count else {
                    throw CodecError("zstd frame decodes to \(available) bytes, expected \(output.count)")
                }
                finished = true
                decoder.returnContext(c, prefixed: prefixed)
                context = nil
                return
            }
            if available >= target && target < output.count { return }
            guard progressed else {
                throw CodecError(limit == payload.count
                    ? "zstd frame is truncated (\(payload.count) bytes, \(available) of \(output.count) decoded)"
                    : "zstd frame decodes past its \(output.count) bytes")
            }
        }
    }
}
