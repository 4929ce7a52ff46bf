import Archive
import ArchiveWriter

/// Wires `--compressor` and `--device` into BuildOptions: picks the devices
/// (measuring once per machine for `auto`), then makes one GPU frame
/// compressor per pipeline worker, dealt round-robin over the devices (the
/// workers of a device share its batcher), and a GPU hasher for the dedup
/// survivors.
public enum OpenCLBuildSetup {
    /// Returns `auto`'s decision as a line for the user (which devices and
    /// why, or why the CPU); throws when `gpu` cannot be had.
    public static func configure(_ options: inout BuildOptions, mode: GPUMode, devices list: String?,
                                 onError: @escaping @Sendable (String) -> Void) throws -> String? {
        // The kernels write LZ4X. zstd (asked for, or the default codec)
        // stays on the CPU: `auto` then loads no OpenCL at all, and `gpu`
        // with zstd asked for is a contradiction the user must resolve.
        if options.codec == .zstd && mode == .gpu {
            throw ArchiveError(.usage, "--compressor gpu compresses LZ4X frames only: add --codec lz4x, or leave the GPU out for zstd")
        }
        options.codec = FrameEncoding.codec(asked: options.codec, gpuCompression: mode == .gpu)
        guard options.codec == .lz4x else { return nil }
        // The CPU codec as the build would run it (at its level), one
        // encoder for the whole measurement: its tables are allocated once,
        // as in a pipeline worker, and only if something is measured (most
        // runs find the decision remembered: 4 MiB of tables less to zero).
        let encoderOptions = LZ4XLevel.options(options.encoding.level)
        var encoder: LZ4XEncoder?
        let threads = options.threads
        let sample = GPUCalibrator.defaultSampleFrameSize
        let (devices, note) = try GPUSelection.devices(mode: mode, list: list, for: .compress, sample: "sample \(sample) level \(options.encoding.level)") {
            if encoder == nil { encoder = LZ4XEncoder(options: encoderOptions) }
            return try CompressCalibration.measure($0, encoder: encoder!, threads: threads, sampleFrameSize: sample)
        }
        guard !devices.isEmpty else { return note }
        // Built here, before the pipeline starts, so a kernel that does not
        // compile fails the build up front with its log. Workers share their
        // device's batcher, so one launch carries the frames of many workers.
        let batchers = try devices.map { try GPUFrameBatcher(device: $0) }
        // The kernels encode at the top level; a frame that falls back to the
        // CPU after an OpenCL failure is encoded the same way.
        let compressors = (0..<max(1, options.threads)).map { w in
            GPUFrameCompressor(batcher: batchers[w % batchers.count], cpuOptions: LZ4XLevel.options(LZ4XLevel.top), onError: onError)
        }
        options.makeCompressor = { w in compressors[w % compressors.count] }
        options.hasher = try GPUFileHasher(devices: devices, threads: options.threads, onError: onError)
        return note
    }
}
