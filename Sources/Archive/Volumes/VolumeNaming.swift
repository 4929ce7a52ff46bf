import Foundation

/// OUT.001, OUT.002, ...: how volume file names are made and recognised.
public enum VolumeNaming {
    /// Path of volume `number` (1-based) of archive `base`.
    public static func path(base: String, number: Int) -> String {
        base + "." + (number < 1000 ? String(format: "%03d", number) : String(number))
    }

    /// The archive base for a path naming any of its volumes ("x/OUT.003" -> "x/OUT"),
    /// or the path itself when it has no volume suffix.
    public static func base(of path: String) -> String {
        guard let dot = path.lastIndex(of: "."), path[path.index(after: dot)...].count >= 3,
              path[path.index(after: dot)...].allSatisfy({ $0.isASCII && $0.isNumber }) else { return path }
        return String(path[..<dot])
    }

    /// Numbers of every file in the base's directory named like one of its volumes.
    public static func existingVolumeNumbers(base: String) -> [Int] {
        let url = URL(fileURLWithPath: base)
        let dir = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + "."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return [] }
        return names.compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            let suffix = name.dropFirst(prefix.count)
            guard suffix.count >= 3, suffix.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(suffix)
        }.sorted()
    }
}
