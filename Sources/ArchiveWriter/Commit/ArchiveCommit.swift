import Archive
import Glibc

/// The one way a writer changes which files make up an archive: a build
/// over an existing OUT, an append, a repair (docs/FORMAT.md, "Commits").
///
/// 1. Every new file is complete and fsync'ed under a temporary name.
/// 2. The commit record `OUT.commit` (`CommitRecord`) is written as
///    `OUT.commit.partial`, fsync'ed, renamed into place, and the directory
///    fsync'ed. This is the commit point: before it readers see the old
///    archive, from it on the new one (they read a file at its temporary
///    name until it is renamed).
/// 3. The temporaries are renamed to their names, the files the new state
///    no longer has are removed, the directory is fsync'ed.
/// 4. The record is removed and the directory fsync'ed again.
///
/// A crash anywhere in 3 or 4 leaves the record: readers honour it, and the
/// next writer finishes steps 3 and 4 as soon as it holds the lock
/// (`finishPending`), which is safe to repeat however often it is cut short.
/// Every step passes the fail point "commit" (tests kill the writer there).
package enum ArchiveCommit {
    /// Until the commit point a failure leaves the temporaries to the lock's
    /// release (which removes them); from it on they are the archive's.
    package static func commit(_ record: CommitRecord, lock: ArchiveLock) throws {
        Interruption.beginCommit()
        defer { Interruption.endCommit() }
        try writeRecord(record, lock: lock)
        Interruption.committed(keeping: lock.lockName, in: lock.directory)
        do {
            try finish(record, lock: lock)
        } catch let error as ArchiveError {
            throw ArchiveError(error.kind, "\(error.description). The new archive is committed all the same (\(lock.base.withSuffix(CommitRecord.suffix)) records it and every reader honours it); the next gpuarc-build --append or gpuarc-repair on \(lock.base) finishes the renames")
        }
    }

    /// Finishes the commit an earlier writer left (its record exists), if any.
    /// Called with the lock held, before anything else is done to the archive.
    package static func finishPending(_ lock: ArchiveLock) throws {
        let path = lock.base.withSuffix(CommitRecord.suffix)
        let fd = BytePath.withCString(lock.name(CommitRecord.suffix)) { openat(lock.directory, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) }
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw ArchiveError(.io, "cannot open \(path): \(posixErrorText(errno))")
        }
        defer { close(fd) }
        let record: CommitRecord
        do {
            record = try CommitRecord.read(fd, baseName: lock.baseName, what: path.description)
        } catch let error as ArchiveError {
            throw ArchiveError(.format, "\(error.description): an earlier build, append or repair was interrupted while committing, and which files make up \(lock.base) cannot be told. Check the archive (gpuarc-extract \(VolumeNaming.path(base: lock.base, number: 1)) --verify), then remove \(path) by hand")
        }
        Interruption.beginCommit()
        defer { Interruption.endCommit() }
        try finish(record, lock: lock)
    }

    private static func writeRecord(_ record: CommitRecord, lock: ArchiveLock) throws {
        let temp = lock.name(CommitRecord.suffix + ".partial")
        step()
        try writeTemporary(temp, record.encoded(), lock: lock)
        step()
        try rename(temp, to: lock.name(CommitRecord.suffix), lock: lock, what: "the commit record")
        step()
        try syncDirectory(lock)
    }

    /// Steps 3 and 4: every rename not yet done, the removals, the record.
    private static func finish(_ record: CommitRecord, lock: ArchiveLock) throws {
        for rename in record.renames {
            var st = stat()
            let pending = BytePath.withCString(rename.temporary) { fstatat(lock.directory, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
            guard pending else { continue }   // renamed before (rename(2) is atomic)
            step()
            try self.rename(rename.temporary, to: rename.final, lock: lock, what: BytePath(rename.final).description)
        }
        // What the new state no longer has, each only if it starts with its magic.
        var stale: [([UInt8], [UInt8])] = []
        for name in VolumeNaming.names(of: lock.base, directory: lock.directory) {
            if record.removesVolumesAbove, let n = VolumeNaming.number(of: name, prefix: lock.name(".")), n > record.dataVolumes {
                stale.append((name, VolumeHeader.magic))
            } else if record.removesParityAbove, let j = ParitySet.number(of: name, baseName: lock.baseName), j > record.parityVolumes {
                stale.append((name, ParityLayout.magic))
            }
        }
        for (name, magic) in stale.sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) where startsWith(name, magic, lock) {
            step()
            _ = BytePath.withCString(name) { unlinkat(lock.directory, $0, 0) }
        }
        step()
        try syncDirectory(lock)
        step()
        if BytePath.withCString(lock.name(CommitRecord.suffix), { unlinkat(lock.directory, $0, 0) }) != 0 && errno != ENOENT {
            throw ArchiveError(.io, "cannot remove the commit record \(lock.base.withSuffix(CommitRecord.suffix)): \(posixErrorText(errno))")
        }
        step()
        try syncDirectory(lock)
    }

    private static func step() { FailPoint.reach("commit") }

    private static func rename(_ temp: [UInt8], to final: [UInt8], lock: ArchiveLock, what: String) throws {
        let renamed = BytePath.withCString(temp) { from in
            BytePath.withCString(final) { to in renameat(lock.directory, from, lock.directory, to) }
        }
        guard renamed == 0 else {
            throw ArchiveError(.io, "cannot rename \(BytePath(temp)) to \(BytePath(final)) (\(what)): \(posixErrorText(errno))")
        }
    }

    private static func syncDirectory(_ lock: ArchiveLock) throws {
        guard fsync(lock.directory) == 0 else {
            throw ArchiveError(.io, "flushing directory \(lock.base.parent) to disk failed: \(posixErrorText(errno)); the archive may not survive a crash")
        }
    }

    /// Only regular files that start with `magic` are removed: an older
    /// archive's volumes, never anything else that happens to be named so.
    private static func startsWith(_ name: [UInt8], _ expected: [UInt8], _ lock: ArchiveLock) -> Bool {
        let fd = BytePath.withCString(name) { openat(lock.directory, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        var magic = [UInt8](repeating: 0, count: expected.count)
        return fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
            && magic.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, expected.count, 0) }) == expected.count && magic == expected
    }

    /// Every file an archive's writer creates beside it: `name`, created
    /// exclusively and never through a symlink, removed by an interruption
    /// until it is committed (`Interruption`).
    package static func createTemporary(_ name: [UInt8], lock: ArchiveLock, flags: Int32 = O_WRONLY) -> Int32 {
        Interruption.create(directory: lock.directory, name: name) {
            BytePath.withCString(name) { openat(lock.directory, $0, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        }
    }

    /// Creates temporary `name` holding `bytes`, fsync'ed and closed with
    /// errors checked (the index copy, the commit record).
    package static func writeTemporary(_ name: [UInt8], _ bytes: [UInt8], lock: ArchiveLock) throws {
        let fd = createTemporary(name, lock: lock)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot create \(lock.base.parent.appending(name)): \(posixErrorText(errno))") }
        var failure = bytes.withUnsafeBytes { Posix.writeAll(fd, $0.baseAddress!, $0.count) } ?? (fsync(fd) != 0 ? errno : nil)
        if close(fd) != 0 && failure == nil { failure = errno }
        if let failure { throw ArchiveError(.io, "writing \(lock.base.parent.appending(name)) failed: \(posixErrorText(failure))") }
    }

    /// Temporaries of a writer that died before its commit point (the lock
    /// is ours, so no other writer is making them; a finished pending commit
    /// has renamed its own away). A symlink there is removed, not followed.
    package static func removeStaleTemporaries(_ lock: ArchiveLock) {
        let prefix = lock.name(".")
        for name in VolumeNaming.names(of: lock.base, directory: lock.directory) {
            guard let suffix = CommitRecord.temporarySuffixes.first(where: { name.count > $0.count && name.reversed().starts(with: $0.reversed()) }) else { continue }
            let bare = Array(name.dropLast(suffix.count))
            let isOurs = VolumeNaming.number(of: bare, prefix: prefix) != nil
                || ParitySet.number(of: bare, baseName: lock.baseName) != nil
                || bare == lock.name(".idx") || bare == lock.name(CommitRecord.suffix)
            if isOurs { _ = BytePath.withCString(name) { unlinkat(lock.directory, $0, 0) } }
        }
    }
}
