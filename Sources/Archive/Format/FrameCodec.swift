/// How a frame's payload is stored: the codec byte of the frame header and
/// the frame table. Only the codec seam (`FrameDecoders`) interprets the
/// payload of each; everything else passes the value along.
public enum FrameCodec: UInt8, Sendable, CaseIterable {
    case raw = 0    // payload is the decoded bytes (the frame did not shrink)
    case lz4x = 1   // payload is one LZ4X block
    case zstd = 2   // payload is one zstd frame (RFC 8878) with its content size, no dictionary

    /// The name `--codec` and the build summary use.
    public var name: String {
        switch self {
        case .raw: return "raw"
        case .lz4x: return "lz4x"
        case .zstd: return "zstd"
        }
    }
}

/// Limits every reader enforces, whatever an index claims.
public enum FormatLimits {
    /// Largest decoded frame (frames default to 16 MiB; offsets reach 2^24-1 back).
    public static let maxFrameSize = 256 << 20
    public static let minFrameSize = 1 << 10
    public static let defaultFrameSize = 16 << 20
    public static let defaultVolumeSize = 1 << 30
    /// A chunk's decoded length is bounded so a hostile delta cannot ask for gigabytes.
    public static let maxChunkLength = maxFrameSize
    /// Largest extended attribute value (Linux's XATTR_SIZE_MAX).
    public static let maxXattrValue = 65536
}
