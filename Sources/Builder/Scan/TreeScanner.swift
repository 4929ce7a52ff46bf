import Archive
import CSysCalls
import Glibc

/// What the scan reads, besides the tree itself.
struct ScanOptions {
    /// Read extended attributes (and so ACLs); `--no-xattrs` turns it off.
    var xattrs = true
    /// Entries to leave out, by (device, inode): the build's own lock file
    /// when OUT lies inside a SRC.
    var excluded: Set<HardLinkKey> = []
    var threads = 2
    /// One SRC of snapshot directories (`SnapshotLayout`): each a version
    /// when they look like snapshots (`auto`), always (`on`) or never (`off`).
    var snapshots = SnapshotDetection.auto
    /// Versioned archives (`--name`, appends): every SRC becomes a
    /// top-level directory, even a single one, named by `versionNames`
    /// where given (else after the directory it is).
    var versioned = false
    var versionNames: [[UInt8]]?
}

/// `--snapshots`.
public enum SnapshotDetection: String, Sendable, CaseIterable {
    case auto, on, off
}

/// Walks the sources with directory descriptors: every entry is stat'ed and
/// read relative to its directory (fstatat, readlinkat, *xattrat), never by a
/// path and never through a symlink, so there is no limit on depth or path
/// length. Each directory is listed between two fstat calls of its own
/// descriptor and listed again if it changed meanwhile, so its stored
/// attributes are those of the entries stored. Unreadable entries are
/// warned about; the build goes on.
struct TreeScanner {
    private var tree = ScannedTree()
    private let options: ScanOptions
    private let directories: SourceDirectories

    private init(options: ScanOptions, directories: SourceDirectories) {
        self.options = options
        self.directories = directories
    }

    /// One SRC: its contents are the root. Several: each becomes a top-level
    /// directory named after the directory it really is.
    static func scan(_ sources: SourceRoots, options: ScanOptions = ScanOptions()) throws -> ScannedTree {
        var tree: ScannedTree
        let versioned = sources.roots.count > 1 || options.versioned
        if versioned {
            tree = try scanVersions(sources, options: options)
        } else {
            tree = scanSource(sources.roots[0], source: 0, options: options)
        }
        tree.sourceNames = sources.roots.map(\.argument)
        tree.linkHardLinks()
        if versioned {
            tree.versionRoots = tree.sourceRoots
            tree.variants = VariantDirectories(tree: tree, forced: [0])
        } else {
            tree.variants = VariantDirectories(tree: tree)
            if options.snapshots != .off,
               let snapshots = SnapshotLayout.snapshots(of: tree, sharing: tree.variants.sharing[0], forced: options.snapshots == .on) {
                SnapshotLayout.assignVersions(&tree, snapshots: snapshots)
            }
        }
        return tree
    }

    /// One SRC as a tree of its own (its root is node 0). With more than one
    /// thread, the subtrees of its subdirectories are walked in parallel
    /// (`scanSubtree`) and joined in name order, so node ids are those of one
    /// walk: scanning waits on system calls, and a one-SRC build of ten
    /// snapshots spent a third of its time in a one-thread scan.
    private static func scanSource(_ root: SourceRoots.Root, source: Int, options: ScanOptions) -> ScannedTree {
        var scanner = TreeScanner(root, source: source, options: options)
        guard options.threads > 1 else {
            scanner.walk(from: 0)
            return scanner.tree
        }
        let entries = scanner.list(0)
        let subdirectories = entries.filter { $0.kind == .directory }
        let parts = parallelMap(subdirectories.count, threads: options.threads) { i in
            scanSubtree(root, source: source, entry: subdirectories[i], options: options)
        }
        // Room for every part at once, rather than copies of a doubling array.
        scanner.tree.nodes.reserveCapacity(scanner.tree.nodes.count + entries.count + parts.reduce(0) { $0 + $1!.nodes.count })
        var next = 0
        for entry in entries {
            if entry.kind == .directory {
                scanner.append(part: parts[next]!)
                next += 1
            } else {
                _ = scanner.add(entry, in: 0)
            }
        }
        return scanner.tree
    }

