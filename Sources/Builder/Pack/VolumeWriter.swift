import Archive
import Foundation
import Glibc

/// Writes frames to OUT.001, OUT.002, ... (each at most `volumeSize`; a frame
/// never straddles two volumes), then the index and footer into the last one.
///
/// Volumes are written under temporary names and renamed only once the footer
/// is on disk, so an interrupted or failed build never leaves something that
/// looks like a complete archive; `abort` removes the temporaries.
final class VolumeWriter {
    let base: String
    let volumeSize: UInt64
    let archiveID: [UInt8]
    private(set) var sizes: [UInt64] = []
    private var fd: Int32 = -1
    private var tempPaths: [String] = []
    private var framesInVolume = 0

    init(base: String, volumeSize: Int, archiveID: [UInt8]) throws {
        self.base = base
        self.volumeSize = UInt64(volumeSize)
        self.archiveID = archiveID
        try startVolume()
    }

    deinit { if fd >= 0 { close(fd) } }

    private func tempPath(_ number: Int) -> String { VolumeNaming.path(base: base, number: number) + ".partial" }
    private var currentPath: String { VolumeNaming.path(base: base, number: sizes.count) }

    private func startVolume() throws {
        if fd >= 0 { close(fd); fd = -1 }
        let number = sizes.count + 1
        let path = tempPath(number)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ArchiveError(.io, "cannot create volume \(VolumeNaming.path(base: base, number: number)): \(posixErrorText(errno))")
        }
        tempPaths.append(path)
        sizes.append(0)
        framesInVolume = 0
        try write(VolumeHeader(archiveID: archiveID, number: UInt32(number)).encoded())
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if let code = Posix.writeAll(fd, bytes.baseAddress!, bytes.count) {
            throw ArchiveError(.io, "writing volume \(currentPath) failed: \(posixErrorText(code))")
        }
        sizes[sizes.count - 1] += UInt64(bytes.count)
    }

    /// Appends a frame (header + payload); returns where it went.
    func append(header: FrameHeader, payload: UnsafeRawBufferPointer) throws -> (volume: UInt32, offset: UInt64) {
        let needed = UInt64(FrameHeader.size + payload.count)
        if framesInVolume > 0 && sizes[sizes.count - 1] + needed > volumeSize { try startVolume() }
        let offset = sizes[sizes.count - 1]
        try write(header.encoded())
        try write(payload)
        framesInVolume += 1
        return (UInt32(sizes.count - 1), offset)
    }

    /// Writes the index and footer, then gives the volumes their real names.
    /// `makeIndex` receives the final volume sizes (the last one being the
    /// index offset) and returns the compressed index.
    func finish(makeIndex: ([UInt64]) throws -> [UInt8]) throws -> (volumes: [String], indexBytes: Int) {
        var compressed = try makeIndex(sizes)
        if framesInVolume > 0 && sizes[sizes.count - 1] + UInt64(compressed.count + Footer.size) > volumeSize {
            try startVolume()
            compressed = try makeIndex(sizes)
        }
        let indexOffset = sizes[sizes.count - 1]
        try write(compressed)
        try write(Footer(indexOffset: indexOffset, indexSize: UInt64(compressed.count)).encoded())
        if fsync(fd) != 0 { throw ArchiveError(.io, "flushing volume \(currentPath) failed: \(posixErrorText(errno))") }
        close(fd)
        fd = -1
        var finalPaths: [String] = []
        for (i, temp) in tempPaths.enumerated() {
            let path = VolumeNaming.path(base: base, number: i + 1)
            guard rename(temp, path) == 0 else {
                throw ArchiveError(.io, "cannot rename \(temp) to \(path): \(posixErrorText(errno))")
            }
            finalPaths.append(path)
        }
        tempPaths = []
        removeStaleVolumes(after: finalPaths.count)
        return (finalPaths, compressed.count)
    }

    /// An older archive of the same name may have had more volumes; left in
    /// place they would be taken for part of this one. Only files that really
    /// are gpuarc volumes are removed.
    private func removeStaleVolumes(after count: Int) {
        for number in VolumeNaming.existingVolumeNumbers(base: base) where number > count {
            let path = VolumeNaming.path(base: base, number: number)
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            let magic = handle.readData(ofLength: 8)
            try? handle.close()
            if Array(magic) == VolumeHeader.magic { unlink(path) }
        }
    }

    /// Removes everything written so far (after a failure).
    func abort() {
        if fd >= 0 { close(fd); fd = -1 }
        for path in tempPaths { unlink(path) }
        tempPaths = []
    }
}
