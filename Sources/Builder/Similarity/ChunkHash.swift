import Archive
import CCrypto

/// The digest exact chunk dedup files chunks under. Two kinds, one per build
/// (`SimilarityStageOptions.digestKind`), never mixed in one chunk table:
///
/// - `.sha256`: SHA-256, which unlike FNV-1a or XXH64 cannot be forged, so
///   an equal digest is proof of equal content where the earlier chunk's
///   bytes are no longer at hand. Builds that keep digests (the builder
///   state of a versioned archive, against which later appends dedup
///   without reading anything back) or that check delta bases against them
///   use it.
/// - `.xxh64`: XXH64 and the length, a candidate only: every duplicate is
///   compared byte for byte before it becomes a reference, and one that
///   cannot be compared is stored. A plain build without deltas needs no
///   more, and SHA-256 was 13% of such a build's CPU on a 313 MiB system
///   tree (1.76 GB/s with SHA-NI on this machine's cores, against memory
///   speed for XXH64).
public struct ChunkDigest: Hashable, Sendable {
    public enum Kind: Sendable {
        case sha256
        case xxh64

        /// Whether an equal digest proves equal bytes.
        public var isProof: Bool { self == .sha256 }
    }

    public let words: (UInt64, UInt64, UInt64, UInt64)

    public init(of bytes: UnsafeRawBufferPointer, kind: Kind = .sha256) {
        switch kind {
        case .xxh64:
            words = (XXHash64.hash(bytes), UInt64(bytes.count), 0, 0)
        case .sha256:
            var md = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            var size: UInt32 = 0
            let ok = withUnsafeMutableBytes(of: &md) { out in
                EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &size, EVP_sha256(), nil)
            }
            precondition(ok == 1 && size == 32, "libcrypto SHA-256 failed")
            // Big-endian words, as SHA-256 writes its digest.
            words = (UInt64(bigEndian: md.0), UInt64(bigEndian: md.1), UInt64(bigEndian: md.2), UInt64(bigEndian: md.3))
        }
    }

    public init(of bytes: [UInt8], kind: Kind = .sha256) {
        self = bytes.withUnsafeBytes { ChunkDigest(of: $0, kind: kind) }
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
