// Going into the background without losing errors. The process forks before
// it opens anything, so no reader or FUSE thread exists at the fork; the
// parent then waits until the child reports that the archive opened and the
// mount is live, and exits with the child's status. Every error before that
// point is printed by the child on the terminal it still shares.
#if canImport(Glibc)
import Glibc
#endif

struct Detach {
    private var pipeToParent: Int32

    /// Forks. Returns in the child; the parent never returns from here.
    static func begin() -> Detach {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return Detach(pipeToParent: -1) }
        let child = fork()
        if child < 0 { close(fds[0]); close(fds[1]); return Detach(pipeToParent: -1) }
        if child > 0 {
            close(fds[1])
            var status: UInt8 = 1
            let got = Glibc.read(fds[0], &status, 1)
            if got == 1 { exit(Int32(status)) }
            // The child died without a word: pass its own exit status on.
            var raw: Int32 = 0
            waitpid(child, &raw, 0)
            exit(raw & 0x7f == 0 ? (raw >> 8) & 0xff : 1)
        }
        close(fds[0])
        setsid()
        return Detach(pipeToParent: fds[1])
    }

    /// The mount is live: let the parent exit 0 and drop the terminal.
    func succeed() {
        chdir("/")
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            for fd in Int32(0)...2 { dup2(null, fd) }
            if null > 2 { close(null) }
        }
        Log.switchToSyslog()
        report(0)
    }

    /// Setting up failed after the message was printed: the parent exits with `status`.
    func fail(_ status: UInt8) {
        report(status)
    }

    private func report(_ status: UInt8) {
        guard pipeToParent >= 0 else { return }
        var byte = status
        _ = write(pipeToParent, &byte, 1)
        close(pipeToParent)
    }
}
