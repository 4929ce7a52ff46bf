import Glibc

/// Every failure a person can see. The description says what failed, where
/// (file, volume, frame) and, where there is one, what to do about it.
public struct ArchiveError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case io            // a system call on a volume or file failed
        case format        // bytes on disk are not a valid gpuarc archive
        case corruptFrame  // a frame failed its checksum or did not decode
        case missingVolume
        case usage         // bad arguments or options
        case unsupported
    }
    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
