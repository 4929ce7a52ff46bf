/// LZ4X behind the codec seam: the CPU decoder, which resumes where a
/// partial decode stopped, and deltas with the base as prefix dictionary.
struct LZ4XCodecDecoder: CodecDecoder {
    var payloadIsDecoded: Bool { false }

    func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try LZ4XDecoder.decode(payload, into: output)
    }

    func partial(outputCount: Int) -> PartialDecode { LZ4XPartial() }

    func decodeDelta(_ stored: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, prefixLength: Int) throws {
        try LZ4XDecoder.decode(stored, into: output, prefixLength: prefixLength)
    }
}

final class LZ4XPartial: PartialDecode {
    private var progress = LZ4XDecoder.Progress()
    var available: Int { progress.output }
    var finished: Bool { progress.finished }

    func advance(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, until target: Int) throws {
        try LZ4XDecoder.decode(payload, into: output, progress: &progress, until: target)
    }
}

/// A whole-frame LZ4X decoder (the GPU's) for frames; deltas stay on the
/// CPU decoder (they are a few KiB each).
struct WholeFrameLZ4X: CodecDecoder {
    let whole: FrameDecoding
    var payloadIsDecoded: Bool { false }

    func decode(_ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try whole.decode(payload, into: output)
    }

    func partial(outputCount: Int) -> PartialDecode { WholePartial(self) }

    func decodeDelta(_ stored: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, prefixLength: Int) throws {
        try LZ4XDecoder.decode(stored, into: output, prefixLength: prefixLength)
    }
}
