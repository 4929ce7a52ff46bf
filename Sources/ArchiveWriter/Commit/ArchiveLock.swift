import Archive
import Glibc

/// The archive a writer changes (build, append, repair): the directory OUT
/// lives in, held open so that every file is created relative to it, and an
/// exclusive lock on OUT, so that a second writer to the same OUT
/// (overlapping cron runs) fails at once instead of writing into the same
/// files. A commit an earlier writer left unfinished (`CommitRecord`) is
/// finished as soon as the lock is held, before anything else looks at the
/// directory.
///
/// The lock is `OUT.lock`, a regular file locked with flock(2): it is
/// released by the kernel if the build dies, so a crash never leaves OUT
/// locked. It is removed when the build ends; whoever locks it checks
/// afterwards that the file they locked is still the one at that name (a
/// build that opened it just before it was removed would otherwise hold a
/// lock nobody else can see).
package final class ArchiveLock {
    package let base: BytePath
    package let directory: Int32
    package let baseName: [UInt8]
    private var fd: Int32 = -1
    /// (device, inode) of the lock file, so a scan of a SRC that holds OUT leaves it out.
    package private(set) var identity: (dev: UInt64, ino: UInt64)?

    package var lockName: [UInt8] { name(".lock") }

    package init(base: BytePath) throws {
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
            try ArchiveCommit.finishPending(self)
        } catch {
            release()   // deinit closes the directory
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
                    ? "another gpuarc-build, append or repair is writing \(base) right now (it holds \(base.withSuffix(".lock"))): wait for it to finish"
                    : "cannot lock \(base.withSuffix(".lock")): \(posixErrorText(code))")
            }
            var now = stat()
            let still = BytePath.withCString(name) { fstatat(directory, $0, &now, AT_SYMLINK_NOFOLLOW) } == 0
            if still && now.st_ino == st.st_ino && now.st_dev == st.st_dev {
                self.fd = fd
                identity = (UInt64(st.st_dev), UInt64(st.st_ino))
                // Ours from here on: an interruption removes it with the rest.
                Interruption.own(directory: directory, name: name)
                return
            }
            close(fd)   // removed by the build that held it: take the new one
        }
        throw ArchiveError(.io, "cannot lock \(base.withSuffix(".lock")): it keeps being replaced")
    }

    /// Ends the run's hold on the archive: removes every file the run made
    /// beside it and did not commit (a failed run's temporaries; after a
    /// commit there are none), then the lock file, and unlocks. Also done on
    /// deinit, but a writer calls it when it ends, so nothing it made
    /// outlives it.
    package func release() {
        guard fd >= 0 else { return }
        Interruption.discard(in: directory)
        close(fd)
        fd = -1
    }

    /// `OUT` + `suffix`, as a name in the directory (".commit" -> "OUT.commit").
    package func name(_ suffix: String) -> [UInt8] { baseName + Array(suffix.utf8) }

    deinit {
        release()
        close(directory)
    }
}
