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
        featuresAndSamples(of: bytes).0
    }

    public func features(of bytes: [UInt8]) -> ChunkFeatures {
        bytes.withUnsafeBytes { features(of: $0) }
    }

    /// The sampled hashes of `bytes`. Each stands for the 64 bytes before its
    /// position (the gear hash forgets older bytes), so the samples two byte
    /// ranges share measure how much content they share (`FrameSketch`).
    public func samples(of bytes: UnsafeRawBufferPointer) -> [UInt64] {
        Self.sampledHashes(bytes, mask: sampleMask, expected: bytes.count >> samplingBits + 8)
    }

    /// The features and the samples they were drawn from. A chunk with no
    /// sampled position (short, or highly repetitive) has no samples and is
    /// sampled everywhere instead, so it still gets content-derived features.
    public func featuresAndSamples(of bytes: UnsafeRawBufferPointer) -> (ChunkFeatures, [UInt64]) {
        let sampled = samples(of: bytes)
        if !sampled.isEmpty { return (Self.maxima(of: sampled), sampled) }
        let everywhere = Self.sampledHashes(bytes, mask: 0, expected: bytes.count)
        return (everywhere.isEmpty ? ChunkFeatures(values: Array(repeating: 0, count: ChunkFeatures.count))
                                   : Self.maxima(of: everywhere), [])
    }

    /// The 12 features: the maximum of each transform over the samples.
    private static func maxima(of sampled: [UInt64]) -> ChunkFeatures {
        var maxima = [UInt64](repeating: 0, count: ChunkFeatures.count)
        multipliers.withUnsafeBufferPointer { a in
            offsets.withUnsafeBufferPointer { b in
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
        return ChunkFeatures(values: maxima)
    }

    /// The gear hashes that pass `mask`, in position order.
    ///
    /// One byte at a time, h = (h << 1) + gear[byte] is a chain of dependent
    /// operations, two cycles a byte. Four bytes at a time, the next h is
    /// (h << 4) plus a sum of the four gear values that does not depend on
    /// h, so the chain costs two cycles per four bytes; the three hashes in
    /// between are computed beside it for the mask test. The hashes are
    /// exactly those of the one-byte loop.
    static func sampledHashes(_ bytes: UnsafeRawBufferPointer, mask: UInt64, expected: Int) -> [UInt64] {
        let n = bytes.count
        var out: [UInt64] = []
        guard let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return out }
        out.reserveCapacity(expected)
        SimilarityHashing.featureGear.withUnsafeBufferPointer { table in
            let gear = table.baseAddress!
            var h: UInt64 = 0
            var p = 0
            while p &+ 4 <= n {
                let g0 = gear[Int(src[p])], g1 = gear[Int(src[p &+ 1])]
                let g2 = gear[Int(src[p &+ 2])], g3 = gear[Int(src[p &+ 3])]
                let h1 = (h << 1) &+ g0
                let h2 = (h << 2) &+ ((g0 << 1) &+ g1)
                let h3 = (h << 3) &+ ((g0 << 2) &+ (g1 << 1) &+ g2)
                let h4 = (h << 4) &+ ((g0 << 3) &+ (g1 << 2) &+ (g2 << 1) &+ g3)
                if h1 & mask == 0 { out.append(h1) }
                if h2 & mask == 0 { out.append(h2) }
                if h3 & mask == 0 { out.append(h3) }
                if h4 & mask == 0 { out.append(h4) }
                h = h4
                p &+= 4
            }
            while p < n {
                h = (h << 1) &+ gear[Int(src[p])]
                if h & mask == 0 { out.append(h) }
                p &+= 1
            }
        }
        return out
    }
}