    /// One subdirectory of a SRC and everything below it, as a tree whose
    /// node 0 stands for the SRC (the subdirectory is node 1): it is reached
    /// and checked exactly as in a walk of the whole SRC.
    private static func scanSubtree(_ root: SourceRoots.Root, source: Int, entry: Listed, options: ScanOptions) -> ScannedTree {
        var scanner = TreeScanner(root, source: source, options: options)
        if let child = scanner.add(entry, in: 0) { scanner.walk(from: child) }
        return scanner.tree
    }

    /// A scanner of one SRC whose tree holds its root node.
    private init(_ root: SourceRoots.Root, source: Int, options: ScanOptions) {
        let directories = SourceDirectories(verify: false)
        directories.setRoot(0, fd: root.fd)
        self.init(options: options, directories: directories)
        tree.sourceNames = [root.argument]
        tree.sourceRoots = [0]
        tree.nodes.append(ScannedNode(name: [], parent: -1, kind: .directory, metadata: EntryMetadata(root.stat, kind: .directory),
                                      identity: FileIdentity(root.stat), blocks: 0, source: source, version: source))
    }

    /// Appends a subtree scanned by `scanSubtree` below the root: its node 1
    /// becomes a child of node 0, ids shifted to follow the nodes so far.
    private mutating func append(part: ScannedTree) {
        let offset = tree.nodes.count - 1
        for var node in part.nodes.dropFirst() {
            node.parent = node.parent == 0 ? 0 : node.parent + offset
            node.children = node.children.map { $0 + offset }
            tree.nodes.append(node)
        }
        tree.nodes[0].children.append(offset + 1)
        tree.warnings += part.warnings
    }

    /// Several SRCs, each scanned on its own and in parallel (scanning waits
    /// on system calls), then joined in SRC order under a new root, so node
    /// ids are those of one walk of the SRCs one after the other.
    private static func scanVersions(_ sources: SourceRoots, options: ScanOptions) throws -> ScannedTree {
        var names = Set<[UInt8]>()
        let topNames = options.versionNames ?? sources.roots.map(\.name)
        precondition(topNames.count == sources.roots.count, "one name per SRC")
        for (root, name) in zip(sources.roots, topNames) {
            guard !name.isEmpty, name != Array(".".utf8), name != Array("..".utf8), !name.contains(UInt8(ascii: "/")) else {
                throw ArchiveError(.usage, options.versionNames != nil
                    ? "--name \"\(Escaped.text(name))\" cannot name a top-level directory (empty, \".\", \"..\" or with a \"/\")"
                    : "source \(root.argument) has no name to become a top-level directory (is it \"/\"?): give it one with --name")
            }
            guard names.insert(name).inserted else {
                throw ArchiveError(.usage, "two sources would both become the top-level directory \"\(Escaped.text(name))\": give each SRC a distinct directory name")
            }
        }
        let parts = parallelMap(sources.roots.count, threads: options.threads) { source in
            scanSource(sources.roots[source], source: source, options: options)
        }
        var tree = ScannedTree()
        var rootStat = stat()
        rootStat.st_mode = S_IFDIR | 0o755
        rootStat.st_uid = getuid()
        rootStat.st_gid = getgid()
        tree.nodes.append(ScannedNode(name: [], parent: -1, kind: .directory, metadata: EntryMetadata(rootStat, kind: .directory),
                                      identity: FileIdentity(rootStat), blocks: 0, source: 0))
        var children: [Int] = []
        for (source, part) in parts.enumerated() {
            let scanned = part!
            let offset = tree.nodes.count
            for var node in scanned.nodes {
                node.children = node.children.map { $0 + offset }
                node.parent = node.parent < 0 ? 0 : node.parent + offset
                tree.nodes.append(node)
            }
            tree.nodes[offset].name = topNames[source]
            tree.warnings += scanned.warnings
            tree.sourceRoots.append(offset)
            children.append(offset)
        }
        // The root is made up: its time is that of the newest SRC.
        let newest = children.max { a, b in
            (tree.nodes[a].metadata.mtimeSec, tree.nodes[a].metadata.mtimeNsec) < (tree.nodes[b].metadata.mtimeSec, tree.nodes[b].metadata.mtimeNsec)
        }
        if let newest {
            tree.nodes[0].metadata.mtimeSec = tree.nodes[newest].metadata.mtimeSec
            tree.nodes[0].metadata.mtimeNsec = tree.nodes[newest].metadata.mtimeNsec
        }
        tree.nodes[0].children = children.sorted { tree.nodes[$0].name.lexicographicallyPrecedes(tree.nodes[$1].name) }
        return tree
    }

