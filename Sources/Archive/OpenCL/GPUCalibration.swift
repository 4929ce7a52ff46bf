import Foundation

/// Measured GPU and CPU throughput of one job (compressing or decoding) on
/// one device, which is what `auto` decides by: the GPU is used only where
/// it beat the CPU on this machine.
public struct GPUCalibration: Codable, Sendable, Equatable {
    /// The cache key: device, platform, job, kernels version, build kind.
    public var device: String
    /// Bytes per second (of input when compressing, of output when
    /// decoding), GPU wall time including transfers.
    public var gpu: Double
    /// Bytes per second of all CPU workers together (one thread's rate times
    /// the worker count), since the CPU path works on frames in parallel.
    public var cpu: Double
    public var measured: Date

    public var gpuIsFaster: Bool { gpu > cpu }
}

/// What a calibration measures: the GPU's and the CPU's rates in bytes per second.
public typealias CalibrationRates = (gpu: Double, cpu: Double)

/// Short GPU-versus-CPU timings, cached in ~/.cache/gpuarc/calibration.json
/// (or $XDG_CACHE_HOME/gpuarc, or $GPUARC_CACHE_DIR) keyed by device and job, so each runs once
/// per machine. The timing itself belongs to the side that does the job:
/// the writer times its compressors (it has the encoders), the reader its
/// decoders on the archive it opened (it never links an encoder).
public enum GPUCalibrator {
    /// Compression sample: two 2 MiB frames, large enough that launch
    /// overhead does not dominate, small enough to take well under a second.
    public static let defaultSampleFrameSize = 2 << 20

    /// `GPUARC_CACHE_DIR` moves only gpuarc's files (tests use it: moving
    /// XDG_CACHE_HOME would move PoCL's compiled-kernel cache too, under it).
    public static var cacheFile: URL {
        let env = ProcessInfo.processInfo.environment
        if let own = env["GPUARC_CACHE_DIR"], !own.isEmpty {
            return URL(fileURLWithPath: own).appendingPathComponent("calibration.json")
        }
        let base = env["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("gpuarc/calibration.json")
    }

    /// Bumped whenever the kernels (or the CPU codec they are compared with)
    /// change enough to move the figures, so that figures cached before are
    /// measured again (2: the per-frame compressor and the wide-copy decoder
    /// for CPU drivers; 3: the CPU LZ4X encoder got 1.3-1.5x faster; 4:
    /// compression and decoding measured apart, decoding on the archive's
    /// frames; 5: the CPU codec is compared at the build's level, 5-20x
    /// faster at the low ones, and `auto` leaves CPU devices out).
    static let kernelsVersion = 5

    /// Device, platform, job and kernels version; debug builds keep their
    /// own entries, since their CPU codec is many times slower than a release build's.
    /// `sample` says what was measured (for compression: the sample size
    /// and the CPU codec's level), so figures taken at another level are not reused.
    static func key(_ device: OpenCLDevice, _ work: GPUSelection.Work, _ sample: String = "") -> String {
        let job = sample.isEmpty ? work.rawValue : "\(work.rawValue) \(sample)"
        #if DEBUG
        return "\(device.name) | \(device.platformName) | \(job) | kernels v\(kernelsVersion) | debug build"
        #else
        return "\(device.name) | \(device.platformName) | \(job) | kernels v\(kernelsVersion)"
        #endif
    }

    /// The cached figures of `work` on `device`, calling `measure` and caching
    /// what it finds first if needed; nil when `measure` had nothing to time
    /// (an archive without compressed frames), which is not cached.
    public static func calibration(for device: OpenCLDevice, work: GPUSelection.Work, sample: String = "",
                                   measure: (OpenCLDevice) throws -> CalibrationRates?) throws -> GPUCalibration? {
        let key = key(device, work, sample)
        if let cached = loadAll()[key] { return cached }
        guard let rates = try measure(device) else { return nil }
        let fresh = GPUCalibration(device: key, gpu: rates.gpu, cpu: rates.cpu,
                                   // Whole seconds, as the ISO 8601 cache keeps them.
                                   measured: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        var all = loadAll()
        all[key] = fresh
        store(all)
        return fresh
    }

    /// Deterministic text-like sample (identifiers, keywords, indentation):
    /// the same bytes on every machine, so cached figures compare.
    public static func sample(frameSize: Int) -> [[UInt8]] {
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

    /// Wall seconds `body` takes (never zero, so rates stay finite).
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return max(1e-9, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
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
}
