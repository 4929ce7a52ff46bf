/// The order in which distinct contents are stored. Versions of one file in
/// different snapshots (or copies across directories) are put next to each
/// other, so they fall inside one 16 MiB frame and LZ4X's window finds the
/// repeats; `tree` keeps scan order (for measuring the gain).
public enum ContentOrder: String, Sendable, CaseIterable {
    case similarity
    case tree

    /// Sort key: extension, file name, path inside its source, version.
    static func key(path: String, sourceRoot: String, version: Int) -> (String, String, String, Int) {
        // Relative to the source, without a leading "/" (a SRC given as "v3/"
        // must key its files like one given as "v1").
        var relative = path.hasPrefix(sourceRoot) ? Substring(path.dropFirst(sourceRoot.count)) : Substring(path)
        while relative.hasPrefix("/") { relative = relative.dropFirst() }
        let name = relative.split(separator: "/").last.map(String.init) ?? String(relative)
        let ext = name.lastIndex(of: ".").map { String(name[name.index(after: $0)...]) } ?? ""
        return (ext, name, String(relative), version)
    }

    func arrange(_ items: [(node: Int, path: String, version: Int)], sources: [String]) -> [Int] {
        switch self {
        case .tree:
            return items.map(\.node)
        case .similarity:
            let keyed = items.map { (node: $0.node, key: Self.key(path: $0.path, sourceRoot: sources[$0.version], version: $0.version)) }
            return keyed.sorted { $0.key < $1.key }.map(\.node)
        }
    }
}
