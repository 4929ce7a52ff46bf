/// The codec seam of the read side: each frame codec has one decoder type
/// behind this interface, and `FrameDecoders` maps a codec id read from the
/// archive to its decoder. The frame loader, the frame cache, `--verify`,
/// extract, the mount and the delta path call only this; none of them
/// switches on a codec (a new codec is one new conforming type and one line
/// in `FrameDecoders`).
public protocol CodecDecoder: Sendable {
    /// The payload is the decoded bytes themselves (RAW): the frame cache
    /// keeps the payload as the decoded frame instead of copying it.
    var payloadIsDecoded: Bool { get }

    /// Decodes a whole payload into `output`, which it must fill exactly;
    /// throws on anything else (damaged, truncated or crafted input).
    func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws

    /// A front-to-back decode of one payload that can stop after a prefix of
    /// the output and resume later (a read near the start of a cold frame).
    func partial(outputCount: Int) -> PartialDecode

    /// A delta chunk: `output[0..<prefixLength]` holds its base chunk, and the
    /// stored bytes decode to exactly the rest of `output` against it.
    func decodeDelta(_ stored: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, prefixLength: Int) throws
}

/// The state of one partial decode. The caller passes the same payload and
/// output buffers to every call.
public protocol PartialDecode: AnyObject {
    /// Bytes at the start of the output that are decoded.
    var available: Int { get }
    /// The whole payload is decoded and filled the output exactly.
    var finished: Bool { get }
    /// Decodes on until at least `target` output bytes are valid (it may go
    /// further) or the payload ends; throws on bad input, or when the payload
    /// ends before the output is full or the output fills before it ends.
    func advance(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, until target: Int) throws
}

/// The lookup from an archive's codec id to its decoder. A whole-frame
/// LZ4X decoder (the GPU's, `FrameDecoding`) may stand in for the CPU's.
public struct FrameDecoders: Sendable {
    private let lz4x: CodecDecoder

    public init(wholeLZ4X: FrameDecoding? = nil) {
        lz4x = wholeLZ4X.map { WholeFrameLZ4X(whole: $0) } ?? LZ4XCodecDecoder()
    }

    public func decoder(for codec: FrameCodec) -> CodecDecoder {
        switch codec {
        case .raw: return RawCodecDecoder()
        case .lz4x: return lz4x
        case .zstd: return ZstdDecoder.shared
        }
    }

    /// The decoder of a delta chunk's stored bytes (nil for a literal chunk).
    public func decoder(for kind: ChunkKind) -> CodecDecoder? {
        kind.deltaCodec.map { decoder(for: $0) }
    }
}

/// RAW: the payload is the frame.
struct RawCodecDecoder: CodecDecoder {
    var payloadIsDecoded: Bool { true }

    func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard payload.count == output.count else {
            throw CodecError("a RAW payload of \(payload.count) bytes for \(output.count) decoded bytes")
        }
        if let base = payload.baseAddress, !payload.isEmpty { output.baseAddress!.copyMemory(from: base, byteCount: payload.count) }
    }

    func partial(outputCount: Int) -> PartialDecode { WholePartial(self) }

    func decodeDelta(_ stored: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, prefixLength: Int) throws {
        throw CodecError("RAW is not a delta codec")
    }
}

/// Why a payload does not decode (the caller adds frame and volume).
public struct CodecError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A partial decode that decodes everything at its first step: for decoders
/// that only decode whole payloads.
final class WholePartial: PartialDecode {
    private let decoder: CodecDecoder
    private(set) var available = 0
    private(set) var finished = false

    init(_ decoder: CodecDecoder) { self.decoder = decoder }

    func advance(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, until target: Int) throws {
        guard !finished else { return }
        try decoder.decode(payload, into: output)
        available = output.count
        finished = true
    }
}
