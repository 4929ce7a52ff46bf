import Archive
import ArchiveWriter
import CSysCalls
import Glibc

/// The output of a build: the directory OUT lives in, held open so that every
/// file is created relative to it, and an exclusive lock on OUT, so that a
/// second build to the same OUT (overlapping cron runs) fails at once instead
/// of writing into the same files.
///
/// The lock is `OUT.lock`, a regular file locked with flock(2): it is
/// released by the kernel if the build dies, so a crash never leaves OUT
/// locked. It is removed when the build ends; whoever locks it checks
/// afterwards that the file they locked is still the one at that name (a
/// build that opened it just before it was removed would otherwise hold a
/// lock nobody else can see).
final class OutputLock {
    let base: BytePath
    let directory: Int32
    let baseName: [UInt8]
    private var fd: Int32 = -1
    /// (device, inode) of the lock file, so a scan of a SRC that holds OUT leaves it out.
    private(set) var identity: HardLinkKey?

    var lockName: [UInt8] { baseName + Array(".lock".utf8) }

    init(base: BytePath) throws {
        self.base = base
        baseName = base.lastComponent
        let parent = base.parent
        guard !baseName.isEmpty, base.bytes.last != UInt8(ascii: "/") else {
            throw ArchiveError(.usage, "the output \(base) names a directory; give a base name such as \(base.appending(Array("backup".utf8)))")
        }
        directory = parent.withCString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard directory >= 0 else {
            let code = errno
            throw ArchiveError(.usage, code == ENOENT || code == ENOTDIR
                ? "cannot write \(base.withSuffix(".001")): directory \(parent) does not exist"
                : "cannot write \(base.withSuffix(".001")): cannot open directory \(parent) (\(posixErrorText(code)))")
        }
        do {
            try acquire(parent: parent)
        } catch {
            close(directory)
            throw error
        }
    }

    private func acquire(parent: BytePath) throws {
        let name = lockName
        for _ in 0..<8 {
            let fd = BytePath.withCString(name) { openat(directory, $0, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644) }
            guard fd >= 0 else {
                let code = errno
                if code == EACCES || code == EROFS || code == EPERM {
                    throw ArchiveError(.usage, "cannot write \(base.withSuffix(".001")): directory \(parent) is not writable (\(posixErrorText(code)))")
                }
                throw ArchiveError(.io, code == ELOOP
                    ? "\(base.withSuffix(".lock")) is a symlink: refusing to follow it (remove it)"
                    : "cannot create the lock file \(base.withSuffix(".lock")): \(posixErrorText(code))")
            }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                close(fd)
                throw ArchiveError(.io, "\(base.withSuffix(".lock")) is not a regular file: refusing to use it as the lock of \(base)")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                close(fd)
                throw ArchiveError(.io, code == EWOULDBLOCK
                    ? "another gpuarc-build is writing \(base) right now (it holds \(base.withSuffix(".lock"))): wait for it to finish"
                    : "cannot lock \(base.withSuffix(".lock")): \(posixErrorText(code))")
            }
            var now = stat()
            let still = BytePath.withCString(name) { fstatat(directory, $0, &now, AT_SYMLINK_NOFOLLOW) } == 0
            if still && now.st_ino == st.st_ino && now.st_dev == st.st_dev {
                self.fd = fd
                identity = HardLinkKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
                return
            }
            close(fd)   // removed by the build that held it: take the new one
        }
        throw ArchiveError(.io, "cannot lock \(base.withSuffix(".lock")): it keeps being replaced")
    }

    /// Removes the lock file and unlocks (also done on deinit, but a build
    /// calls it when it ends, so nothing it made outlives it).
    func release() {
        guard fd >= 0 else { return }
        _ = BytePath.withCString(lockName) { unlinkat(directory, $0, 0) }
        close(fd)
        fd = -1
    }

    deinit {
        release()
        close(directory)
    }
}

/// Writes frames to OUT.001, OUT.002, ... (each at most `volumeSize`; a frame
/// never straddles two volumes), then the index and footer into the last one.
///
/// Volumes are written under temporary names (`OUT.001.partial`, created
/// exclusively and never through a symlink), each one fsync'ed and closed
/// with errors checked when it is full; only once the last one holds the
/// index and footer are they renamed into place, followed by an fsync of
/// the directory. Until then an archive already at OUT is untouched; an
/// interrupted or failed build leaves nothing that looks like an archive,
/// and `abort` removes the temporaries.
final class VolumeWriter {
    let volumeSize: UInt64
    let archiveID: [UInt8]
    private let output: OutputLock
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
    init(output: OutputLock, volumeSize: Int, archiveID: [UInt8], continuing: [UInt64] = []) throws {
        self.output = output
        self.volumeSize = UInt64(volumeSize)
        self.archiveID = archiveID
        kept = continuing.count
        sizes = continuing
        volumeFileSizes = continuing
        removeStalePartials()
        try startVolume()
    }

    deinit { staging.deallocate() }

    private var base: BytePath { output.base }
    private func name(_ number: Int) -> [UInt8] { output.baseName + Array(VolumeNaming.suffix(number).utf8) }
    private func tempName(_ number: Int) -> [UInt8] { name(number) + Array(".partial".utf8) }

