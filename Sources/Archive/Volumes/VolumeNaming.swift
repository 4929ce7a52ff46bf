import Glibc

/// OUT.001, OUT.002, ...: how volume file names are made and recognised.
/// Names are bytes (an OUT of `caf\xe9` makes `caf\xe9.001`).
public enum VolumeNaming {
    /// The suffix of volume `number` (1-based): ".001" ... ".999", ".1000" ...
    public static func suffix(_ number: Int) -> String {
        let digits = String(number)
        return "." + (digits.count < 3 ? String(repeating: "0", count: 3 - digits.count) + digits : digits)
    }

    /// Path of volume `number` (1-based) of archive `base`.
    public static func path(base: BytePath, number: Int) -> BytePath {
        base.withSuffix(suffix(number))
    }

    /// The same for a base written as text.
    public static func path(base: String, number: Int) -> String {
        base + suffix(number)
    }

    /// The archive base for a path naming any of its volumes ("x/OUT.003" -> "x/OUT"),
    /// or the path itself when it has no volume suffix.
    public static func base(of path: BytePath) -> BytePath {
        let b = path.bytes
        guard let dot = b.lastIndex(of: UInt8(ascii: ".")), b.count - dot - 1 >= 3,
              b[(dot + 1)...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              !b[(dot + 1)...].contains(UInt8(ascii: "/")) else { return path }
        return BytePath(Array(b[..<dot]))
    }

    /// The number a volume name carries after `prefix` ("OUT."), if it is one.
    public static func number(of name: [UInt8], prefix: [UInt8]) -> Int? {
        guard name.count >= prefix.count + 3, name.starts(with: prefix) else { return nil }
        let digits = name[prefix.count...]
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), digits.count <= 9 else { return nil }
        let n = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        // "OUT.0001" is not how volume 1 is named: counting it would point at OUT.001.
        return Array(suffix(n).utf8.dropFirst()) == Array(digits) ? n : nil
    }

    /// Numbers of every entry in the base's directory named like one of its volumes.
    public static func existingVolumeNumbers(base: BytePath) -> [Int] {
        let prefix = base.lastComponent + [UInt8(ascii: ".")]
        return names(of: base).compactMap { number(of: $0, prefix: prefix) }.sorted()
    }

    /// Every name in the base's directory that starts with `OUT.`, read
    /// through `directory` when given (a writer's, held open), else by path.
    public static func names(of base: BytePath, directory: Int32? = nil) -> [[UInt8]] {
        let prefix = base.lastComponent + [UInt8(ascii: ".")]
        let dir: OpaquePointer?
        if let directory {
            // A copy: closedir closes what it was given, and it starts where
            // the descriptor is, so rewind.
            let copy = dup(directory)
            dir = copy >= 0 ? fdopendir(copy) : nil
            if dir == nil && copy >= 0 { close(copy) }
            if let dir { rewinddir(dir) }
        } else {
            dir = base.parent.withCString { opendir($0) }
        }
        guard let dir else { return [] }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name.starts(with: prefix) { names.append(name) }
        }
        return names
    }
}
