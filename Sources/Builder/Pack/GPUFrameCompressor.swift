import Archive

/// A pipeline worker's compressor on an OpenCL device. An OpenCL failure in
/// the middle of a build does not cost the frame: it is compressed on the CPU
/// instead (the summary then counts it under "cpu"), and `onError` hears
/// about it once per worker.
public final class GPUFrameCompressor: FrameCompressor {
    private let gpu: GPULZ4XCompressor
    private let cpu: LZ4XEncoder
    private let gpuName: String
    private let onError: @Sendable (String) -> Void
    private var reported = false
    public private(set) var deviceName: String

    public init(device: OpenCLDevice, cpuOptions: LZ4XEncoderOptions = .default,
                onError: @escaping @Sendable (String) -> Void) throws {
        gpu = try GPULZ4XCompressor(device: device)
        cpu = LZ4XEncoder(options: cpuOptions)
        gpuName = "gpu:\(device.name)"
        deviceName = gpuName
        self.onError = onError
    }

    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        // Like the CPU path: a block that does not fit in the frame's own
        // size does not pay, and the frame is stored RAW.
        let room = UnsafeMutableRawBufferPointer(rebasing: output[0..<min(output.count, input.count)])
        do {
            let size = try gpu.compress([input], into: [room])[0]
            deviceName = gpuName
            return size
        } catch {
            if !reported {
                reported = true
                onError("\(gpuName) failed (\(error)); compressing this worker's frames on the CPU")
            }
            deviceName = "cpu"
            return cpu.compress(input, into: room)
        }
    }
}
