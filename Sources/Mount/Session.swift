// The mount's life: open and check the archive, create the FUSE session,
// mount, detach, serve until unmounted or signalled, clean up.
import Archive
import CFuse3
import Foundation

public enum MountCommand {
    /// Runs gpuarc-mount with `arguments` (without the program name); returns the exit status.
    public static func run(_ arguments: [String]) -> Int32 {
        let options: MountOptions
        do {
            options = try MountOptions.parse(arguments)
        } catch {
            fputs("gpuarc-mount: \(error)\n\(usage)\n", stderr)
            return 2
        }
        if options.showHelp { print(usage); return 0 }
        if options.showVersion { print("gpuarc-mount 0.1"); return 0 }
        // Names are bytes: a mountpoint or archive named in Latin-1 is used as it is.
        let given = RawArguments.path(options.mountpoint)
        guard let resolved = given.withCString({ realpath($0, nil) }) else {
            fputs("gpuarc-mount: mountpoint \(given): \(String(cString: strerror(errno)))\n", stderr)
            return 1
        }
        // Absolute, so that unmounting still finds it after the daemon's chdir("/").
        let mountpoint = BytePath(cString: resolved)
        free(resolved)
        // Checked here, before detaching: the kernel mounts a filesystem whose
        // root is a directory over a regular file without complaint.
        var st = stat()
        guard mountpoint.withCString({ stat($0, &st) }) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            fputs("gpuarc-mount: mountpoint \(given) is not a directory: give an empty directory to mount on\n", stderr)
            return 1
        }
        let detach = options.foreground ? nil : Detach.begin()
        let status = serve(options, mountpoint: mountpoint, detach: detach)
        detach?.fail(UInt8(status))
        return status
    }

    private static func serve(_ options: MountOptions, mountpoint: BytePath, detach: Detach?) -> Int32 {
        let reader: ArchiveReader
        do {
            var readerOptions = ReaderOptions(cacheBytes: options.cacheBytes)
            // OpenCL is set up by the reader, here after the fork, so that its threads live in the daemon.
            readerOptions.decoderRequest = DecoderRequest(mode: options.decoder, devices: options.devices,
                                                          threads: ProcessInfo.processInfo.activeProcessorCount,
                                                          onError: { Log.error($0) })
            // Absolute, because the daemon leaves its working directory and the
            // reader may open further volumes later.
            reader = try ArchiveReader(path: absolutePath(RawArguments.path(options.archive)), options: readerOptions)
            if let note = reader.decoderNote { fputs("gpuarc-mount: \(note)\n", stderr) }
        } catch {
            fputs("gpuarc-mount: \(error)\n", stderr)
            return 1
        }
        // The reader tolerates unusable volumes (extract restores what it can);
        // a mount refuses them unless asked, so a half-present archive is never
        // mounted by accident.
        for notice in reader.notices { fputs("gpuarc-mount: warning: \(notice)\n", stderr) }
        if let problem = reader.indexCopyProblem { fputs("gpuarc-mount: warning: \(problem)\n", stderr) }
        if let lost = reader.lost {
            guard options.degraded else {
                fputs("gpuarc-mount: \(lost)\ngpuarc-mount: refusing to mount; mount with -o degraded to serve the versions that can be read\n", stderr)
                return 1
            }
            fputs("gpuarc-mount: warning: \(lost)\n", stderr)
        }
        if !reader.volumes.problems.isEmpty && reader.volumes.problemsCoveredByParity {
            // Served whole: every frame of those volumes is rebuilt from parity as it is read.
            for volume in reader.volumes.problems.keys.sorted() {
                fputs("gpuarc-mount: warning: \(reader.volumes.problems[volume]!); its files are rebuilt from parity as they are read (gpuarc-repair rebuilds the volume)\n", stderr)
            }
        } else if !reader.volumes.problems.isEmpty {
            let lines = reader.volumes.problems.keys.sorted().map { reader.volumes.problems[$0]!.description }
            if !options.degraded {
                fputs("gpuarc-mount: \(lines.joined(separator: "\ngpuarc-mount: "))\ngpuarc-mount: refusing to mount; fix the volumes, or mount with -o degraded to serve the files in the others\n", stderr)
                return 1
            }
            for line in lines { fputs("gpuarc-mount: warning: \(line); its files will give EIO\n", stderr) }
        }
        let filesystem = Filesystem(reader: reader, enforcePermissions: options.allowsOtherUsers)
        var operations = makeOperations()
        var args = FuseArguments(fuseArguments(options))
        defer { args.release() }
        let userdata = Unmanaged.passUnretained(filesystem).toOpaque()
        guard let session = fuse_session_new(&args.raw, &operations, MemoryLayout<fuse_lowlevel_ops>.size, userdata) else {
            return 1   // libfuse has printed why
        }
        defer { fuse_session_destroy(session) }
        // A shell starts background jobs with SIGINT ignored, and libfuse only
        // installs its handlers over the default action: reset first so that
        // Ctrl-C and kill always unmount cleanly.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        signal(SIGHUP, SIG_DFL)
        guard fuse_set_signal_handlers(session) == 0 else { return 1 }
        defer { fuse_remove_signal_handlers(session) }
        guard mountpoint.withCString({ fuse_session_mount(session, $0) }) == 0 else { return 1 }
        defer { fuse_session_unmount(session) }
        detach?.succeed()
        let result = options.singleThreaded
            ? fuse_session_loop(session)
            : gpuarc_session_loop_mt(session, 16)
        withExtendedLifetime(filesystem) {}
        return result == 0 ? 0 : 1
    }

    /// libfuse's own options: ours are taken out by the parser; read-only and
    /// a recognisable source name are always added.
    static func fuseArguments(_ options: MountOptions) -> [String] {
        // The source column of /proc/mounts: the archive as given, escaped only if it is not text.
        let archive = RawArguments.path(options.archive)
        let source = String(validating: archive.bytes, as: UTF8.self) ?? archive.description
        var mountOptions = ["ro", "fsname=" + escapeOption(source), "subtype=gpuarc",
                            options.allowSuid ? "suid" : "nosuid", options.allowDevices ? "dev" : "nodev"]
        // With other users let in, the kernel enforces the archived modes.
        // Without, only the owner of the mount sees it, and they can read the
        // whole archive file anyway.
        if options.allowsOtherUsers { mountOptions.append("default_permissions") }
        mountOptions += options.fuseOptions
        var arguments = ["gpuarc-mount", "-o", mountOptions.joined(separator: ",")]
        if options.debug { arguments.append("-d") }
        return arguments
    }

    private static func absolutePath(_ path: BytePath) -> BytePath {
        guard !path.isAbsolute, let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return BytePath(cString: cwd).appending(path.bytes)
    }

    private static func escapeOption(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ",", with: "\\,")
    }
}

/// A fuse_args whose strings live as long as it does.
private struct FuseArguments {
    var raw: fuse_args
    private let strings: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ arguments: [String]) {
        strings = .allocate(capacity: arguments.count + 1)
        for (i, argument) in arguments.enumerated() { strings[i] = strdup(argument) }
        strings[arguments.count] = nil
        raw = fuse_args(argc: Int32(arguments.count), argv: strings, allocated: 0)
    }

    mutating func release() {
        fuse_opt_free_args(&raw)
        var p = strings
        while let s = p.pointee { free(s); p += 1 }
        strings.deallocate()
    }
}
