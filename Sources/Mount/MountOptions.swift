// Command line of gpuarc-mount. It follows libfuse's convention (options may
// come before or after the two positionals, `-o a,b=c` lists) because
// mount.fuse3 runs `gpuarc-mount SOURCE DIR -o OPTS` for an /etc/fstab line of
// type fuse.gpuarc-mount. Our own settings exist both as long flags and as
// `-o` keys so they can be written in fstab.
import Archive
import Foundation

public struct MountOptions: Sendable, Equatable {
    public var archive = ""
    public var mountpoint = ""
    public var foreground = false
    public var debug = false
    public var singleThreaded = false
    public var cacheBytes = 512 << 20
    public var decoder = GPUMode.auto
    /// Serve an archive with unusable volumes (missing, truncated, foreign):
    /// files stored in them read as EIO. Off by default: a mount refuses them.
    public var degraded = false
    /// OpenCL devices by number ("0,2"); nil: all.
    public var devices: String?
    /// `-o` options handed to libfuse unchanged (allow_other, auto_unmount, ...).
    public var fuseOptions: [String] = []
    /// Let archived setuid/setgid bits take effect (`-o allow_suid`); off:
    /// the mount is always nosuid.
    public var allowSuid = false
    /// Let archived device nodes be opened (`-o allow_dev`); off: always nodev.
    public var allowDevices = false
    public var showHelp = false
    public var showVersion = false

    public init() {}

    public var allowsOtherUsers: Bool {
        fuseOptions.contains("allow_other")
    }
}

public struct UsageError: Error, CustomStringConvertible {
    public var description: String
}

public let usage = """
    usage: gpuarc-mount ARCHIVE.001 MOUNTPOINT [options]

    Mounts a gpuarc archive read-only. ARCHIVE may name any of its volumes.

      -f                   stay in the foreground
      -d                   foreground with libfuse debug output
      -s                   single-threaded
      --cache-size SIZE    decoded-frame cache, e.g. 256M, 2G (default 512M)
      --decoder MODE       auto (GPU if measured faster), cpu or gpu (default auto)
      --device LIST        OpenCL devices by number, e.g. 0,2 (default: all)
      --degraded           serve an archive with missing or damaged volumes (their
                           files give EIO) instead of refusing it
      -o OPT[,OPT...]      mount options: cache_size=SIZE, decoder=MODE, device=LIST, degraded,
                           allow_suid, allow_dev, libfuse's own (allow_other, auto_unmount, ...)

      -h, --help           this text
      -V, --version        the version

    The mount is always read-only, nosuid and nodev: an archived setuid binary
    or device node does not work through it. -o allow_suid and -o allow_dev lift
    that (as root, and not with auto_unmount, which mounts through fusermount3);
    suid and dev alone are ignored, because mount.fuse3 adds them to every
    mount from /etc/fstab or mount(8).
    """

extension MountOptions {
    public static func parse(_ arguments: [String]) throws -> MountOptions {
        var options = MountOptions()
        var positionals: [String] = []
        var rest = arguments[...]
        func value(for flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "-f": options.foreground = true
            case "-d", "--debug": options.debug = true; options.foreground = true
            case "-s": options.singleThreaded = true
            case "-h", "--help": options.showHelp = true
            case "-V", "--version": options.showVersion = true
            case "-o": try options.apply(mountOptions: value(for: "-o"))
            case "--cache-size": options.cacheBytes = try parseSize(value(for: argument))
            case "--decoder": options.decoder = try parseDecoder(value(for: argument))
            case "--device": options.devices = try value(for: argument)
            case "--degraded": options.degraded = true
            case "--": positionals += rest; rest = []
            default:
                if argument.hasPrefix("-o"), argument.count > 2 {
                    try options.apply(mountOptions: String(argument.dropFirst(2)))
                } else if argument.hasPrefix("--cache-size=") {
                    options.cacheBytes = try parseSize(String(argument.dropFirst("--cache-size=".count)))
                } else if argument.hasPrefix("--device=") {
                    options.devices = String(argument.dropFirst("--device=".count))
                } else if argument.hasPrefix("--decoder=") {
                    options.decoder = try parseDecoder(String(argument.dropFirst("--decoder=".count)))
                } else if argument.hasPrefix("-"), argument.count > 1 {
                    throw UsageError(description: "unknown option \(argument)")
                } else {
                    positionals.append(argument)
                }
            }
        }
        if options.showHelp || options.showVersion { return options }
        guard positionals.count == 2 else {
            throw UsageError(description: positionals.count < 2
                ? "expected an archive and a mountpoint"
                : "too many arguments: \(positionals.dropFirst(2).joined(separator: " "))")
        }
        options.archive = positionals[0]
        options.mountpoint = positionals[1]
        return options
    }

    /// One `-o` list. Commas inside a value are escaped with a backslash, as in libfuse.
    mutating func apply(mountOptions list: String) throws {
        for option in splitOptionList(list) where !option.isEmpty {
            let (key, value) = option.split(separator: "=", maxSplits: 1).map(String.init).pairing
            switch key {
            case "cache_size": cacheBytes = try parseSize(value ?? "")
            case "decoder": decoder = try parseDecoder(value ?? "")
            // Commas separate -o options, so a list of devices uses colons there: device=0:2.
            case "device": devices = value?.replacingOccurrences(of: ":", with: ",")
            // The archive is read-only whatever the fstab line says, and
            // `defaults` carries nothing for a FUSE mount.
            case "degraded": degraded = true
            case "ro", "rw", "defaults": continue
            // Always nosuid,nodev unless lifted by our own names: mount.fuse3
            // appends "dev,suid" to every mount(8) or fstab mount it runs (as
            // root), so those words say nothing about what the user wants.
            case "suid", "dev", "nosuid", "nodev": continue
            case "allow_suid": allowSuid = true
            case "allow_dev": allowDevices = true
            case "debug": debug = true; foreground = true
            default: fuseOptions.append(option)
            }
        }
    }
}

private extension Array where Element == String {
    var pairing: (String, String?) { (self.first ?? "", count > 1 ? self[1] : nil) }
}

private func splitOptionList(_ list: String) -> [String] {
    var parts: [String] = [], current = "", escaped = false
    for character in list {
        if escaped { current.append(character); escaped = false }
        else if character == "\\" { escaped = true }
        else if character == "," { parts.append(current); current = "" }
        else { current.append(character) }
    }
    parts.append(current)
    return parts
}

func parseDecoder(_ text: String) throws -> GPUMode {
    guard let decoder = GPUMode(rawValue: text.lowercased()) else {
        throw UsageError(description: "unknown decoder '\(text)': use auto, cpu or gpu")
    }
    return decoder
}

/// Sizes like 4096, 64K, 512M, 2G, 1GiB (binary units).
public func parseSize(_ text: String) throws -> Int {
    var digits = Substring(text.trimmingSpaces())
    var unitText = ""
    while let last = digits.last, !last.isNumber { unitText.insert(last, at: unitText.startIndex); digits.removeLast() }
    let shift: Int
    switch unitText.uppercased() {
    case "", "B": shift = 0
    case "K", "KB", "KIB": shift = 10
    case "M", "MB", "MIB": shift = 20
    case "G", "GB", "GIB": shift = 30
    case "T", "TB", "TIB": shift = 40
    default: throw UsageError(description: "bad size '\(text)': use a number with an optional K, M, G or T")
    }
    guard let number = Int(digits), number >= 0, number <= Int.max >> shift else {
        throw UsageError(description: "bad size '\(text)': use a number with an optional K, M, G or T")
    }
    return number << shift
}

private extension String {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
