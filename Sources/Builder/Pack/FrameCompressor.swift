import Archive
import ArchiveWriter

/// Compresses one frame. Each pipeline worker owns one (encoders keep their
/// hash tables between frames). Returns the size written to `output` in its
/// `codec`, or nil when the frame would not shrink (it is then stored RAW).
public protocol FrameCompressor: AnyObject {
    /// Short name for the summary ("cpu", "gpu:NVIDIA H100", ...).
    var deviceName: String { get }
    /// The codec of what `compress` writes.
    var codec: FrameCodec { get }
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int?
    /// `compress` for a frame that stands for `sourceBytes` bytes read from
    /// the sources: a compressor whose level follows that
    /// (`FrameEncoding.scaled`) spends more on a frame that stands for more.
    /// The size, and the level used where the compressor has levels.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                  standingFor sourceBytes: Int) -> (size: Int?, level: Int?)
}

public extension FrameCompressor {
    /// One setting for every frame.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                  standingFor sourceBytes: Int) -> (size: Int?, level: Int?) {
        (compress(input, into: output), nil)
    }
}

/// Makes one compressor per worker thread.
public typealias FrameCompressorFactory = @Sendable (_ worker: Int) -> FrameCompressor

/// The CPU's encoder of the build's codec (`FrameEncoding`).
public final class CPUFrameCompressor: FrameCompressor {
    private let encoder: CodecEncoder
    private let encoding: FrameEncoding
    public let deviceName = "cpu"
    public var codec: FrameCodec { encoder.codec }
    public init(encoding: FrameEncoding = .default) {
        encoder = encoding.makeEncoder()
        self.encoding = encoding
    }
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        encoder.compress(input, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<min(output.count, input.count)]))
    }
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                         standingFor sourceBytes: Int) -> (size: Int?, level: Int?) {
        var level = encoding.level
        if encoding.scaled, let zstd = encoder as? ZstdEncoder {
            level = max(level, ZstdLevel.level(standingFor: sourceBytes * encoding.sourceWeight, frameBytes: input.count))
            zstd.level = level
        }
        return (compress(input, into: output), level)
    }
}
