import Archive
import Glibc

/// The write end of the pipe the signal handler writes into (a global: a C
/// function pointer cannot capture anything).
nonisolated(unsafe) private var interruptionPipe: Int32 = -1

/// What a writer (build, append, repair) does when SIGINT, SIGTERM or SIGHUP
/// arrive: it removes every file that run created and has not committed, the
/// lock file too, and exits with 128 + the signal's number. A commit in
/// progress is let finish first (a few renames and fsyncs): once its record
/// is written the new files belong to the archive, and stopping halfway
/// would only leave the next writer to finish it.
///
/// Every file a writer creates beside the archive goes through `create`,
/// which holds the same lock the cleanup holds, so no file can appear after
/// the cleanup has looked. The signal handler itself only writes the
/// signal's number into a pipe (async-signal-safe); a thread of its own
/// reads it and cleans up. Signals ignored when the program started (nohup,
/// a shell's background job) stay ignored.
package enum Interruption {
    private struct Entry: Equatable { let directory: Int32; let name: [UInt8] }

    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    private static let commitEnded: UnsafeMutablePointer<pthread_cond_t> = {
        let c = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        pthread_cond_init(c, nil)
        return c
    }()
    nonisolated(unsafe) private static var entries: [Entry] = []
    nonisolated(unsafe) private static var committing = 0
    nonisolated(unsafe) private static var program = "gpuarc"
    nonisolated(unsafe) private static var whatIsLeft = "the archive is as it was"

    private static func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return try body()
    }

    /// Installs the handlers (once, first thing in a writer's main).
    /// `program` names it in the message.
    package static func install(program: String) {
        self.program = program
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        interruptionPipe = fds[1]
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            var old = sigaction()
            guard sigaction(signal, nil, &old) == 0 else { continue }
            // SIG_IGN is handler 1.
            if let handler = old.__sigaction_handler.sa_handler, unsafeBitCast(handler, to: Int.self) == 1 { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(interruptionPipe, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        let reader = fds[0]
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { argument in
            let fd = Int32(Int(bitPattern: argument))
            var byte: UInt8 = 0
            while read(fd, &byte, 1) != 1 {}
            Interruption.cleanUpAndExit(signal: Int32(byte))
        }, UnsafeMutableRawPointer(bitPattern: Int(reader)))
        if started == 0 { pthread_detach(thread) }
    }

    /// Runs `create` (which makes file `name` in `directory` and returns its
    /// descriptor, or -1; errno is left as it left it) so that an
    /// interruption, or `discard`, removes the file unless it is committed
    /// first.
    package static func create(directory: Int32, name: [UInt8], _ create: () -> Int32) -> Int32 {
        let (fd, code) = locked { () -> (Int32, Int32) in
            let fd = create()
            let code = errno
            if fd >= 0 { entries.append(Entry(directory: directory, name: name)) }
            return (fd, code)
        }
        errno = code
        return fd
    }

    /// `name` exists and is this run's to remove from now on.
    package static func own(directory: Int32, name: [UInt8]) {
        locked { entries.append(Entry(directory: directory, name: name)) }
    }

    /// Removes every file this run made in `directory` and has not committed
    /// (the lock included): what a writer that ends, failed or not, leaves
    /// of itself. After a commit only the lock is left to remove.
    package static func discard(in directory: Int32) {
        locked {
            for entry in entries where entry.directory == directory {
                _ = BytePath.withCString(entry.name) { unlinkat(directory, $0, 0) }
            }
            entries.removeAll { $0.directory == directory }
        }
    }

    static var isCommitting: Bool { locked { committing > 0 } }

    /// A commit starts: an interruption now waits for `endCommit`.
    package static func beginCommit() {
        locked { committing += 1 }
    }

    /// The commit's record is durable: the files it renames belong to the
    /// archive now, whatever happens next. Only the lock stays this run's.
    package static func committed(keeping lockName: [UInt8], in directory: Int32) {
        locked {
            entries.removeAll { $0.directory == directory && $0.name != lockName }
            whatIsLeft = "the new archive was committed first"
        }
    }

    package static func endCommit() {
        locked {
            committing -= 1
            pthread_cond_broadcast(commitEnded)
        }
    }

    private static func cleanUpAndExit(signal: Int32) -> Never {
        pthread_mutex_lock(lock)
        while committing > 0 { pthread_cond_wait(commitEnded, lock) }
        // The lock stays held: nothing can be created from here on.
        for entry in entries { _ = BytePath.withCString(entry.name) { unlinkat(entry.directory, $0, 0) } }
        let name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : signal == SIGHUP ? "SIGHUP" : "signal \(signal)"
        let removed = entries.count == 0 ? "" : ": removed the \(entries.count) file(s) it had created"
        let message = "\(program): interrupted by \(name)\(removed); \(whatIsLeft)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        _exit(128 + signal)
    }
}
