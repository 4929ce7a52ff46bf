/// One SRC holding snapshots of a tree as its subdirectories, the way
/// backups are kept (`gpuarc-build /backups out` over `/backups/2026-11-01`,
/// `/backups/2026-11-02`, ...): each snapshot directory becomes a version,
/// exactly as if the snapshots had been given as separate SRCs, so the
/// storage order puts the versions of a file side by side and the
/// similarity index ages its tiers by snapshot.
///
/// Snapshots, as opposed to a tree whose subdirectories merely look alike:
/// the SRC's subdirectories (two or more, with at most a few regular files
/// beside them: a log, a README) share nearly all their paths below them,
/// and most files have the same size as another snapshot's file at the same
/// path (they did not change). Measured, as (paths shared, sizes too):
/// Django 4.2.1 ... 4.2.10 (0.9999, 0.998), Django 2.2 ... 5.2 (0.998,
/// 0.876); /usr/share/locale, whose languages hold the same files with
/// other contents (1.0, 0.025); /usr/share/doc, where most packages have a
/// `copyright` and a `changelog.Debian.gz` (0.575, 0.30); /usr/share/man
/// (0.06, 0.001). Either way the storage order interleaves the
/// subdirectories of such a SRC (`VariantDirectories`); being versions
/// only changes how the similarity index ages its tiers.
enum SnapshotLayout {
    static let minimumSharedPaths = 0.8
    static let minimumSameSize = 0.5
    /// Regular files directly in the SRC, beside the snapshots.
    static let maximumLooseFiles = 8

    /// The snapshot directories of a one-SRC tree (children of the root), in
    /// version order, or nil when the SRC does not look like snapshots.
    /// `forced`: any subdirectories are snapshots (`--snapshots on`).
    static func snapshots(of tree: ScannedTree, sharing: VariantDirectories.Sharing, forced: Bool = false) -> [Int]? {
        let root = tree.nodes[0]
        let directories = root.children.filter { tree.nodes[$0].kind == .directory }
        let loose = root.children.count - directories.count
        guard !directories.isEmpty else { return nil }
        guard forced || (directories.count >= 2 && loose <= maximumLooseFiles && sharing.fraction >= minimumSharedPaths
                         && sameSizeFraction(tree) >= minimumSameSize) else { return nil }
        return directories.sorted { versionPrecedes(tree.nodes[$0].name, tree.nodes[$1].name) }
    }

    /// Share of the files below the root's subdirectories whose path below
    /// their subdirectory and size another subdirectory's file also has:
    /// the files a snapshot has unchanged from another one.
    static func sameSizeFraction(_ tree: ScannedTree) -> Double {
        struct Key: Hashable { let path: UInt64; let size: UInt64 }
        var keys: [Key] = []
        for id in tree.nodes.indices where tree.nodes[id].kind == .regular {
            var below = VariantDirectories.hash(tree.nodes[id].name)
            var node = tree.nodes[id].parent
            guard node > 0 else { continue }
            while tree.nodes[node].parent > 0 {
                below = VariantDirectories.combine(VariantDirectories.hash(tree.nodes[node].name), below)
                node = tree.nodes[node].parent
            }
            keys.append(Key(path: below, size: tree.nodes[id].size))
        }
        var counts: [Key: Int] = [:]
        for key in keys { counts[key, default: 0] += 1 }
        let same = keys.reduce(0) { $0 + (counts[$1]! > 1 ? 1 : 0) }
        return keys.isEmpty ? 0 : Double(same) / Double(keys.count)
    }

    /// Gives every node below snapshot directory i version i.
    static func assignVersions(_ tree: inout ScannedTree, snapshots: [Int]) {
        var versionOf = [Int](repeating: -1, count: tree.nodes.count)
        for (version, directory) in snapshots.enumerated() { versionOf[directory] = version }
        // Nodes come after their parent (the scan is pre-order), so one pass does.
        for id in tree.nodes.indices {
            let parent = tree.nodes[id].parent
            if versionOf[id] < 0, parent >= 0 { versionOf[id] = versionOf[parent] }
            tree.nodes[id].version = max(versionOf[id], 0)
        }
        tree.versionRoots = snapshots
    }

    /// Name order with runs of digits compared as numbers (`ls -v`):
    /// Django-4.2.2 before Django-4.2.10, daily.9 before daily.10.
    static func versionPrecedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if isDigit(a[i]) && isDigit(b[j]) {
                var ei = i, ej = j
                while ei < a.count && isDigit(a[ei]) { ei += 1 }
                while ej < b.count && isDigit(b[ej]) { ej += 1 }
                // Leading zeros do not count; then the longer number is larger.
                let na = a[i..<ei].drop { $0 == 0x30 }, nb = b[j..<ej].drop { $0 == 0x30 }
                if na.count != nb.count { return na.count < nb.count }
                if !na.elementsEqual(nb) { return na.lexicographicallyPrecedes(nb) }
                i = ei
                j = ej
            } else {
                if a[i] != b[j] { return a[i] < b[j] }
                i += 1
                j += 1
            }
        }
        if a.count - i != b.count - j { return a.count - i < b.count - j }
        return a.lexicographicallyPrecedes(b)
    }
}
