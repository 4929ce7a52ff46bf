// Where the driver's messages go: the terminal while it has one, syslog once
// it has detached (stderr then points at /dev/null).
import CFuse3
#if canImport(Glibc)
import Glibc
#endif

enum Log {
    nonisolated(unsafe) private static var useSyslog = false

    static func switchToSyslog() {
        openlog(nil, LOG_PID, LOG_DAEMON)
        useSyslog = true
    }

    static func error(_ message: String) {
        if useSyslog {
            gpuarc_syslog(LOG_ERR, message)
        } else {
            fputs("gpuarc-mount: \(message)\n", stderr)
        }
    }
}
