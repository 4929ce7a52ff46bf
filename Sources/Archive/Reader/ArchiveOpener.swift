import Glibc

/// Finds an archive's last volume, reads its footer and index, and checks every
/// volume against the index. Nothing is served until the index has passed; a
/// volume that fails its checks is recorded in VolumeSet.problems and only the
/// files stored in it become unreadable.
enum ArchiveOpener {
    static func open(path: BytePath) throws -> (index: ArchiveIndex, volumes: VolumeSet) {
        let base = VolumeNaming.base(of: path)
        let numbers = VolumeNaming.existingVolumeNumbers(base: base)
        guard let last = numbers.last else {
            throw ArchiveError(.missingVolume, "no archive volumes found at \(VolumeNaming.path(base: base, number: 1)) (expected files named \(base).001, \(base).002, ...)")
        }
        // A gap before the last volume is not fatal: VolumeSet records the
        // missing volume and the files in the others stay readable.
        let lastPath = VolumeNaming.path(base: base, number: last)
        let fd = try VolumeSet.openVolume(lastPath)
        var handedOver = false
        defer { if !handedOver { close(fd) } }

        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ArchiveError(.io, "cannot stat \(lastPath): \(posixErrorText(errno))") }
        let fileSize = UInt64(st.st_size)
        guard fileSize >= UInt64(VolumeHeader.size + Footer.size) else {
            throw ArchiveError(.format, "\(lastPath) is too short (\(fileSize) bytes) to be the last volume of a gpuarc archive")
        }
        var footerBytes = [UInt8](repeating: 0, count: Footer.size)
        _ = try footerBytes.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, Footer.size, fileSize - UInt64(Footer.size)) }
        let footer = try footerBytes.withUnsafeBytes { try Footer.decode($0, fileSize: fileSize, volume: lastPath.description) }
        guard footer.indexSize <= UInt64(Int32.max) else {
            throw ArchiveError(.format, "\(lastPath): the footer claims an index of \(footer.indexSize) bytes, which is not plausible")
        }
        var compressed = [UInt8](repeating: 0, count: Int(footer.indexSize))
        let got = try compressed.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, Int(footer.indexSize), footer.indexOffset) }
        guard got == Int(footer.indexSize) else { throw ArchiveError(.format, "\(lastPath): the index is truncated") }
        let index = try compressed.withUnsafeBytes { try IndexCodec.decodeCompressed($0, what: "the index in \(lastPath)") }

        guard index.volumeSizes.count == last else {
            if index.volumeSizes.count > last {
                throw ArchiveError(.missingVolume, "the index in \(lastPath) lists \(index.volumeSizes.count) volumes but only \(last) exist")
            }
            throw ArchiveError(.format, "\(lastPath) holds the index of a \(index.volumeSizes.count)-volume archive: it is out of place, or volumes from another archive are mixed in")
        }
        guard index.volumeSizes[last - 1] == footer.indexOffset else {
            throw ArchiveError(.format, "\(lastPath): the index says it starts at \(index.volumeSizes[last - 1]) but the footer says \(footer.indexOffset)")
        }
        let volumes = try VolumeSet(base: base, index: index, lastFD: fd)
        handedOver = true
        return (index, volumes)
    }
}
