/// Encodes a chunk against a base chunk, and back.
///
/// The similarity stage only needs these two operations; the archive's
/// LZ4X codec (base as prefix dictionary) implements them for real builds.
/// Encoding with an empty base is plain lossless compression, which is what
/// the false-positive filter compares deltas against.
public protocol DeltaCoder {
    /// `target` encoded against `base`; nil when the coder cannot encode it
    /// (the chunk is then stored literally).
    func encode(target: UnsafeRawBufferPointer, base: [UInt8]) -> [UInt8]?
    /// The target rebuilt from `delta` and `base`; nil for a malformed delta
    /// or one that does not yield exactly `targetLength` bytes.
    func decode(_ delta: [UInt8], base: [UInt8], targetLength: Int) -> [UInt8]?
}
