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
        let sampled = Self.sampledHashes(bytes, mask: mask, expected: bytes.count >> samplingBits + 8)
        guard !sampled.isEmpty else { return nil }
        var maxima = [UInt64](repeating: 0, count: ChunkFeatures.count)
        Self.multipliers.withUnsafeBufferPointer { a in
            Self.offsets.withUnsafeBufferPointer { b in
                maxima.withUnsafeMutableBufferPointer { m in
                    for h in sampled {
                        for i in 0..<ChunkFeatures.count {
                            let t = a[i] &* h &+ b[i]
                            if t > m[i] { m[i] = t }
                        }
                    }
                }
            }
        }
        if samples != nil { samples = sampled }
        return ChunkFeatures(values: maxima)
    }

    /// The gear hashes that pass `mask`, in position order.
    ///
    /// The hash at a position depends on the 64 bytes up to it only (each
    /// step shifts older bytes one bit further out), so a chunk is hashed as
    /// four quarters side by side, each lane started 64 bytes before its
    /// quarter: four independent dependency chains instead of one run about
    /// 2.5x as fast, with exactly the hashes of one pass.
    static func sampledHashes(_ bytes: UnsafeRawBufferPointer, mask: UInt64, expected: Int) -> [UInt64] {
        let n = bytes.count
        var out: [UInt64] = []
        guard let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return out }
        out.reserveCapacity(expected)
        SimilarityHashing.featureGear.withUnsafeBufferPointer { gearTable in
            let gear = gearTable.baseAddress!
            @inline(__always) func step(_ h: UInt64, _ p: Int) -> UInt64 { (h << 1) &+ gear[Int(src[p])] }
            let quarter = n / 4
            guard quarter >= Self.laneMinimum else {
                var h: UInt64 = 0
                for p in 0..<n {
                    h = step(h, p)
                    if h & mask == 0 { out.append(h) }
                }
                return
            }
            let s1 = quarter, s2 = 2 * quarter, s3 = 3 * quarter
            var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0, h3: UInt64 = 0
            for p in (s1 - 64)..<s1 {
                h1 = step(h1, p)
                h2 = step(h2, p + quarter)
                h3 = step(h3, p + 2 * quarter)
            }
            var lanes: ([UInt64], [UInt64], [UInt64]) = ([], [], [])
            for p in 0..<quarter {
                h0 = step(h0, p)
                h1 = step(h1, p + s1)
                h2 = step(h2, p + s2)
                h3 = step(h3, p + s3)
                if h0 & mask == 0 { out.append(h0) }
                if h1 & mask == 0 { lanes.0.append(h1) }
                if h2 & mask == 0 { lanes.1.append(h2) }
                if h3 & mask == 0 { lanes.2.append(h3) }
            }
            for p in (s3 + quarter)..<n {
                h3 = step(h3, p)
                if h3 & mask == 0 { lanes.2.append(h3) }
            }
            out += lanes.0
            out += lanes.1
            out += lanes.2
        }
        return out
    }

    /// Below this many bytes a quarter, one lane (the warm-up would cost more than it saves).
    static let laneMinimum = 256
}
