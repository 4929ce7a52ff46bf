import Foundation

/// Measured GPU and CPU throughput on one device, which is what `auto`
/// decides by: the GPU is used only where it beat the CPU on this machine.
public struct GPUCalibration: Codable, Sendable, Equatable {
    public var device: String
    /// Bytes of input per second, GPU wall time including transfers.
    public var gpuCompress: Double
    public var gpuDecode: Double
    /// Bytes per second of all CPU workers together (one thread's rate times
    /// the worker count), since the CPU path compresses frames in parallel.
    public var cpuCompress: Double
    public var cpuDecode: Double
    public var measured: Date

    public var gpuCompressesFaster: Bool { gpuCompress > cpuCompress }
    public var gpuDecodesFaster: Bool { gpuDecode > cpuDecode }
}

/// The CPU codec as the calibration sees it; the archive passes its own.
public struct CPUCodecForCalibration {
    public var compress: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int?
    public var decode: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws -> Void
    public var threads: Int

    public init(threads: Int,
                compress: @escaping (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int?,
                decode: @escaping (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws -> Void) {
        self.threads = max(1, threads)
        self.compress = compress
        self.decode = decode
    }
}

/// Short GPU-versus-CPU timing, cached in ~/.cache/gpuarc/calibration.json
/// (or $XDG_CACHE_HOME/gpuarc) keyed by device, so it runs once per machine.
public enum GPUCalibrator {
    /// Sample size: two 2 MiB frames, large enough that launch overhead
    /// does not dominate, small enough to take well under a second.
    public static let defaultSampleFrameSize = 2 << 20

    public static var cacheFile: URL {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("gpuarc/calibration.json")
    }

    /// Bumped whenever the kernels (or the CPU codec they are compared with)
    /// change enough to move the figures, so that figures cached before are
    /// measured again (2: the per-frame compressor and the wide-copy decoder
    /// for CPU drivers; 3: the CPU LZ4X encoder got 1.3-1.5x faster; 4: the
    /// CPU codec is compared at the build's level, 5-20x faster at the low
    /// ones, and `auto` leaves CPU devices out).
    static let kernelsVersion = 4

    /// Device, platform and kernels version; debug builds keep their own
    /// entries, since their CPU codec is many times slower than a release build's.
    static func key(_ device: OpenCLDevice) -> String {
        #if DEBUG
        return "\(device.name) | \(device.platformName) | kernels v\(kernelsVersion) | debug build"
        #else
        return "\(device.name) | \(device.platformName) | kernels v\(kernelsVersion)"
        #endif
    }

    /// The cached figures for `device`, measuring and caching them first if needed.
    public static func calibration(for device: OpenCLDevice, cpu: CPUCodecForCalibration,
                                   sampleFrameSize: Int = defaultSampleFrameSize) throws -> GPUCalibration {
        if let cached = loadAll()[key(device)] { return cached }
        let fresh = try measure(device, cpu: cpu, sampleFrameSize: sampleFrameSize)
        var all = loadAll()
        all[key(device)] = fresh
        store(all)
        return fresh
    }

    public static func measure(_ device: OpenCLDevice, cpu: CPUCodecForCalibration,
                               sampleFrameSize: Int = defaultSampleFrameSize) throws -> GPUCalibration {
        let frames = sample(frameSize: sampleFrameSize)
        let bytes = Double(frames.reduce(0) { $0 + $1.count })
        let compressor = try GPULZ4XCompressor(device: device)
        let decoder = try GPULZ4XDecoder(device: device)
        let blocks = allocateOutputs(frames.map { GPULZ4XCompressor.outputBound($0.count) })
        let cpuBlocks = allocateOutputs(frames.map { GPULZ4XCompressor.outputBound($0.count) })
        let decoded = allocateOutputs(frames.map(\.count))
        defer { (blocks + cpuBlocks + decoded).forEach { $0.deallocate() } }

        return try withRawPointers(frames) { inputs in
            _ = try compressor.compress(inputs, into: blocks)   // builds the kernels, not timed
            var sizes: [Int?] = []
            let gpuCompress = try seconds { sizes = try compressor.compress(inputs, into: blocks) }
            let packed = zip(blocks, sizes).map { UnsafeRawBufferPointer(rebasing: $0[..<($1 ?? 0)]) }
            _ = try decoder.decode(packed, into: decoded)
            let gpuDecode = try seconds { _ = try decoder.decode(packed, into: decoded) }
            let cpuCompress = seconds { for (i, o) in zip(inputs, cpuBlocks) { _ = cpu.compress(i, o) } }
            let cpuDecode = try seconds { for (b, o) in zip(packed, decoded) { try cpu.decode(b, o) } }
            let threads = Double(cpu.threads)
            return GPUCalibration(device: key(device), gpuCompress: bytes / gpuCompress, gpuDecode: bytes / gpuDecode,
                                  cpuCompress: bytes / cpuCompress * threads, cpuDecode: bytes / cpuDecode * threads,
                                  // Whole seconds, as the ISO 8601 cache keeps them.
                                  measured: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        }
    }

    /// Deterministic text-like sample (identifiers, keywords, indentation):
    /// the same bytes on every machine, so cached figures compare.
    static func sample(frameSize: Int) -> [[UInt8]] {
        let words = ["public", "func", "return", "let", "var", "if", "else", "for", "in", "struct", "class",
                     "self", "count", "buffer", "index", "offset", "frame", "(", ")", "{", "}", "=", "+", "0",
                     "1", "//", "the", "a", "of", "to", "\n", "\n    ", "\n        "]
        var rng = XorShift64(state: 0x2545F4914F6CDD1D)
        return (0..<2).map { _ in
            var frame: [UInt8] = []
            frame.reserveCapacity(frameSize + 16)
            while frame.count < frameSize {
                frame += Array(words[Int(rng.next() % UInt64(words.count))].utf8)
                frame.append(32)
            }
            return Array(frame.prefix(frameSize))
        }
    }

    static func loadAll() -> [String: GPUCalibration] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let data = try? Data(contentsOf: cacheFile),
              let all = try? decoder.decode([String: GPUCalibration].self, from: data) else { return [:] }
        return all
    }

    /// Best effort: a read-only home only means measuring again next time.
    static func store(_ all: [String: GPUCalibration]) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(all) else { return }
        try? FileManager.default.createDirectory(at: cacheFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? data.write(to: cacheFile, options: .atomic)
    }

    private static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return max(1e-9, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
