/// Deterministic pseudo-random constants for the similarity stage.
///
/// Chunk boundaries and features must be identical on every run and machine
/// (an archive built twice must come out the same), so every table is derived
/// from fixed seeds with a SplitMix-style generator instead of a system RNG.
enum SimilarityHashing {
    /// Scrambles a 64-bit value so that every input bit affects every output bit.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` well-mixed 64-bit values derived from `seed`.
    static func sequence(seed: UInt64, count: Int) -> [UInt64] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            return mix(state)
        }
    }

    /// Gear table for the chunker's rolling hash.
    static let chunkingGear = sequence(seed: 0x6770_7561_7263_6364, count: 256)

    /// A second, independent gear table for feature sampling: with the
    /// chunker's table, sampled positions would cluster at chunk ends, where
    /// the chunker's own hash condition holds.
    static let featureGear = sequence(seed: 0x6770_7561_7266_6561, count: 256)

    /// Mask with the `bits` highest bits set. A gear hash's high bits depend
    /// on the most bytes (bit k covers the last k+1 bytes), so conditions on
    /// them are decided by a full window of content.
    static func highMask(bits: Int) -> UInt64 {
        bits <= 0 ? 0 : ~UInt64(0) << UInt64(64 - min(bits, 64))
    }
}
