// Runs the real gpuarc-mount binary on a scratch mountpoint. Every mount has
// a watchdog: past its deadline the FUSE connection is aborted (through
// fusectl where it is mounted) and the driver killed, so a hung mount fails
// the test with ENOTCONN instead of hanging the run; auto_unmount then clears
// the mountpoint. The abort matters when a driver thread is stuck in the
// kernel, where SIGKILL alone cannot end it.
import Foundation
import XCTest

enum MountHarness {
    /// Tests/Tools/treecmp.py on two trees: its exit status and output
    /// (names as bytes, modes, times, xattrs, hard links, bytes).
    static func treecmp(_ a: String, _ b: String) throws -> (status: Int32, text: String) {
        var tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        tools.appendPathComponent("Tools/treecmp.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [tools.path, a, b]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    static func requireFuse() throws {
        guard access("/dev/fuse", R_OK | W_OK) == 0 else {
            throw MountError(description: "/dev/fuse is not available here: mount tests need FUSE (and root)")
        }
    }

    /// The gpuarc-mount built next to the test bundle.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["GPUARC_MOUNT"] { return path }
        let candidates = [Bundle.main.bundlePath, Bundle(for: Token.self).bundlePath,
                          CommandLine.arguments[0]].map { ($0 as NSString).deletingLastPathComponent }
        for dir in candidates where FileManager.default.isExecutableFile(atPath: dir + "/gpuarc-mount") {
            return dir + "/gpuarc-mount"
        }
        return "gpuarc-mount"
    }
    private final class Token {}

    static let scratchRoot = NSTemporaryDirectory() + "gpuarc-mount-tests-\(getpid())"

    static func scratchDirectory(_ name: String) throws -> String {
        let path = scratchRoot + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func isMounted(_ path: String) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        return table.split(separator: "\n").contains { $0.split(separator: " ")[4] == path }
    }

    /// Runs gpuarc-mount to completion (for the cases where it must refuse or
    /// detach). Spawned directly rather than with Process: Process waits for
    /// a descriptor that a detached daemon inherits, so it would wait for the
    /// daemon instead of the parent.
    static func run(_ arguments: [String], executable: String? = nil, timeout: TimeInterval = 20) throws -> (status: Int32, output: String) {
        let tool = executable ?? binary
        let log = try scratchDirectory("run-log") + "/output"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The driver's directory leads PATH, as if it were installed, for mount.fuse3.
        let directory = (binary as NSString).deletingLastPathComponent
        let env = ProcessInfo.processInfo.environment.merging(
            ["PATH": directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]) { $1 }
        let envp = env.map { strdup("\($0)=\($1)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, tool, &actions, nil, argv, envp)
        guard spawned == 0 else { throw MountError(description: "cannot run \(tool): errno \(spawned)") }
        var raw: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(pid, &raw, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &raw, 0)
                XCTFail("gpuarc-mount \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
                break
            }
            usleep(5_000)
        }
        let status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}

final class MountedArchive {
    let mountpoint: String
    private let process = Process()
    private let log: String
    private var watchdog: DispatchWorkItem?

    /// Mounts `archive` in the foreground (so the test holds the driver's pid) with auto_unmount.
    init(archive: String, options: [String] = [], deadline: TimeInterval = 120) throws {
        mountpoint = try MountHarness.scratchDirectory("mnt")
        log = try MountHarness.scratchDirectory("mount-log") + "/stderr"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: MountHarness.binary)
        process.arguments = [archive, mountpoint, "-f", "-o", "auto_unmount"] + options
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        let started = Date()
        while !MountHarness.isMounted(mountpoint) {
            guard process.isRunning else {
                throw MountError(description: "gpuarc-mount exited with \(process.terminationStatus): \(stderrText)")
            }
            guard Date().timeIntervalSince(started) < 15 else {
                unmount()
                throw MountError(description: "the mount did not appear within 15 s")
            }
            usleep(5_000)
        }
        let pid = process.processIdentifier, mnt = mountpoint
        var st = stat()
        stat(mountpoint, &st)
        // The fusectl directory of a connection is named after the minor device number of the mount.
        let abortFile = "/sys/fs/fuse/connections/\(st.st_dev & 0xff | (st.st_dev >> 12) & ~0xff)/abort"
        let item = DispatchWorkItem {
            print("watchdog: mount at \(mnt) outlived its \(deadline) s deadline; aborting it and killing gpuarc-mount")
            try? "1".write(toFile: abortFile, atomically: false, encoding: .utf8)
            kill(pid, SIGKILL)
        }
        watchdog = item
        DispatchQueue.global().asyncAfter(deadline: .now() + deadline, execute: item)
    }

    var stderrText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    var pid: Int32 { process.processIdentifier }

    func path(_ relative: String) -> String { mountpoint + "/" + relative }

    /// Unmounts and waits for the driver to exit; escalates if it does not.
    func unmount() {
        watchdog?.cancel()
        if MountHarness.isMounted(mountpoint) { runQuietly("/bin/fusermount3", ["-u", "-z", mountpoint]) }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { unmount() }
}

struct MountError: Error, CustomStringConvertible { var description: String }

func runQuietly(_ tool: String, _ arguments: [String]) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try? process.run()
    process.waitUntilExit()
}
