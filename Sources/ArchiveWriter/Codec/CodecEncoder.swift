import Archive

/// The codec seam of the write side: one encoder type per frame codec, made
/// from a `FrameEncoding` (codec and level). The frame pipeline, the GPU
/// setup and the build summary see only this.
public protocol CodecEncoder: AnyObject {
    /// The codec id its payloads carry.
    var codec: FrameCodec { get }
    /// Compresses `input` into `output`; nil when it does not fit there
    /// (give `output` the input's size: a frame that does not shrink is
    /// stored RAW).
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int?
}

/// Which codec compresses frames, and at which level (`--codec`, `--level`).
public struct FrameEncoding: Sendable, Equatable, CustomStringConvertible {
    public var codec: FrameCodec
    public var level: Int
    /// The level was not asked for and the codec is zstd: each frame's level
    /// may follow the source bytes it stands for, from `level` up
    /// (`ZstdLevel.level(standingFor:frameBytes:)`), where the builder
    /// leaves this on (with deltas; docs/BUILD.md).
    public var scaled: Bool
    /// What a source byte weighs in that: more where the build spends more
    /// per source byte before the frames (deltas), which the frame
    /// compressors would otherwise wait through.
    public var sourceWeight = 1

    public init(codec: FrameCodec, level: Int? = nil) {
        self.codec = codec
        self.level = level ?? Self.defaultLevel(of: codec)
        scaled = level == nil && codec == .zstd
    }

    /// What a build uses unless told otherwise; docs/BUILD.md, "Codec and
    /// level", has the measurements behind it.
    public static let `default` = FrameEncoding(codec: .zstd)

    /// Codecs `--codec` accepts (RAW is what a frame falls back to, not a choice).
    public static let codecs: [FrameCodec] = [.lz4x, .zstd]

    public static func levels(of codec: FrameCodec) -> ClosedRange<Int> {
        switch codec {
        case .lz4x: return LZ4XLevel.range
        case .zstd: return ZstdLevel.range
        case .raw: return 0...0
        }
    }

    public static func defaultLevel(of codec: FrameCodec) -> Int {
        switch codec {
        case .lz4x: return LZ4XLevel.default
        case .zstd: return ZstdLevel.default
        case .raw: return 0
        }
    }

    /// `--level`'s value for `codec`: a number in its range, or fast (the
    /// lowest), default, max (the highest).
    public static func parseLevel(_ text: String, codec: FrameCodec) -> Int? {
        let range = levels(of: codec)
        guard codec != .raw else { return nil }
        if let n = Int(text) { return range.contains(n) ? n : nil }
        return ["fast": range.lowerBound, "default": defaultLevel(of: codec), "max": range.upperBound][text]
    }

    /// The codec a build writes: the one asked for, else zstd, unless the
    /// GPU is asked to compress (`--compressor gpu`): its kernels write LZ4X.
    public static func codec(asked: FrameCodec?, gpuCompression: Bool) -> FrameCodec {
        asked ?? (gpuCompression ? .lz4x : Self.default.codec)
    }

    public func makeEncoder() -> CodecEncoder {
        switch codec {
        case .lz4x: return LZ4XCodecEncoder(options: LZ4XLevel.options(level))
        case .zstd: return ZstdEncoder(level: level)
        case .raw: return RawCodecEncoder()
        }
    }

    /// "zstd level 2", "zstd level 2 and up by frame".
    public var description: String { "\(codec.name) level \(level)" + (scaled ? " and up by frame" : "") }
}

/// LZ4X frames on the CPU.
public final class LZ4XCodecEncoder: CodecEncoder {
    private let encoder: LZ4XEncoder
    public var codec: FrameCodec { .lz4x }
    public init(options: LZ4XEncoderOptions) { encoder = LZ4XEncoder(options: options) }
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        encoder.compress(input, into: output)
    }
}

/// Never compresses: every frame is stored RAW.
final class RawCodecEncoder: CodecEncoder {
    var codec: FrameCodec { .raw }
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
}
