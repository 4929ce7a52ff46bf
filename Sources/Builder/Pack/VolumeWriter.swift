import Archive
import ArchiveWriter
import CSysCalls
import Glibc

/// Writes frames to OUT.001, OUT.002, ... (each at most `volumeSize`; a frame
/// never straddles two volumes), then the index and footer into the last one.
///
/// Volumes are written under temporary names (`OUT.001.partial`, created
/// exclusively and never through a symlink), each one fsync'ed and closed
/// with errors checked when it is full; only once the last one holds the
/// index and footer, and the index copy and parity are written, are they
/// committed (`ArchiveCommit`): an archive already at OUT is exactly as it
/// was until the commit point and exactly the new one from it on, whatever
/// moment a crash picks. A failed build's temporaries go with its lock
/// (`ArchiveLock.release`).
final class VolumeWriter {
    let volumeSize: UInt64
    let archiveID: [UInt8]
    private let output: ArchiveLock
    private(set) var sizes: [UInt64] = []
    /// The volume being written.
    private var file: VolumeFile?
    /// The volumes' O_DIRECT staging buffer (`VolumeFile`).
    private let staging = VolumeFile.allocateStaging()
    private var tempNames: [[UInt8]] = []
    /// The index copy and parity volumes being written: (temporary, final) names.
    private var extraNames: [(temp: [UInt8], final: [UInt8])] = []
    private var framesInVolume = 0

    /// Volumes of the archive an append continues (never opened for writing).
    private let kept: Int

    /// `continuing`: for an append, the file sizes of the archive's volumes;
    /// the new volumes are numbered after them.
    init(output: ArchiveLock, volumeSize: Int, archiveID: [UInt8], continuing: [UInt64] = []) throws {
        self.output = output
        self.volumeSize = UInt64(volumeSize)
        self.archiveID = archiveID
        kept = continuing.count
        sizes = continuing
        volumeFileSizes = continuing
        ArchiveCommit.removeStaleTemporaries(output)
        try startVolume()
    }

    deinit { staging.deallocate() }

    private var base: BytePath { output.base }
    private func name(_ number: Int) -> [UInt8] { output.baseName + Array(VolumeNaming.suffix(number).utf8) }
    private func tempName(_ number: Int) -> [UInt8] { name(number) + Array(".partial".utf8) }

    /// Closes the volume being written, flushed to disk, reporting any error.
    private func closeVolume() throws {
        guard let file else { return }
        self.file = nil
        volumeFileSizes.append(sizes[sizes.count - 1])
        try file.finish()
    }

    /// Starts the next volume (the current one, if any, is closed first).
    func startVolume() throws {
        try closeVolume()
        let number = sizes.count + 1
        let temp = tempName(number)
        let path = VolumeNaming.path(base: base, number: number)
        let fd = ArchiveCommit.createTemporary(temp, lock: output)
        guard fd >= 0 else {
            let code = errno
            throw ArchiveError(.io, code == EEXIST
                ? "cannot create volume \(path): \(BytePath(temp)) appeared while this build holds the lock (something else is writing there)"
                : "cannot create volume \(path): \(posixErrorText(code))")
        }
        file = VolumeFile(fd: fd, path: path, staging: staging)
        tempNames.append(temp)
        sizes.append(0)
        framesInVolume = 0
        try write(VolumeHeader(archiveID: archiveID, number: UInt32(number)).encoded())
        FailPoint.reach("volume")
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        try file!.append(bytes)
        sizes[sizes.count - 1] = file!.size
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

    /// Whether `bytes` more fit in the current volume (an empty one takes anything).
    func fits(_ bytes: Int) -> Bool {
        framesInVolume == 0 || sizes[sizes.count - 1] + UInt64(bytes) <= volumeSize
    }

    /// Writes the compressed index and the footer into the last volume and
    /// closes it. The index must record `sizes` as they are now.
    func writeIndex(_ compressed: [UInt8]) throws {
        let indexOffset = sizes[sizes.count - 1]
        try write(compressed)
        try write(Footer(indexOffset: indexOffset, indexSize: UInt64(compressed.count)).encoded())
        try closeVolume()
    }

    /// Writes the second copy of the index, `OUT.idx` (docs/FORMAT.md): a
    /// volume header numbered 0, every index segment back to back (`older`:
    /// an append's earlier ones, oldest first, then this one), a footer. It
    /// is a file of its own so that damage to the end of the last volume
    /// (a truncation, a bad sector over the footer) cannot reach both copies,
    /// and it needs no volume to be read.
    func writeIndexCopy(_ compressed: [UInt8], older: [[UInt8]] = []) throws {
        let name = output.name(".idx")
        let temp = output.name(".idx.partial")
        try ArchiveCommit.writeTemporary(temp, IndexCopy.encoded(archiveID: archiveID, segments: older + [compressed]), lock: output)
        extraNames.append((temp, name))
    }

    /// Writes `count` parity volumes (`OUT.p01`, ...) over the finished data volumes.
    func writeParity(count: Int) throws -> ParityLayout {
        let names = (1...count).map { ParitySet.path(base: base, number: $0).lastComponent }
        let temps = names.map { $0 + Array(".partial".utf8) }
        for (temp, name) in zip(temps, names) { extraNames.append((temp, name)) }
        let writer = ParityWriter(directory: output.directory, dataNames: (0..<kept).map { name($0 + 1) } + tempNames, dataSizes: volumeFileSizes,
                                  archiveID: archiveID, parityCount: count)
        return try writer.write(to: temps) { ParitySet.path(base: base, number: $0 + 1) }
    }

    /// The size of every volume file, the last with its index and footer
    /// (once `writeIndex` has run).
    private(set) var volumeFileSizes: [UInt64] = []

    /// Commits the volumes, the index copy and the parity volumes
    /// (`ArchiveCommit`): the data volumes in order, the last one (with the
    /// index) after the others, then the copy and parity. What an older
    /// archive at OUT had beyond them (volumes, parity volumes) goes.
    func commit(parityCount: Int) throws -> [BytePath] {
        var renames: [CommitRecord.Rename] = []
        for (i, temp) in tempNames.enumerated() { renames.append(.init(temporary: temp, final: name(kept + i + 1))) }
        for (temp, final) in extraNames { renames.append(.init(temporary: temp, final: final)) }
        let record = CommitRecord(archiveID: archiveID, dataVolumes: sizes.count, parityVolumes: parityCount,
                                  removesVolumesAbove: true, removesParityAbove: true, renames: renames)
        try ArchiveCommit.commit(record, lock: output)
        return tempNames.indices.map { VolumeNaming.path(base: base, number: kept + $0 + 1) }
    }
}
