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

    /// `path` relative to its source, without a leading "/" (a SRC given as
    /// "v3/" must key its files like one given as "v1").
    static func relative(_ path: String, to sourceRoot: String) -> String {
        var relative = path.hasPrefix(sourceRoot) ? Substring(path.dropFirst(sourceRoot.count)) : Substring(path)
        while relative.hasPrefix("/") { relative = relative.dropFirst() }
        return String(relative)
    }

    func arrange(_ items: [(node: Int, path: String, version: Int)], sources: [String]) -> [Int] {
        switch self {
        case .tree:
            return items.map(\.node)
        case .path:
            // Path inside its source, then version. Every directory's subtree
            // is one contiguous range of this order (strings sharing a prefix
            // are contiguous when sorted).
            let keyed = items.map { (node: $0.node, key: (Self.relative($0.path, to: sources[$0.version]), $0.version)) }
            return keyed.sorted { $0.key < $1.key }.map(\.node)
        case .similarity:
            // Extension, file name, path inside its source, version.
            let keyed = items.map { item -> (node: Int, key: (String, String, String, Int)) in
                let relative = Self.relative(item.path, to: sources[item.version])
                let name = relative.split(separator: "/").last.map(String.init) ?? relative
                let ext = name.lastIndex(of: ".").map { String(name[name.index(after: $0)...]) } ?? ""
                return (item.node, (ext, name, relative, item.version))
            }
            return keyed.sorted { $0.key < $1.key }.map(\.node)
        }
    }
}
