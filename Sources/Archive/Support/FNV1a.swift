/// FNV-1a 64: the whole-file dedup hash of the original tool (and of the GPU
/// kernel). It is a candidate filter only: it is trivially forgeable, so every
/// match it reports is confirmed byte for byte before a file becomes a reference.
public enum FNV1a64 {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    @inlinable
    public static func update(_ state: UInt64, _ buffer: UnsafeRawBufferPointer) -> UInt64 {
        var h = state
        for byte in buffer { h = (h ^ UInt64(byte)) &* prime }
        return h
    }

    public static func hash(_ buffer: UnsafeRawBufferPointer) -> UInt64 { update(offsetBasis, buffer) }

    /// The hashes of four buffers, computed side by side. One FNV-1a stream is
    /// a chain of dependent xor-multiply steps, so it runs at the multiplier's
    /// latency (about 4 cycles a byte); four independent chains keep the
    /// multiplier busy and hash about three times as many bytes per second.
    /// Same results as `hash` on each buffer.
    public static func hash4(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer,
                             _ c: UnsafeRawBufferPointer, _ d: UnsafeRawBufferPointer) -> (UInt64, UInt64, UInt64, UInt64) {
        let common = min(a.count, b.count, c.count, d.count)
        var (h0, h1, h2, h3) = (offsetBasis, offsetBasis, offsetBasis, offsetBasis)
        if common > 0 {
            let p0 = a.baseAddress!.assumingMemoryBound(to: UInt8.self), p1 = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let p2 = c.baseAddress!.assumingMemoryBound(to: UInt8.self), p3 = d.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for i in 0..<common {
                h0 = (h0 ^ UInt64(p0[i])) &* prime
                h1 = (h1 ^ UInt64(p1[i])) &* prime
                h2 = (h2 ^ UInt64(p2[i])) &* prime
                h3 = (h3 ^ UInt64(p3[i])) &* prime
            }
        }
        return (update(h0, UnsafeRawBufferPointer(rebasing: a[common...])), update(h1, UnsafeRawBufferPointer(rebasing: b[common...])),
                update(h2, UnsafeRawBufferPointer(rebasing: c[common...])), update(h3, UnsafeRawBufferPointer(rebasing: d[common...])))
    }
    public static func hash(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { hash($0) } }
}
