import Archive

/// Encodes a chunk against a base chunk, and back.
///
/// The similarity stage only needs these two operations; the archive's
/// codecs implement them for real builds, with the base as prefix (LZ4X's
/// prefix dictionary, zstd's reference prefix). Encoding with an empty base
/// is plain lossless compression, which is what the false-positive filter
/// compares deltas against.
public protocol DeltaCoder {
    /// How the index records a chunk this coder encoded.
    var kind: ChunkKind { get }
    /// `target` encoded against `base`; nil when the coder cannot encode it
    /// (the chunk is then stored literally).
    func encode(target: UnsafeRawBufferPointer, base: [UInt8]) -> [UInt8]?
    /// The target rebuilt from `delta` and `base`; nil for a malformed delta
    /// or one that does not yield exactly `targetLength` bytes.
    func decode(_ delta: [UInt8], base: [UInt8], targetLength: Int) -> [UInt8]?
}

extension DeltaCoder {
    /// The reader's own decoding, through the codec seam: what a delta
    /// this coder wrote decodes to when it is read back.
    public func decode(_ delta: [UInt8], base: [UInt8], targetLength: Int) -> [UInt8]? {
        guard let decoder = FrameDecoders().decoder(for: kind) else { return nil }
        var out = base + [UInt8](repeating: 0, count: targetLength)
        do {
            try delta.withUnsafeBytes { src in
                try out.withUnsafeMutableBytes { try decoder.decodeDelta(src, into: $0, prefixLength: base.count) }
            }
        } catch {
            return nil
        }
        return Array(out[base.count...])
    }
}

/// The delta coders of a build, in the codec of its frames: LZ4X frames
/// take LZ4X deltas (what a reader of LZ4X decodes anyway), zstd frames
/// zstd deltas.
enum DeltaCoders {
    static func coder(for codec: FrameCodec) -> DeltaCoder {
        codec == .zstd ? ZstdDeltaCoder() : LZ4XDeltaCoder(options: ContentPacker.deltaEncoder)
    }

    /// The filter's lossless reference: the same codec on the chunk alone
    /// (zstd at the delta level, so like is compared with like; LZ4X with
    /// a fast search, as the reference is an average anyway).
    static func estimator(for codec: FrameCodec) -> DeltaCoder {
        codec == .zstd ? ZstdDeltaCoder() : LZ4XDeltaCoder(options: ContentPacker.estimateEncoder)
    }
}