    private mutating func warn(_ message: String) { tree.warnings.append(message) }

    /// One entry of a listing, with everything read relative to its directory.
    private struct Listed {
        let name: [UInt8]
        let st: stat
        let kind: InodeKind
        var xattrs: [ExtendedAttribute] = []
        var target: [UInt8] = []
    }

    /// Depth-first from directory `start`, pre-order (a directory's entries
    /// in name order, each subdirectory's subtree right after it),
    /// iteratively: a tree may be deeper than any stack.
    private mutating func walk(from start: Int) {
        var stack: [(dir: Int, entries: [Listed], next: Int)] = [(start, list(start), 0)]
        while !stack.isEmpty {
            let top = stack.count - 1
            let (dir, entries, next) = stack[top]
            guard next < entries.count else {
                stack.removeLast()
                directories.close(dir)
                continue
            }
            stack[top].next += 1
            if let id = add(entries[next], in: dir) { stack.append((id, list(id), 0)) }
        }
    }

    /// Adds the node of a listed entry of directory `dir`; returns its id
    /// when it is a directory (registered, to be listed next).
    private mutating func add(_ entry: Listed, in dir: Int) -> Int? {
        var child = ScannedNode(name: entry.name, parent: dir, kind: entry.kind, metadata: EntryMetadata(entry.st, kind: entry.kind),
                                identity: FileIdentity(entry.st), blocks: Int64(entry.st.st_blocks), source: tree.nodes[dir].source,
                                version: tree.nodes[dir].version)
        child.metadata.xattrs = entry.xattrs
        child.linkTarget = entry.target
        if entry.kind != .directory && entry.st.st_nlink > 1 {
            child.linkKey = HardLinkKey(dev: UInt64(entry.st.st_dev), ino: UInt64(entry.st.st_ino))
        }
        let id = tree.nodes.count
        tree.nodes.append(child)
        tree.nodes[dir].children.append(id)
        guard entry.kind == .directory else { return nil }
        directories.register(id, parent: dir, name: entry.name, dev: UInt64(entry.st.st_dev), ino: UInt64(entry.st.st_ino))
        return id
    }

    /// Lists directory `node` and reads its own attributes from its
    /// descriptor (which replace what its parent's listing said of it).
    private mutating func list(_ node: Int) -> [Listed] {
        do {
            let expected = tree.nodes[node].identity
            let (st, xattrs, entries) = try directories.withDirectory(node) { fd, fresh in
                try listConsistently(node, fd, expected: expected, fresh: fresh)
            }
            tree.nodes[node].metadata = EntryMetadata(st, kind: .directory)
            tree.nodes[node].metadata.xattrs = xattrs
            tree.nodes[node].identity = FileIdentity(st)
            return entries
        } catch {
            warn("cannot read directory \(tree.displayPath(node)): \(error); archived as an empty directory")
            return []
        }
    }

    private struct ListError: Error, CustomStringConvertible { let description: String }

    /// A listing taken between two identical identities of the directory (a
    /// second try if the first saw it change), so the entries stored are
    /// those its stored times describe. The first try takes the identity its
    /// parent's listing saw as the one before (it was stat'ed there, then
    /// opened): the same after means the same directory, unchanged since.
    /// `fresh`: the descriptor was opened just now (its offset is 0).
    private mutating func listConsistently(_ node: Int, _ fd: Int32, expected: FileIdentity,
                                           fresh: Bool) throws -> (stat, [ExtendedAttribute], [Listed]) {
        var attempt = 0
        var before = expected
        while true {
            attempt += 1
            if attempt > 1 {
                var st = stat()
                guard fstat(fd, &st) == 0 else { throw ListError(description: posixErrorText(errno)) }
                before = FileIdentity(st)
            }
            let xattrs = readXattrs(.descriptor(fd), of: node, name: nil)
            let entries = try listOnce(node, fd, rewind: attempt > 1 || !fresh)
            var after = stat()
            guard fstat(fd, &after) == 0 else { throw ListError(description: posixErrorText(errno)) }
            if before == FileIdentity(after) { return (after, xattrs, entries) }
            if attempt == 2 {
                warn("\(tree.displayPath(node)) changed while being listed, twice: stored as the second listing found it")
                return (after, xattrs, entries)
            }
        }
    }

