import Archive

/// Times the OpenCL compressor against the CPU encoder on the calibration's
/// deterministic text sample, for `--compressor auto` (cached per device by
/// `GPUCalibrator`, so it runs once per machine).
public enum CompressCalibration {
    /// GPU and CPU compression rates; the CPU rate is `encoder`'s on one
    /// thread times `threads`, since the build compresses frames in parallel.
    public static func measure(_ device: OpenCLDevice, encoder: LZ4XEncoder, threads: Int,
                               sampleFrameSize: Int = GPUCalibrator.defaultSampleFrameSize) throws -> CalibrationRates {
        let frames = GPUCalibrator.sample(frameSize: sampleFrameSize)
        let bytes = Double(frames.reduce(0) { $0 + $1.count })
        let compressor = try GPULZ4XCompressor(device: device)
        let blocks = allocateOutputs(frames.map { GPULZ4XCompressor.outputBound($0.count) })
        let cpuBlocks = allocateOutputs(frames.map { GPULZ4XCompressor.outputBound($0.count) })
        defer { (blocks + cpuBlocks).forEach { $0.deallocate() } }
        return try withRawPointers(frames) { inputs in
            _ = try compressor.compress(inputs, into: blocks)   // builds the kernels, not timed
            let gpu = try GPUCalibrator.seconds { _ = try compressor.compress(inputs, into: blocks) }
            let cpu = GPUCalibrator.seconds { for (i, o) in zip(inputs, cpuBlocks) { _ = encoder.compress(i, into: o) } }
            return (bytes / gpu, bytes / cpu * Double(max(1, threads)))
        }
    }
}
