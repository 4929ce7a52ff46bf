import XCTest
@testable import Archive
@testable import ArchiveWriter

/// Shared device and codec objects: building the kernels is the slow part
/// on PoCL, so every test reuses the same ones.
struct OpenCLTestSetupError: Error, CustomStringConvertible { let description: String }

enum OpenCLTestSupport {
    nonisolated(unsafe) static var compressors: [GPULZ4XCompressor]?
    nonisolated(unsafe) static var decoders: [GPULZ4XDecoder]?
    nonisolated(unsafe) static var hasher: GPUFNVHasher?

    /// The first device, or a skip naming why when there is no OpenCL
    /// platform at all (the only reason a test here may skip).
    static func device() throws -> OpenCLDevice {
        do {
            guard let device = try OpenCLRuntime.shared().devices.first else { throw OpenCLError.noDevice("none listed") }
            return device
        } catch OpenCLError.noPlatform {
            // `make deps` installs PoCL: without a platform these tests cannot
            // do their job, which is a failure, not a reason to pass.
            throw OpenCLTestSetupError(description: "no OpenCL platform installed: run `make deps` (PoCL)")
        }
    }

    /// Both variants of the compressor, forced: one work-item per frame
    /// (what CPU drivers get) and the fine-grained passes (what GPUs get),
    /// so CI on PoCL tests the GPU variant too.
    static func sharedCompressors() throws -> [GPULZ4XCompressor] {
        if let compressors { return compressors }
        let made = try GPULZ4XCompressor.Variant.allCases.map { try GPULZ4XCompressor(device: try device(), variant: $0) }
        compressors = made
        return made
    }

    static func sharedCompressor(_ variant: GPULZ4XCompressor.Variant) throws -> GPULZ4XCompressor {
        try sharedCompressors().first { $0.variant == variant }!
    }

    /// Both variants of the decode kernel: one lane per frame (what CPU
    /// drivers get) and a cooperating work-group (what GPUs get), so CI on
    /// PoCL tests the GPU variant too.
    static func sharedDecoders() throws -> [GPULZ4XDecoder] {
        if let decoders { return decoders }
        let made = [try GPULZ4XDecoder(device: try device(), workGroup: 1),
                    try GPULZ4XDecoder(device: try device(), workGroup: 64)]
        decoders = made
        return made
    }

    static func sharedHasher() throws -> GPUFNVHasher {
        if let hasher { return hasher }
        let made = try GPUFNVHasher(devices: try OpenCLRuntime.shared().devices, batchBytes: 1 << 16)
        hasher = made
        return made
    }
}

/// The CPU codec with array signatures, for comparing against the kernels.
enum CPUCodec {
    static func compress(_ frame: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: LZ4X.compressBound(frame.count))
        let n = frame.withUnsafeBytes { input in out.withUnsafeMutableBytes { LZ4XEncoder().compress(input, into: $0) } }
        return Array(out.prefix(n!))
    }

    static func decode(_ block: [UInt8], decodedSize: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: decodedSize)
        try block.withUnsafeBytes { input in try out.withUnsafeMutableBytes { try LZ4XDecoder.decode(input, into: $0) } }
        return out
    }
}

/// Deterministic test data, so a failure reproduces.
struct TestData {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }

    /// Eight bytes per step: debug builds are slow per element, and the big
    /// cases need 16 MiB of it.
    mutating func random(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { bytes in
            var i = 0
            while i + 8 <= n { bytes.storeBytes(of: next(), toByteOffset: i, as: UInt64.self); i += 8 }
            while i < n { bytes[i] = UInt8(truncatingIfNeeded: next()); i += 1 }
        }
        return out
    }

    /// Text-like data: words from a small vocabulary, so matches abound at
    /// many distances, like the source trees gpuarc archives.
    mutating func text(_ n: Int) -> [UInt8] {
        let words = ["func", "let", "var", "return", "struct", "{", "}", "(", ")", "self", "index", "count",
                     "buffer", "frame", "device", "queue", "\n    ", "// ", "if", "else", "for", "in", "0", "1", "=", "+"]
        var out: [UInt8] = []
        out.reserveCapacity(n + 16)
        while out.count < n {
            out.append(contentsOf: Array(words[Int(next() % UInt64(words.count))].utf8))
            out.append(next() % 3 == 0 ? 10 : 32)
        }
        return Array(out.prefix(n))
    }
}

/// The codec edge cases: sizes around the end-of-block limits and the
/// three kinds of content.
func edgeCaseFrames() -> [[UInt8]] {
    var data = TestData(seed: 1)
    var frames: [[UInt8]] = [[], [7]]
    for n in [4, 5, 11, 12, 13, 14, 17, 64] {
        frames.append(data.random(n))
        frames.append([UInt8](repeating: 0x41, count: n))
    }
    frames.append(data.random(100_000))
    frames.append([UInt8](repeating: 0, count: 70_000))
    frames.append(Array(repeating: Array("abcabcabd".utf8), count: 4000).flatMap { $0 })
    frames.append(data.text(200_000))
    frames.append(data.text(1 << 14))            // exactly one sub-block
    frames.append(data.text((1 << 17) + 13))     // just past one chain segment
    return frames
}