    private mutating func listOnce(_ node: Int, _ fd: Int32, rewind: Bool) throws -> [Listed] {
        // Straight from the descriptor (getdents64): no DIR of its own to dup, check and close.
        if rewind, lseek(fd, 0, SEEK_SET) != 0 { throw ListError(description: posixErrorText(errno)) }
        var names: [[UInt8]] = []
        let size = 64 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = gpuarc_getdents64(fd, buffer, size)
            if n < 0 {
                if errno == EINTR { continue }
                warn("error while listing \(tree.displayPath(node)): \(posixErrorText(errno)); some entries may be missing")
                break
            }
            if n == 0 { break }
            // struct linux_dirent64: u64 ino, s64 offset, u16 record length, u8 type, name (NUL-terminated).
            var at = 0
            while at < n {
                let length = Int(buffer.loadUnaligned(fromByteOffset: at + 16, as: UInt16.self))
                let start = buffer.advanced(by: at + 19).assumingMemoryBound(to: UInt8.self)
                let name = Array(UnsafeBufferPointer(start: start, count: strnlen(UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self), length - 19)))
                if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
                at += length
            }
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        var listed: [Listed] = []
        listed.reserveCapacity(names.count)
        for name in names {
            let display = { [tree] in tree.displayPath(node) + "/" + Escaped.text(name) }
            var st = stat()
            guard BytePath.withCString(name, { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                let code = errno
                warn(code == ENOENT ? "\(display()) vanished during the scan; not archived"
                                    : "cannot stat \(display()): \(posixErrorText(code)); not archived")
                continue
            }
            if !options.excluded.isEmpty, options.excluded.contains(HardLinkKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))) { continue }
            guard let kind = Self.kind(of: st.st_mode) else {
                warn("\(display()) has an unknown file type; not archived")
                continue
            }
            var entry = Listed(name: name, st: st, kind: kind)
            if kind == .symlink {
                guard let target = readLink(dirfd: fd, name: name, size: Int(st.st_size)) else {
                    warn("cannot read symlink \(display()): \(posixErrorText(errno)); not archived")
                    continue
                }
                entry.target = target
            }
            // A directory's attributes are read from its own descriptor when it is listed.
            if kind != .directory { entry.xattrs = readXattrs(.entry(directory: fd, name: name), of: node, name: name) }
            listed.append(entry)
        }
        return listed
    }

    /// The entry's extended attributes; a failure is warned about and the
    /// entry archived without them.
    private mutating func readXattrs(_ target: ExtendedAttributes.Target, of dir: Int, name: [UInt8]?) -> [ExtendedAttribute] {
        guard options.xattrs else { return [] }
        do {
            return try ExtendedAttributes.read(target)
        } catch {
            let path = name.map { tree.displayPath(dir) + "/" + Escaped.text($0) } ?? tree.displayPath(dir)
            warn("cannot read the extended attributes of \(path): \(error); archived without them")
            return []
        }
    }

    private func readLink(dirfd: Int32, name: [UInt8], size: Int) -> [UInt8]? {
        var capacity = max(size, 255) + 1
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let n = BytePath.withCString(name) { cName in
                buffer.withUnsafeMutableBytes { readlinkat(dirfd, cName, $0.baseAddress!.assumingMemoryBound(to: CChar.self), capacity) }
            }
            if n < 0 { return nil }
            if n == 0 { errno = EINVAL; return nil }
            if n < capacity { return Array(buffer[0..<n]) }
            capacity *= 2
        }
    }

    static func kind(of mode: mode_t) -> InodeKind? {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regular
        case S_IFLNK: return .symlink
        case S_IFIFO: return .fifo
        case S_IFCHR: return .charDevice
        case S_IFBLK: return .blockDevice
        case S_IFSOCK: return .socket
        default: return nil
        }
    }
}
