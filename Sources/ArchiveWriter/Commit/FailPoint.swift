import Foundation
import Glibc

/// Test hooks in the writers' critical steps (`GPUARC_FAILPOINT`): at the
/// Nth time a named point is reached, the process sends itself a signal,
/// as a crash or a user would. `commit:N` kills (SIGKILL) at the Nth step
/// of a commit (each fsync, rename and unlink); `volume:N:TERM`,
/// `repair:N:INT` ... send that signal instead and stop there, so the
/// interruption's cleanup runs with the writer caught at that point (inside
/// a commit the writer goes on: the cleanup waits for the commit). Unset, a
/// reached point costs a load and a compare.
package enum FailPoint {
    private static let configured: (name: String, count: Int, signal: Int32)? = {
        guard let text = getenv("GPUARC_FAILPOINT").map({ String(cString: $0) }) else { return nil }
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count >= 2, let count = Int(parts[1]) else { return nil }
        let signals = ["KILL": SIGKILL, "TERM": SIGTERM, "INT": SIGINT, "HUP": SIGHUP]
        return (parts[0], count, parts.count > 2 ? signals[parts[2]] ?? SIGKILL : SIGKILL)
    }()
    nonisolated(unsafe) private static var reached: [String: Int] = [:]
    private static let lock = NSLock()

    package static func reach(_ name: String) {
        guard let configured, configured.name == name else { return }
        lock.lock()
        reached[name, default: 0] += 1
        let hit = reached[name] == configured.count
        lock.unlock()
        guard hit else { return }
        kill(getpid(), configured.signal)
        // Caught here, as if the signal came now; inside a commit the cleanup
        // waits for the commit to end, so the commit goes on.
        if !Interruption.isCommitting {
            while true { pause() }   // the interruption's thread exits the process
        }
    }
}
