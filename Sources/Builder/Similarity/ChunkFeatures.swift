/// The 12 resemblance features of a chunk (N-transform / Odess style).
///
/// A gear hash rolls over the chunk; only positions whose hash has its top
/// `samplingBits` bits clear are sampled (content-defined sampling, 1 in
/// 2^samplingBits positions), which makes extraction cheap. Each sampled hash
/// goes through 12 linear transforms a_i*h + b_i (mod 2^64) and the chunk
/// keeps the maximum of each. Two chunks that share most of their content
/// share most of their maxima, so a few byte edits change only a few features.
public struct ChunkFeatures: Hashable, Sendable {
    public static let count = 12
    public let values: [UInt64]

    public init(values: [UInt64]) {
        precondition(values.count == Self.count, "a chunk has exactly \(Self.count) features")
        self.values = values
    }
}

public struct ChunkFeatureExtractor: Sendable {
    public let samplingBits: Int
    private let sampleMask: UInt64

    /// Odd multipliers keep each transform a bijection of the hash.
    private static let multipliers = SimilarityHashing.sequence(seed: 0x6F64_6573_735F_6D75, count: ChunkFeatures.count).map { $0 | 1 }
    private static let offsets = SimilarityHashing.sequence(seed: 0x6F64_6573_735F_6164, count: ChunkFeatures.count)

    /// 1 in 2^samplingBits positions is sampled; the default 1/64 leaves about
    /// 128 samples in an 8 KiB chunk and 32 in a 2 KiB minimum-size one.
    public init(samplingBits: Int = 6) {
        precondition((0...32).contains(samplingBits), "sampling bits must be 0...32")
        self.samplingBits = samplingBits
        sampleMask = SimilarityHashing.highMask(bits: samplingBits)
    }

    public func features(of bytes: UnsafeRawBufferPointer) -> ChunkFeatures {
        // A chunk with no sampled position (short, or highly repetitive) is
        // sampled everywhere instead, so it still gets content-derived features.
        var none: [UInt64]? = nil
        return extract(bytes, mask: sampleMask, samples: &none) ?? extract(bytes, mask: 0, samples: &none)
            ?? ChunkFeatures(values: Array(repeating: 0, count: ChunkFeatures.count))
    }

    public func features(of bytes: [UInt8]) -> ChunkFeatures {
        bytes.withUnsafeBytes { features(of: $0) }
    }

    /// The features and the sampled hashes they were drawn from. Each sample
    /// stands for the 64 bytes before its position (the gear hash forgets
    /// older bytes), so the samples two byte ranges share measure how much
    /// content they share (`FrameSketch`). No samples for a chunk without a
    /// sampled position.
    public func featuresAndSamples(of bytes: UnsafeRawBufferPointer) -> (ChunkFeatures, [UInt64]) {
        var samples: [UInt64]? = []
        samples!.reserveCapacity(bytes.count >> samplingBits + 8)
        if let features = extract(bytes, mask: sampleMask, samples: &samples) { return (features, samples ?? []) }
        return (features(of: bytes), [])
    }

    /// Features over the positions whose hash passes `mask`; the sampled
    /// hashes go to `samples` when it is not nil.
    private func extract(_ bytes: UnsafeRawBufferPointer, mask: UInt64, samples: inout [UInt64]?) -> ChunkFeatures? {
        var maxima = [UInt64](repeating: 0, count: ChunkFeatures.count)
        var sampled = false
        Self.multipliers.withUnsafeBufferPointer { a in
            Self.offsets.withUnsafeBufferPointer { b in
                SimilarityHashing.featureGear.withUnsafeBufferPointer { gear in
                    maxima.withUnsafeMutableBufferPointer { m in
                        var h: UInt64 = 0
                        for byte in bytes {
                            h = (h << 1) &+ gear[Int(byte)]
                            guard h & mask == 0 else { continue }
                            sampled = true
                            samples?.append(h)
                            for i in 0..<ChunkFeatures.count {
                                let t = a[i] &* h &+ b[i]
                                if t > m[i] { m[i] = t }
                            }
                        }
                    }
                }
            }
        }
        return sampled ? ChunkFeatures(values: maxima) : nil
    }
}
