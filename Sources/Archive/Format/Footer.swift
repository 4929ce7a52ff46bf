/// The last 24 bytes of the last volume: where the zlib-compressed index is.
///
///     0  8  index offset from the start of the last volume (u64 LE)
///     8  8  compressed index size (u64 LE)
///    16  8  ASCII "GPU_IDX1"
public struct Footer: Equatable, Sendable {
    public static let size = 24
    public static let magic: [UInt8] = Array("GPU_IDX1".utf8)

    public var indexOffset: UInt64
    public var indexSize: UInt64

    public init(indexOffset: UInt64, indexSize: UInt64) {
        self.indexOffset = indexOffset
        self.indexSize = indexSize
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u64(indexOffset)
        w.u64(indexSize)
        w.raw(Self.magic)
        return w.bytes
    }

    /// `fileSize` is the last volume's size: the footer must describe an index
    /// that ends exactly where the footer starts.
    public static func decode(_ bytes: UnsafeRawBufferPointer, fileSize: UInt64, volume: String) throws -> Footer {
        guard bytes.count == size else { throw ArchiveError(.format, "\(volume) is too short to hold an index footer") }
        guard Array(bytes[16..<24]) == magic else {
            throw ArchiveError(.format, "\(volume) has no gpuarc index footer (GPU_IDX1): it is not the last volume, or the archive was not finished (the build was interrupted or a later volume is missing)")
        }
        var r = ByteReader(bytes, what: "\(volume) footer")
        let footer = Footer(indexOffset: try r.u64(), indexSize: try r.u64())
        let (end, overflow) = footer.indexOffset.addingReportingOverflow(footer.indexSize)
        // Subtract from the file size rather than add to `end`: an end near
        // UInt64.max made `end + 24` trap (found by fuzzing).
        guard !overflow, footer.indexOffset >= UInt64(VolumeHeader.size), fileSize >= UInt64(size),
              end == fileSize - UInt64(size) else {
            throw ArchiveError(.format, "\(volume): index footer is damaged (index at \(footer.indexOffset), \(footer.indexSize) bytes, in a file of \(fileSize) bytes)")
        }
        return footer
    }
}
