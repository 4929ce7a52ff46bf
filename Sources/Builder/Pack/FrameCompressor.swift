import Archive
import ArchiveWriter

/// Compresses one frame. Each pipeline worker owns one (encoders keep their
/// hash tables between frames). Returns the LZ4X size written to `output`, or
/// nil when the frame would not shrink (it is then stored RAW).
public protocol FrameCompressor: AnyObject {
    /// Short name for the summary ("cpu", "gpu:NVIDIA H100", ...).
    var deviceName: String { get }
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int?
}

/// Makes one compressor per worker thread.
public typealias FrameCompressorFactory = @Sendable (_ worker: Int) -> FrameCompressor

public final class CPUFrameCompressor: FrameCompressor {
    private let encoder: LZ4XEncoder
    public let deviceName = "cpu"
    public init(options: LZ4XEncoderOptions = .default) { encoder = LZ4XEncoder(options: options) }
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        encoder.compress(input, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<min(output.count, input.count)]))
    }
}
