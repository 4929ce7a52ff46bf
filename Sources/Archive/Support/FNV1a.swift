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
    public static func hash(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { hash($0) } }
}
