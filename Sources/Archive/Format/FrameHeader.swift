/// The 40 bytes in front of every frame's payload. The index holds the same
/// facts; the reader checks that both agree, so a shifted or overwritten frame
/// is caught, and a volume can be scanned frame by frame without the index.
///
///     0  4  magic "GFRM"
///     4  1  codec (0 RAW, 1 LZ4X, 2 zstd: `FrameCodec`)
///     5  3  reserved, zero
///     8  4  frame number (u32 LE, archive-wide, from 0)
///    12  4  stored payload size (u32 LE)
///    16  4  decoded size (u32 LE)
///    20  8  XXH64 of the stored payload
///    28  8  XXH64 of the decoded bytes
///    36  4  check: low 32 bits of XXH64 of bytes 0..<36
public struct FrameHeader: Equatable, Sendable {
    public static let size = 40
    public static let magic: [UInt8] = Array("GFRM".utf8)

    public var codec: FrameCodec
    public var number: UInt32
    public var storedSize: UInt32
    public var decodedSize: UInt32
    public var payloadHash: UInt64
    public var decodedHash: UInt64

    public init(codec: FrameCodec, number: UInt32, storedSize: UInt32, decodedSize: UInt32,
                payloadHash: UInt64, decodedHash: UInt64) {
        self.codec = codec
        self.number = number
        self.storedSize = storedSize
        self.decodedSize = decodedSize
        self.payloadHash = payloadHash
        self.decodedHash = decodedHash
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.u8(codec.rawValue)
        w.raw([0, 0, 0])
        w.u32(number)
        w.u32(storedSize)
        w.u32(decodedSize)
        w.u64(payloadHash)
        w.u64(decodedHash)
        w.u32(UInt32(truncatingIfNeeded: XXHash64.hash(w.bytes)))
        return w.bytes
    }

    /// Parses and checks a header; `location` names frame and volume in errors.
    public static func decode(_ bytes: UnsafeRawBufferPointer, location: String) throws -> FrameHeader {
        guard bytes.count >= size else { throw ArchiveError(.corruptFrame, "\(location): frame header is truncated") }
        let head = UnsafeRawBufferPointer(rebasing: bytes[0..<size])
        guard Array(head[0..<4]) == magic else { throw ArchiveError(.corruptFrame, "\(location): frame header has a bad magic") }
        var r = ByteReader(head, at: 4, what: location)
        let codecByte = try r.u8()
        _ = try r.raw(3)
        let number = try r.u32(), stored = try r.u32(), decoded = try r.u32()
        let payloadHash = try r.u64(), decodedHash = try r.u64()
        let check = try r.u32()
        guard check == UInt32(truncatingIfNeeded: XXHash64.hash(UnsafeRawBufferPointer(rebasing: head[0..<36]))) else {
            throw ArchiveError(.corruptFrame, "\(location): frame header is damaged (checksum mismatch)")
        }
        guard let codec = FrameCodec(rawValue: codecByte) else {
            throw ArchiveError(.corruptFrame, "\(location): unknown frame codec \(codecByte)")
        }
        return FrameHeader(codec: codec, number: number, storedSize: stored, decodedSize: decoded,
                           payloadHash: payloadHash, decodedHash: decodedHash)
    }
}
