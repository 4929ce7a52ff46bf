import Archive
import ArchiveWriter

/// A pipeline worker's compressor on an OpenCL device: its frames go to the
/// device's shared batcher. An OpenCL failure in the middle of a build does
/// not cost the frame: it is compressed on the CPU instead (the summary then
/// counts it under "cpu"), and `onError` hears about it once per worker.
public final class GPUFrameCompressor: FrameCompressor {
    private let batcher: GPUFrameBatcher
    private let cpu: LZ4XEncoder
    private let onError: @Sendable (String) -> Void
    private var reported = false
    public private(set) var deviceName: String
    /// The kernels write LZ4X (and so does the CPU fallback).
    public var codec: FrameCodec { .lz4x }

    init(batcher: GPUFrameBatcher, cpuOptions: LZ4XEncoderOptions, onError: @escaping @Sendable (String) -> Void) {
        self.batcher = batcher
        cpu = LZ4XEncoder(options: cpuOptions)
        deviceName = batcher.deviceName
        self.onError = onError
    }

    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        // Like the CPU path: a block that does not fit in the frame's own
        // size does not pay, and the frame is stored RAW.
        let room = UnsafeMutableRawBufferPointer(rebasing: output[0..<min(output.count, input.count)])
        do {
            let size = try batcher.compress(input, into: room)
            deviceName = batcher.deviceName
            return size
        } catch {
            if !reported {
                reported = true
                onError("\(batcher.deviceName) failed (\(error)); compressing this worker's frames on the CPU")
            }
            deviceName = "cpu"
            return cpu.compress(input, into: room)
        }
    }
}
