/// Times OpenCL decoding against the CPU decoder on frames of the archive
/// being opened: the reader has no encoder to make a sample with, and the
/// archive's own frames are the most honest sample there is. The figures
/// are cached per device like the compressor's (`GPUCalibrator`), so this
/// runs on the first archive opened with `--decoder auto` on a machine.
enum DecodeCalibration {
    /// Decoded bytes to time (at least one frame).
    static let sampleBytes = 4 << 20

    /// Checked payloads of LZ4X frames spread over the archive, with their
    /// decoded sizes, until `sampleBytes` decoded bytes; frames that do not
    /// load are left out (reading them reports them).
    static func samples(_ loader: FrameLoader, upTo bytes: Int = sampleBytes) -> [(payload: [UInt8], size: Int)] {
        let candidates = loader.index.frames.indices.filter { loader.index.frames[$0].codec == .lz4x }
        guard !candidates.isEmpty else { return [] }
        let average = max(1, candidates.reduce(0) { $0 + Int(loader.index.frames[$1].decodedSize) } / candidates.count)
        let wanted = max(1, min(candidates.count, (bytes + average - 1) / average))
        var samples: [(payload: [UInt8], size: Int)] = []
        var total = 0
        for k in 0..<wanted where total < bytes {
            let frame = candidates[k * candidates.count / wanted]
            guard let payload = try? loader.loadPayload(frame) else { continue }
            samples.append((Array(UnsafeRawBufferPointer(payload)), Int(loader.index.frames[frame].decodedSize)))
            payload.deallocate()
            total += samples.last!.size
        }
        return samples
    }

    /// GPU and CPU decode rates on `samples` (nil when there are none). The
    /// CPU rate is one thread's times `threads`, as the reader decodes frames in parallel.
    static func measure(_ device: OpenCLDevice, samples: [(payload: [UInt8], size: Int)],
                        threads: Int) throws -> CalibrationRates? {
        guard !samples.isEmpty else { return nil }
        let decoder = try GPULZ4XDecoder(device: device)
        let outputs = samples.map { UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, $0.size), alignment: 64) }
        defer { outputs.forEach { $0.deallocate() } }
        let sized = zip(outputs, samples).map { UnsafeMutableRawBufferPointer(rebasing: $0[0..<$1.size]) }
        let bytes = Double(samples.reduce(0) { $0 + $1.size })
        return try withRawPointers(samples.map(\.payload)) { blocks in
            _ = try decoder.decode(blocks, into: sized)   // builds the kernels, not timed
            let gpu = try GPUCalibrator.seconds { _ = try decoder.decode(blocks, into: sized) }
            let cpu = try GPUCalibrator.seconds { for (b, o) in zip(blocks, sized) { try LZ4XDecoder.decode(b, into: o) } }
            return (bytes / gpu, bytes / cpu * Double(max(1, threads)))
        }
    }
}
