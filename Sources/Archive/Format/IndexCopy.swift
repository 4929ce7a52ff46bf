/// `OUT.idx`, the index copy (docs/FORMAT.md): a volume header numbered 0,
/// every index segment of the archive back to back, oldest first, as the
/// volumes hold them, and a footer pointing at the newest. Made by the
/// builder (a build's one segment, or an append's all) and by repair, read
/// by `ArchiveOpener.readCopy`.
public enum IndexCopy {
    /// The whole file for `segments` (compressed, oldest first; not empty).
    public static func encoded(archiveID: [UInt8], segments: [[UInt8]]) -> [UInt8] {
        var bytes = VolumeHeader(archiveID: archiveID, number: 0).encoded()
        for segment in segments.dropLast() { bytes += segment }
        let newest = segments.last ?? []
        let offset = UInt64(bytes.count)
        bytes += newest
        bytes += Footer(indexOffset: offset, indexSize: UInt64(newest.count)).encoded()
        return bytes
    }
}
