import Foundation

/// Finds the `.cl` files at run time. Kernels ship as source so that each
/// driver compiles them for its own device.
public enum OpenCLKernelSource {
    /// Directories searched, in order: `$GPUARC_KERNELS`, the installed
    /// layout next to the executable, then `Kernels/` in any ancestor of the
    /// executable and of the current directory (a development checkout).
    public static func searchPaths() -> [String] {
        var paths: [String] = []
        if let env = ProcessInfo.processInfo.environment["GPUARC_KERNELS"], !env.isEmpty { paths.append(env) }
        // The running binary as the kernel knows it: argv[0] is only a name
        // when the tool was found on PATH, which made the search start in
        // the current directory instead.
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                             ?? CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let executableDir = executable.deletingLastPathComponent()
        paths.append(executableDir.appendingPathComponent("../share/gpuarc/Kernels").standardized.path)
        for start in [executableDir, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)] {
            var dir = start.standardized
            while true {
                paths.append(dir.appendingPathComponent("Kernels").path)
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }
    }

    /// The text of `file`, or `OpenCLError.kernelNotFound` naming every path tried.
    public static func load(_ file: String) throws -> String {
        let paths = searchPaths()
        for dir in paths {
            let path = (dir as NSString).appendingPathComponent(file)
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return text }
        }
        throw OpenCLError.kernelNotFound(file: file, tried: paths)
    }
}
