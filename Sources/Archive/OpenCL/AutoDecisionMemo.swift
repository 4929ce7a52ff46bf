import Foundation

/// Remembers that `auto` chose the CPU on this machine, so that the next run
/// can choose it again without loading OpenCL at all. Loading a CPU driver
/// (PoCL brings LLVM) costs 0.2-0.3 s from a cold page cache: a third of the
/// mount's time budget, only to learn once more that the CPU is faster.
///
/// A memo is valid for one fingerprint of the installation: the OpenCL ICD
/// files (names, contents, modification times), the GPU device nodes in
/// /dev, the ICD environment variables, the kernels version and the build
/// kind. Installing or removing a driver or a GPU changes it, and `auto`
/// measures again. Only "the CPU won" is remembered: when OpenCL wins it has
/// to be loaded anyway.
enum AutoDecisionMemo {
    static var file: URL {
        GPUCalibrator.cacheFile.deletingLastPathComponent().appendingPathComponent("auto-decisions.json")
    }

    /// The line `auto` printed when it chose the CPU for `key`, if still valid.
    static func cpuNote(for key: String) -> String? {
        load()[fingerprint() + " | " + key]
    }

    static func rememberCPU(for key: String, note: String) {
        var all = load()
        all[fingerprint() + " | " + key] = note
        guard let data = try? JSONEncoder().encode(all) else { return }
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? data.write(to: file, options: .atomic)
    }

    private static func load() -> [String: String] {
        guard let data = try? Data(contentsOf: file),
              let all = try? JSONDecoder().decode([String: String].self, from: data) else { return [:] }
        return all
    }

    /// A digest of everything that decides which OpenCL devices exist.
    static func fingerprint() -> String {
        let env = ProcessInfo.processInfo.environment
        var parts: [String] = ["kernels v\(GPUCalibrator.kernelsVersion)"]
        #if DEBUG
        parts.append("debug build")
        #endif
        for name in ["OCL_ICD_VENDORS", "OCL_ICD_FILENAMES", "OPENCL_VENDOR_PATH", "POCL_DEVICES", "CUDA_VISIBLE_DEVICES"] {
            parts.append("\(name)=\(env[name] ?? "")")
        }
        let fm = FileManager.default
        let vendors = env["OCL_ICD_VENDORS"].flatMap { $0.hasSuffix(".icd") ? nil : $0 } ?? "/etc/OpenCL/vendors"
        for name in ((try? fm.contentsOfDirectory(atPath: vendors)) ?? []).sorted() {
            let path = vendors + "/" + name
            let contents = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let mtime = (try? fm.attributesOfItem(atPath: path)[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            parts.append("\(name):\(contents.trimmingCharacters(in: .whitespacesAndNewlines)):\(mtime)")
        }
        let nodes = ((try? fm.contentsOfDirectory(atPath: "/dev")) ?? []).filter { $0.hasPrefix("nvidia") || $0 == "kfd" }
            + ((try? fm.contentsOfDirectory(atPath: "/dev/dri")) ?? []).map { "dri/" + $0 }
        parts.append("dev:" + nodes.sorted().joined(separator: ","))
        let joined = parts.joined(separator: "\n")
        return String(joined.withCString { XXHash64.hash(UnsafeRawBufferPointer(start: $0, count: strlen($0))) }, radix: 16)
    }
}
