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
}

/// Makes one compressor per worker thread.
public typealias FrameCompressorFactory = @Sendable (_ worker: Int) -> FrameCompressor

/// The CPU's encoder of the build's codec (`FrameEncoding`).
public final class CPUFrameCompressor: FrameCompressor {
    private let encoder: CodecEncoder
    public let deviceName = "cpu"
    public var codec: FrameCodec { encoder.codec }
    public init(encoding: FrameEncoding = .default) { encoder = encoding.makeEncoder() }
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        encoder.compress(input, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<min(output.count, input.count)]))
    }
}
