/// How a frame's payload is stored.
public enum FrameCodec: UInt8, Sendable {
    case raw = 0    // payload is the decoded bytes (the frame did not shrink)
    case lz4x = 1   // payload is one LZ4X block
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
