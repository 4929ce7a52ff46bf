/// The 32 bytes at the start of every volume. They tie a volume to its archive
/// (random archive id, also in the index) and to its place in the sequence, so a
/// swapped, renamed or foreign volume is caught before any of its bytes are used.
///
///     0   8  magic "GPUARCV1"
///     8  16  archive id
///    24   4  volume number, 1-based (u32 LE)
///    28   4  check: low 32 bits of XXH64 of bytes 0..<28 (u32 LE)
public struct VolumeHeader: Equatable, Sendable {
    public static let size = 32
    public static let magic: [UInt8] = Array("GPUARCV1".utf8)

    public var archiveID: [UInt8]
    public var number: UInt32

    public init(archiveID: [UInt8], number: UInt32) {
        self.archiveID = archiveID
        self.number = number
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.raw(archiveID)
        w.u32(number)
        let check = UInt32(truncatingIfNeeded: XXHash64.hash(w.bytes))
        w.u32(check)
        return w.bytes
    }

    /// Parses and checks a header; `volume` names the file in the error.
    public static func decode(_ bytes: UnsafeRawBufferPointer, volume: String) throws -> VolumeHeader {
        guard bytes.count >= size else {
            throw ArchiveError(.format, "\(volume) is too short to be a gpuarc volume (\(bytes.count) bytes)")
        }
        guard Array(bytes[0..<8]) == magic else {
            throw ArchiveError(.format, "\(volume) is not a gpuarc volume (bad magic)")
        }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<size]), at: 8, what: volume)
        let id = try r.raw(16)
        let number = try r.u32()
        let check = try r.u32()
        guard check == UInt32(truncatingIfNeeded: XXHash64.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))) else {
            throw ArchiveError(.format, "\(volume): volume header is damaged (checksum mismatch)")
        }
        return VolumeHeader(archiveID: id, number: number)
    }
}
