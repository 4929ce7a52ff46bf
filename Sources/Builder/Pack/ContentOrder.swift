import Archive

/// The order in which distinct contents are stored. LZ4X only finds repeats
/// inside one 16 MiB frame, so the order decides what it can see.
///
/// - `path` (default): by path, then version, with the subdirectories of a
///   variant parent (`VariantDirectories`: snapshots, the languages of a
///   locale tree) interleaved: the versions of a file sit side by side
///   (LZ4X removes what they share), then the same file in the other
///   variants, and the rest keeps directory locality (files of one
///   directory resemble each other: a package's modules).
/// - `similarity`: by extension, then file name, across directories (DwarFS's
///   idea): same-named files of different directories side by side.
/// - `tree`: scan order, version after version (for measuring the others;
///   only chunk dedup and deltas see across versions).
public enum ContentOrder: String, Sendable, CaseIterable {
    case path
    case similarity
    case tree

    /// One distinct content: its node, `VariantDirectories.orderKey`, its
    /// file name and its version.
    struct Item {
        let node: Int
        let key: [UInt8]
        let name: [UInt8]
        let version: Int
    }

    func arrange(_ items: [Item]) -> [Int] {
        switch self {
        case .tree:
            return items.map(\.node)
        case .path:
            // Every directory's subtree that is no variant parent is one
            // contiguous range of this order (keys sharing a prefix are
            // contiguous when sorted).
            return items.sorted { a, b in
                a.key == b.key ? a.version < b.version : a.key.lexicographicallyPrecedes(b.key)
            }.map(\.node)
        case .similarity:
            // Extension, file name, path, version.
            let keyed = items.map { item -> (node: Int, key: [[UInt8]], version: Int) in
                let ext = item.name.lastIndex(of: UInt8(ascii: ".")).map { Array(item.name[(item.name.index(after: $0))...]) } ?? []
                return (item.node, [ext, item.name, item.key], item.version)
            }
            return keyed.sorted { a, b in
                for (x, y) in zip(a.key, b.key) where x != y { return x.lexicographicallyPrecedes(y) }
                return a.version < b.version
            }.map(\.node)
        }
    }
}
