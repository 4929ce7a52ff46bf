/// The part of an archive that `gpuarc-extract ARCHIVE DEST PATH...` restores
/// and `--list PATH...` lists: each PATH (a version, a directory, a file, a
/// symlink or special file, named from the archive's root) with everything
/// below it, plus the directories on the way to it, which are created with
/// their own attributes but none of their other entries.
///
/// PATHs are bytes, as argv gave them. Every PATH is resolved when the
/// selection is made, before anything is written: those the archive does not
/// hold are collected in `missing`, and a `..` component refuses the whole
/// request. A selected entry is an entry (a name), not an inode: of a file
/// with several names, only the names selected are restored.
public struct PathSelection: Sendable {
    /// The PATHs, as given, that name nothing in the archive (in argument order).
    public let missing: [[UInt8]]
    /// A PATH named the root ("/", "."): the whole tree.
    public let everything: Bool
    /// Entries (indices into `ArchiveIndex.entries`) a PATH names.
    let selected: Set<Int>
    /// Directories on the way from the root to a selected entry, the root
    /// among them (a directory that is also selected is restored whole).
    let onTheWay: Set<Int>

    /// What a walk of the tree does with one entry.
    public enum Step: Sendable {
        /// Neither selected nor on the way to anything selected.
        case skip
        /// A directory on the way to something selected: visited (created,
        /// with its attributes), but only for its entries that lead on.
        case onTheWay
        /// Selected, or below something selected: restored with everything below it.
        case whole
    }

    /// Resolves every path; throws `.usage` for a path that is empty or
    /// has a `..` component (the first such path is named).
    public init(index: ArchiveIndex, paths: [[UInt8]]) throws {
        var missing: [[UInt8]] = [], selected = Set<Int>(), onTheWay = Set<Int>()
        var everything = false
        let parsed = try paths.map { ($0, try Self.components(of: $0)) }
        for (path, components) in parsed {
            guard !components.isEmpty else { everything = true; continue }
            var dir = ArchiveIndex.rootInode
            var passed: [Int] = []
            var found: Int?
            for (k, name) in components.enumerated() {
                guard index.inodes[dir].kind == .directory,
                      let entry = name.withUnsafeBytes({ index.lookupEntry(directory: dir, name: $0) }) else { break }
                passed.append(dir)
                if k == components.count - 1 { found = entry } else { dir = Int(index.entries[entry].inode) }
            }
            guard let found else { missing.append(path); continue }
            selected.insert(found)
            onTheWay.formUnion(passed)
        }
        self.missing = missing
        self.everything = everything
        self.selected = selected
        self.onTheWay = onTheWay
    }

    /// Whether any PATH named something in the archive.
    public var isEmpty: Bool { !everything && selected.isEmpty }

    /// A path's names: a leading "/" or "./", a trailing "/", repeated
    /// slashes and "." components are accepted and dropped ("/" and "."
    /// are the root, no names); ".." is refused, as is an empty path.
    public static func components(of path: [UInt8]) throws -> [[UInt8]] {
        guard !path.isEmpty else { throw ArchiveError(.usage, "an empty PATH names nothing (use / for the whole archive)") }
        let parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        if parts.contains(where: { $0.elementsEqual([0x2E, 0x2E]) }) {
            throw ArchiveError(.usage, "PATH \(Escaped.text(path)): \"..\" is not allowed; name paths inside the archive from its root, e.g. v1/docs")
        }
        return parts.filter { !$0.elementsEqual([0x2E]) }.map(Array.init)
    }

    /// What to do with entry `entry` (an index into `index.entries`) of a
    /// directory that is not itself restored whole (the entries of one that
    /// is are all `.whole`).
    public func step(entry: Int, index: ArchiveIndex) -> Step {
        if everything || selected.contains(entry) { return .whole }
        let child = Int(index.entries[entry].inode)
        return index.inodes[child].kind == .directory && onTheWay.contains(child) ? .onTheWay : .skip
    }
}
