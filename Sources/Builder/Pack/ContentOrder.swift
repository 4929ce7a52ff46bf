import Archive

/// The order in which distinct contents are stored. LZ4X only finds repeats
/// inside one 16 MiB frame, so the order decides what it can see.
///
/// - `path` (default): by path inside its SRC, then version. The versions of a
///   file sit side by side (LZ4X removes what they share) and the rest keeps
///   directory locality (files of one directory resemble each other: the
///   locale files of one language, a package's modules). On ten Django
///   releases this is 3% smaller than `similarity`.
/// - `similarity`: by extension, then file name, across directories (DwarFS's
///   idea): same-named files of different directories side by side.
/// - `tree`: scan order, version after version (for measuring the others;
///   only chunk dedup and deltas see across versions).
public enum ContentOrder: String, Sendable, CaseIterable {
    case path
    case similarity
    case tree

    /// Arranges contents given by node, path below its SRC (bytes) and version.
    func arrange(_ items: [(node: Int, relative: [UInt8], version: Int)]) -> [Int] {
        switch self {
        case .tree:
            return items.map(\.node)
        case .path:
            // Path inside its source, then version. Every directory's subtree
            // is one contiguous range of this order (byte strings sharing a
            // prefix are contiguous when sorted).
            return items.sorted { a, b in
                a.relative == b.relative ? a.version < b.version : a.relative.lexicographicallyPrecedes(b.relative)
            }.map(\.node)
        case .similarity:
            // Extension, file name, path inside its source, version.
            let keyed = items.map { item -> (node: Int, key: [[UInt8]], version: Int) in
                let name = item.relative.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? item.relative
                let ext = name.lastIndex(of: UInt8(ascii: ".")).map { Array(name[(name.index(after: $0))...]) } ?? []
                return (item.node, [ext, name, item.relative], item.version)
            }
            return keyed.sorted { a, b in
                for (x, y) in zip(a.key, b.key) where x != y { return x.lexicographicallyPrecedes(y) }
                return a.version < b.version
            }.map(\.node)
        }
    }
}
