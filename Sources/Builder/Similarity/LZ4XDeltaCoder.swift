import Archive
import ArchiveWriter

/// Delta coding with the archive's own codec: the target is LZ4X-compressed
/// with the base as prefix dictionary (matches reach back into the base), so
/// the reader decodes a delta chunk with the LZ4X decoder it already has.
/// With an empty base it is plain LZ4X, the lossless reference of the filter.
public final class LZ4XDeltaCoder: DeltaCoder {
    /// Reused between chunks: an encoder owns large hash tables. Not thread-safe.
    private let encoder: LZ4XEncoder
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    public var kind: ChunkKind { .delta }

    public init(options: LZ4XEncoderOptions = .default) {
        encoder = LZ4XEncoder(options: options)
    }

    public func encode(target: UnsafeRawBufferPointer, base: [UInt8]) -> [UInt8]? {
        input.removeAll(keepingCapacity: true)
        input.append(contentsOf: base)
        input.append(contentsOf: target.assumingMemoryBound(to: UInt8.self))
        // Output no larger than the target: a delta that does not shrink is useless.
        if output.count < target.count + 1 { output = [UInt8](repeating: 0, count: LZ4X.compressBound(target.count)) }
        let n = input.withUnsafeBytes { all in
            output.withUnsafeMutableBytes { out in
                encoder.compress(all, prefixLength: base.count, into: UnsafeMutableRawBufferPointer(rebasing: out[..<target.count]))
            }
        }
        return n.map { Array(output[..<$0]) }
    }
}
