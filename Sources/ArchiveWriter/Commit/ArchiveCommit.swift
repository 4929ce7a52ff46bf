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
    /// `committed` is called at the commit point: from then on the new
    /// files are the archive's, and a failure must not remove them.
    package static func commit(_ record: CommitRecord, lock: ArchiveLock, committed: () -> Void = {}) throws {
        Interruption.beginCommit()
        defer { Interruption.endCommit() }
        try writeRecord(record, lock: lock)
        Interruption.committed(keeping: lock.lockName, in: lock.directory)
        committed()
        do {
            try finish(record, lock: lock)
        } catch let error as ArchiveError {
            throw ArchiveError(error.kind, "\(error.description). The new archive is committed all the same (\(lock.base.withSuffix(CommitRecord.suffix)) records it and every reader honours it); the next gpuarc-build --append or gpuarc-repair on \(lock.base) finishes the renames")
        }
    }

    /// Finishes the commit an earlier writer left (its record exists), if any.
    /// Called with the lock held, before anything else is done to the archive.
    package static func finishPending(_ lock: ArchiveLock) throws {
        let name = lock.baseName + Array(CommitRecord.suffix.utf8)
        let fd = BytePath.withCString(name) { openat(lock.directory, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) }
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw ArchiveError(.io, "cannot open \(lock.base.withSuffix(CommitRecord.suffix)): \(posixErrorText(errno))")
        }
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        let n = (try? bytes.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, $0.count, 0) }) ?? -1
        close(fd)
        let path = lock.base.withSuffix(CommitRecord.suffix)
        let record: CommitRecord
        do {
            guard n >= 0 else { throw ArchiveError(.io, "\(path) cannot be read") }
            record = try CommitRecord.decode(Array(bytes.prefix(n)), baseName: lock.baseName, what: path.description)
        } catch let error as ArchiveError {
            throw ArchiveError(.format, "\(error.description): an earlier build, append or repair was interrupted while committing, and which files make up \(lock.base) cannot be told. Check the archive (gpuarc-extract \(VolumeNaming.path(base: lock.base, number: 1)) --verify), then remove \(path) by hand")
        }
        Interruption.beginCommit()
        defer { Interruption.endCommit() }
        try finish(record, lock: lock)
    }

    private static func writeRecord(_ record: CommitRecord, lock: ArchiveLock) throws {
        let name = lock.baseName + Array(CommitRecord.suffix.utf8)
        let temp = name + Array(".partial".utf8)
        let path = lock.base.withSuffix(CommitRecord.suffix)
        let fd = Interruption.create(directory: lock.directory, name: temp) {
            BytePath.withCString(temp) { openat(lock.directory, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        }
        guard fd >= 0 else { throw ArchiveError(.io, "cannot create the commit record \(path): \(posixErrorText(errno))") }
        let bytes = record.encoded()
        var failure = bytes.withUnsafeBytes { Posix.writeAll(fd, $0.baseAddress!, $0.count) }
        if failure == nil {
            step()
            if fsync(fd) != 0 { failure = errno }
        }
        if close(fd) != 0 && failure == nil { failure = errno }
        if let failure {
            Interruption.remove(directory: lock.directory, name: temp)
            throw ArchiveError(.io, "writing the commit record \(path) failed: \(posixErrorText(failure)); the archive is as it was")
        }
        step()
        try rename(temp, to: name, lock: lock, what: "the commit record")
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
        let names = directoryNames(lock)
        let prefix = lock.baseName + [UInt8(ascii: ".")]
        var stale: [([UInt8], [UInt8])] = []
        if record.removesVolumesAbove {
            for name in names {
                if let n = VolumeNaming.number(of: name, prefix: prefix), n > record.dataVolumes { stale.append((name, VolumeHeader.magic)) }
            }
        }
        if record.removesParityAbove {
            for name in names {
                if let j = ParitySet.number(of: name, baseName: lock.baseName), j > record.parityVolumes { stale.append((name, ParityLayout.magic)) }
            }
        }
        for (name, magic) in stale.sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) where startsWith(name, magic, lock) {
            step()
            _ = BytePath.withCString(name) { unlinkat(lock.directory, $0, 0) }
        }
        step()
        try syncDirectory(lock)
        step()
        let recordName = lock.baseName + Array(CommitRecord.suffix.utf8)
        if BytePath.withCString(recordName, { unlinkat(lock.directory, $0, 0) }) != 0 && errno != ENOENT {
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

    /// Every name in the archive's directory that starts with `OUT.`.
    private static func directoryNames(_ lock: ArchiveLock) -> [[UInt8]] {
        let prefix = lock.baseName + [UInt8(ascii: ".")]
        let copy = dup(lock.directory)
        guard copy >= 0, let dir = fdopendir(copy) else { return [] }
        defer { closedir(dir) }
        // fdopendir shares the offset with the descriptor: start at the beginning.
        rewinddir(dir)
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name.starts(with: prefix) { names.append(name) }
        }
        return names
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

    /// Temporaries of a writer that died before its commit point (the lock
    /// is ours, so no other writer is making them; a finished pending commit
    /// has renamed its own away). A symlink there is removed, not followed.
    package static func removeStaleTemporaries(_ lock: ArchiveLock) {
        let prefix = lock.baseName + [UInt8(ascii: ".")]
        for name in directoryNames(lock) {
            guard let suffix = CommitRecord.temporarySuffixes.first(where: { name.count > $0.count && name.reversed().starts(with: $0.reversed()) }) else { continue }
            let bare = Array(name.dropLast(suffix.count))
            let isOurs = VolumeNaming.number(of: bare, prefix: prefix) != nil
                || ParitySet.number(of: bare, baseName: lock.baseName) != nil
                || bare == lock.baseName + Array(".idx".utf8)
                || bare == lock.baseName + Array(CommitRecord.suffix.utf8)
            if isOurs { _ = BytePath.withCString(name) { unlinkat(lock.directory, $0, 0) } }
        }
    }
}
