import CCrypto

/// SHA-256 of a chunk, the strong hash of exact chunk dedup. Unlike the
/// FNV-1a used to group whole files, it cannot be forged, so where the
/// earlier chunk's bytes are no longer at hand an equal digest is accepted as
/// proof of equal content.
public struct ChunkDigest: Hashable, Sendable {
    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(of bytes: UnsafeRawBufferPointer) {
        var md = [UInt8](repeating: 0, count: 32)
        var size: UInt32 = 0
        let ok = md.withUnsafeMutableBufferPointer { out in
            EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &size, EVP_sha256(), nil)
        }
        precondition(ok == 1 && size == 32, "libcrypto SHA-256 failed")
        func word(_ i: Int) -> UInt64 {
            md[(i * 8)..<(i * 8 + 8)].reduce(0) { $0 << 8 | UInt64($1) }
        }
        words = (word(0), word(1), word(2), word(3))
    }

    public init(of bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { ChunkDigest(of: $0) }
    }

    /// The digest's 32 bytes, big-endian as SHA-256 defines them.
    public var bytes: [UInt8] {
        [words.0, words.1, words.2, words.3].flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (56 - 8 * UInt64($0))) } }
    }

    public static func == (a: ChunkDigest, b: ChunkDigest) -> Bool {
        a.words == b.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }
}
