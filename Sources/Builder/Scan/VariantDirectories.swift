/// Directories whose subdirectories are variants of one tree: snapshots of
/// a backup side by side (`/backups/2026-11-01`, `/backups/2026-11-02`),
/// the languages of a locale tree (`locale/de/LC_MESSAGES/x.mo`,
/// `locale/fr/LC_MESSAGES/x.mo`), packages laid out alike. What marks one:
/// most files below its subdirectories have a path below their subdirectory
/// that another of its subdirectories has too.
///
/// The storage order puts such files side by side (`orderKey`): LZ4X only
/// sees repeats within one frame, and in plain path order the versions of a
/// file under `/backups` sit a whole snapshot apart.
struct VariantDirectories {
    /// Files below a directory's subdirectories, and how many of them share
    /// their path below it with a file of another of its subdirectories.
    struct Sharing: Equatable {
        var files = 0
        var shared = 0
        var subdirectories = 0
        var fraction: Double { files == 0 ? 0 : Double(shared) / Double(files) }
    }

    /// A directory is a variant parent when at least this share of the
    /// files below its subdirectories is shared, and it has two or more.
    /// Measured at level 2 against plain path order: Django 2.2 ... 5.2
    /// +0.1% (0.5: +0.45%, the packages of django/contrib, 0.78, are
    /// interleaved too), /usr/share/{doc,locale} + /usr/lib/python3.11
    /// -4.1% (the languages of one locale domain side by side).
    static let sharedFraction = 0.9

    /// By node id (directories only; empty otherwise).
    let sharing: [Sharing]
    /// By node id: true for a variant parent.
    let isVariantParent: [Bool]

    /// No directory is a variant parent.
    init() {
        sharing = []
        isVariantParent = []
    }

    /// `forced`: directories that are variant parents whatever they hold
    /// (the root made up for several SRCs, which are versions by definition).
    init(tree: ScannedTree, forced: Set<Int> = []) {
        let nodes = tree.nodes
        let parent = nodes.map(\.parent)
        let nameHash = nodes.map { Self.hash($0.name) }
        let files = nodes.indices.filter { nodes[$0].kind == .regular }
        var sharing = [Sharing](repeating: Sharing(), count: nodes.count)
        for id in nodes.indices where nodes[id].kind == .directory {
            sharing[id].subdirectories = nodes[id].children.reduce(0) { $0 + (nodes[$1].kind == .directory ? 1 : 0) }
        }
        // For each file and each ancestor A two or more levels up: the hash
        // of the file's path below A's child on the way, keyed by A. The
        // same key from two children means a shared path (a child cannot
        // hold one path twice). Two passes over the same keys, made again
        // rather than kept (they are files times depth).
        func forEachKey(_ body: (_ directory: Int, _ key: UInt64) -> Void) {
            for id in files {
                var below = nameHash[id]
                var child = parent[id]
                while child >= 0, parent[child] >= 0 {
                    let directory = parent[child]
                    body(directory, Self.combine(UInt64(directory), below))
                    below = Self.combine(nameHash[child], below)
                    child = directory
                }
            }
        }
        var seen = KeyCounts(capacity: files.count * 2)
        forEachKey { directory, key in
            seen.add(key)
            sharing[directory].files += 1
        }
        forEachKey { directory, key in if seen.isRepeated(key) { sharing[directory].shared += 1 } }
        self.sharing = sharing
        isVariantParent = nodes.indices.map { id in
            forced.contains(id) || (nodes[id].kind == .directory && sharing[id].subdirectories >= 2
                                    && sharing[id].fraction >= Self.sharedFraction)
        }
    }

    /// The file's path below the archive root, with every directory that is
    /// a child of a variant parent moved after the rest, innermost first,
    /// and then the file name's extension: `locale/de/LC_MESSAGES/x.mo`
    /// sorts as `locale/LC_MESSAGES/x`, `de`, `.mo`. Sorted, these keys put
    /// the same file of all variants side by side, the files of one stem
    /// together within a variant (a translation's .po and the .mo made from
    /// it hold the same strings), and otherwise keep path order: the files
    /// of a directory stay together. The top directories of versions
    /// (`tree.versionRoots`) are left out: the version number orders them,
    /// after the key, so the versions of a file sit side by side.
    func orderKey(_ id: Int, in tree: ScannedTree) -> [UInt8] {
        var path: [[UInt8]] = []
        var variants: [[UInt8]] = []
        var node = id
        while node >= 0, tree.nodes[node].parent >= 0,
              tree.nodes[node].parent != 0 || !tree.versionRoots.contains(node) {
            let parent = tree.nodes[node].parent
            if tree.nodes[node].kind == .directory && isVariantParent.indices.contains(parent) && isVariantParent[parent] {
                variants.append(tree.nodes[node].name)
            } else {
                path.append(tree.nodes[node].name)
            }
            node = parent
        }
        var ext: [UInt8] = []
        if !variants.isEmpty, let dot = path[0].lastIndex(of: UInt8(ascii: ".")), dot > 0 {
            ext = Array(path[0][dot...])
            path[0] = Array(path[0][..<dot])
        }
        var key = Array(path.reversed().joined(separator: [UInt8(ascii: "/")]))
        // 0 sorts below every name byte, so a file's variants stay together.
        for part in variants + (ext.isEmpty ? [] : [ext]) {
            key.append(0)
            key += part
        }
        return key
    }

    /// Which 64-bit keys were added more than once: open addressing, no
    /// removal (a Dictionary's hashing cost 6% of a build of ten Django
    /// releases in one SRC; this is a tenth of that). Grows as it fills.
    struct KeyCounts {
        private var keys: [UInt64]
        private var repeated: [Bool]
        private var count = 0

        init(capacity: Int) {
            let size = 1 << max(6, Int.bitWidth - (capacity * 2).leadingZeroBitCount)
            keys = [UInt64](repeating: 0, count: size)
            repeated = [Bool](repeating: false, count: size)
        }

        /// 0 marks an empty slot, so key 0 is stored as 1.
        private func slot(_ key: UInt64) -> Int {
            let mask = keys.count - 1
            var i = Int(truncatingIfNeeded: key) & mask
            while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
            return i
        }

        mutating func add(_ raw: UInt64) {
            let key = raw == 0 ? 1 : raw
            if count * 2 >= keys.count { grow() }
            let i = slot(key)
            if keys[i] == key { repeated[i] = true } else { keys[i] = key; count += 1 }
        }

        func isRepeated(_ raw: UInt64) -> Bool {
            let i = slot(raw == 0 ? 1 : raw)
            return keys[i] != 0 && repeated[i]
        }

        private mutating func grow() {
            let old = zip(keys, repeated).filter { $0.0 != 0 }
            keys = [UInt64](repeating: 0, count: keys.count * 2)
            repeated = [Bool](repeating: false, count: keys.count)
            for (key, twice) in old {
                let i = slot(key)
                keys[i] = key
                repeated[i] = twice
            }
        }
    }

    /// FNV-1a 64 of a name, then mixed: names hash apart, and `combine`
    /// keeps the order of components.
    static func hash(_ name: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    static func combine(_ outer: UInt64, _ inner: UInt64) -> UInt64 {
        var x = outer &* 0x9E37_79B9_7F4A_7C15 ^ (inner &+ 0x632B_E59B_D9B4_E019)
        x ^= x >> 31
        x = x &* 0xBF58_476D_1CE4_E5B9
        return x ^ (x >> 29)
    }
}