    /// Temporaries of an earlier build that died (the lock is ours, so no
    /// other build is writing them). A symlink there is removed, not followed.
    private func removeStalePartials() {
        let prefix = output.baseName + [UInt8(ascii: ".")]
        let copy = dup(output.directory)
        guard copy >= 0, let dir = fdopendir(copy) else { return }
        defer { closedir(dir) }
        var stale: [[UInt8]] = []
        while let entry = readdir(dir) {
            let entryName: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            let suffix = Array(".partial".utf8)
            guard entryName.count > suffix.count, entryName.reversed().starts(with: suffix.reversed()) else { continue }
            let bare = Array(entryName.dropLast(suffix.count))
            let isParity = bare.starts(with: prefix + [UInt8(ascii: "p")]) && bare.count > prefix.count + 1
                && bare[(prefix.count + 1)...].allSatisfy { $0 >= 48 && $0 <= 57 }
            guard VolumeNaming.number(of: bare, prefix: prefix) != nil || isParity || bare == output.baseName + Array(".idx".utf8) else { continue }
            stale.append(entryName)
        }
        for entryName in stale { _ = BytePath.withCString(entryName) { unlinkat(output.directory, $0, 0) } }
    }

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
        guard let file = VolumeFile(directory: output.directory, name: temp, path: path, staging: staging) else {
            let code = errno
            throw ArchiveError(.io, code == EEXIST
                ? "cannot create volume \(path): \(BytePath(temp)) appeared while this build holds the lock (something else is writing there)"
                : "cannot create volume \(path): \(posixErrorText(code))")
        }
        self.file = file
        tempNames.append(temp)
        sizes.append(0)
        framesInVolume = 0
        try write(VolumeHeader(archiveID: archiveID, number: UInt32(number)).encoded())
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
        let name = output.baseName + Array(".idx".utf8)
        let temp = name + Array(".partial".utf8)
        let copyPath = base.withSuffix(".idx")
        let fd = BytePath.withCString(temp) { openat(output.directory, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw ArchiveError(.io, "cannot create the index copy \(copyPath): \(posixErrorText(errno))") }
        extraNames.append((temp, name))
        var bytes = VolumeHeader(archiveID: archiveID, number: 0).encoded()
        for segment in older { bytes += segment }
        let offset = UInt64(bytes.count)
        bytes += compressed
        bytes += Footer(indexOffset: offset, indexSize: UInt64(compressed.count)).encoded()
        let failure = bytes.withUnsafeBytes { Posix.writeAll(fd, $0.baseAddress!, $0.count) } ?? (fsync(fd) != 0 ? errno : nil)
        let closed = close(fd) == 0 ? nil : errno
        if let code = failure ?? closed { throw ArchiveError(.io, "writing the index copy \(copyPath) failed: \(posixErrorText(code))") }
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

    /// Gives the volumes (and the index copy and parity volumes) their real
    /// names, removes what an older archive at OUT had beyond them, and
    /// flushes the directory. The volumes go first and the last of them (the
    /// one with the index) after the others, then the copy: an append cut
    /// short anywhere in here leaves the archive readers open as it was
    /// before it (docs/FORMAT.md, "What a reader does to open an archive").
    func commit(parityCount: Int, afterRename: ((Int) throws -> Void)? = nil) throws -> [BytePath] {
        var finalPaths: [BytePath] = []
        for (i, temp) in tempNames.enumerated() {
            try rename(temp, to: name(kept + i + 1))
            finalPaths.append(VolumeNaming.path(base: base, number: kept + i + 1))
            try afterRename?(kept + i + 1)
        }
        tempNames = []
        for (temp, final) in extraNames { try rename(temp, to: final) }
        extraNames = []
        removeStale(VolumeNaming.existingVolumeNumbers(base: base).filter { $0 > sizes.count }.map(name), magic: VolumeHeader.magic)
        removeStale(ParitySet.existingNumbers(base: base).filter { $0 > parityCount }.map { ParitySet.path(base: base, number: $0).lastComponent },
                    magic: ParityLayout.magic)
        if fsync(output.directory) != 0 {
            throw ArchiveError(.io, "flushing directory \(base.parent) to disk failed: \(posixErrorText(errno)); the archive may not survive a crash")
        }
        return finalPaths
    }

    private func rename(_ temp: [UInt8], to final: [UInt8]) throws {
        let renamed = BytePath.withCString(temp) { from in
            BytePath.withCString(final) { to in renameat(output.directory, from, output.directory, to) }
        }
        guard renamed == 0 else {
            throw ArchiveError(.io, "cannot rename \(BytePath(temp)) to \(BytePath(final)): \(posixErrorText(errno))")
        }
    }

    /// An older archive of the same name may have had more volumes (or
    /// parity volumes); left in place they would be taken for part of this
    /// one. Only regular files that start with `magic` are removed.
    private func removeStale(_ names: [[UInt8]], magic expected: [UInt8]) {
        for stale in names {
            let fd = BytePath.withCString(stale) { openat(output.directory, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
            guard fd >= 0 else { continue }
            var st = stat()
            var magic = [UInt8](repeating: 0, count: 8)
            let matches = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
                && magic.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 8, 0) }) == 8 && magic == expected
            close(fd)
            if matches { _ = BytePath.withCString(stale) { unlinkat(output.directory, $0, 0) } }
        }
    }

    /// Removes everything written so far (after a failure).
    func abort() {
        file = nil
        for temp in tempNames + extraNames.map(\.temp) { _ = BytePath.withCString(temp) { unlinkat(output.directory, $0, 0) } }
        tempNames = []
        extraNames = []
    }
}
